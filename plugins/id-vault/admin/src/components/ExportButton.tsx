import * as React from 'react';
import { Button, MenuItem, SimpleMenu } from '@strapi/design-system';
import { Download } from '@strapi/icons';
import { useFetchClient, useRBAC } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { useLocation } from 'react-router-dom';
import { useDownload } from '../download';
import { action, t, UIDS } from '../utils';

const EXPORT_PERMISSIONS = [
  { action: action('export.masked'), subject: null },
  { action: action('export.plain'), subject: null },
];

/** The model of the list view in the URL (`…/content-manager/collection-types/<uid>`). */
const modelOf = (pathname: string): string | null => {
  const found = /\/collection-types\/([^/?#]+)/.exec(pathname);
  try {
    return found ? decodeURIComponent(found[1]) : null;
  } catch {
    return null;
  }
};

/** An export recipient as GET /id-vault/export-recipients lists it (what the menu needs of it). */
interface Recipient {
  documentId: string;
  name: string;
  fingerprint: string;
  valid: boolean;
}

/** The list view's query as the export route takes it: filters, sort and search, not the page; encrypted to `recipient` if given. */
const exportQuery = (search: string, recipient?: string): string => {
  const kept = new URLSearchParams();
  for (const [key, value] of new URLSearchParams(search)) {
    if (key === 'sort' || key === '_q' || key.startsWith('filters[')) kept.append(key, value);
  }
  kept.set('format', 'csv');
  if (recipient) kept.set('recipient', recipient);
  return kept.toString();
};

/**
 * The Export button of the customers list view (injected into the Content Manager's `listView.actions`; it
 * gets no props). Shown only on `plugin::id-vault.customer` and to admins holding an export right; exports
 * the rows the list shows (its filters, sort and search, every page) as the server decides: masked or plain.
 * With export recipients it is a menu: a plain file, or the file encrypted to one of them — and only the
 * encrypted choices for an admin who exports plain while the server sends plain exports encrypted only.
 */
export const ExportButton = () => {
  const { pathname, search } = useLocation();
  const { allowedActions, isLoading } = useRBAC(EXPORT_PERMISSIONS);
  const { get } = useFetchClient();
  const { formatMessage } = useIntl();
  const { busy, download: save } = useDownload();
  const [recipients, setRecipients] = React.useState<Recipient[]>([]);
  const [plainOnlyEncrypted, setPlainOnlyEncrypted] = React.useState(true);
  const shown = modelOf(pathname) === UIDS.customer && !isLoading && !!(allowedActions.canMasked || allowedActions.canPlain);

  React.useEffect(() => {
    if (!shown) return;
    get<{ data: Recipient[]; meta: { plainOnlyEncrypted: boolean } }>('/id-vault/export-recipients')
      .then(({ data }) => {
        setRecipients(data.data.filter((r) => r.valid));
        setPlainOnlyEncrypted(data.meta.plainOnlyEncrypted);
      })
      // Without the list the button still exports as the server decides (and says why when it refuses).
      .catch(() => setRecipients([]));
  }, [get, shown]);

  const download = (recipient?: string) => save(`/id-vault/customers/export?${exportQuery(search, recipient)}`, 'customers.csv');

  if (!shown) return null;
  const label = formatMessage(t('export.button', 'Export'));
  // The plain export right, unless narrowed by Field access; the server decides in the end.
  const plainFileOffered = !(allowedActions.canPlain && plainOnlyEncrypted);
  if (!recipients.length) {
    return (
      <Button variant="secondary" startIcon={<Download />} onClick={() => download()} loading={busy}>
        {label}
      </Button>
    );
  }
  return (
    <SimpleMenu label={label} variant="secondary" startIcon={<Download />} disabled={busy}>
      {plainFileOffered && <MenuItem onSelect={() => download()}>{formatMessage(t('export.plain-file', 'CSV file'))}</MenuItem>}
      {recipients.map((r) => (
        <MenuItem key={r.documentId} onSelect={() => download(r.documentId)}>
          {formatMessage(t('export.encrypted-to', 'Encrypted to {name}'), { name: r.name })}
        </MenuItem>
      ))}
    </SimpleMenu>
  );
};
