import * as React from 'react';
import { Button, MenuItem, SimpleMenu } from '@strapi/design-system';
import { Download } from '@strapi/icons';
import { useFetchClient, useNotification, useRBAC } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { useLocation } from 'react-router-dom';
import { action, errorMessage, t, UIDS } from '../utils';

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

const fileName = (disposition: string | null | undefined): string => disposition?.match(/filename="([^"]+)"/i)?.[1] ?? 'customers.csv';

/**
 * GETs the export as a Blob with the admin's token. The fetch client turns a failed blob request into a
 * bare "Server Error", so every status but 401 (the token refresh) is let through and a refusal's JSON read here.
 */
const fetchExport = async (get: ReturnType<typeof useFetchClient>['get'], url: string) => {
  const res = await get<Blob>(url, { responseType: 'blob', validateStatus: (status) => status !== 401 });
  if ((res.status ?? 200) < 400) return res;
  let message = `Request failed with status ${res.status}`;
  try {
    message = JSON.parse(await res.data.text())?.error?.message || message;
  } catch {
    // Not JSON: keep the status.
  }
  throw new Error(message);
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
  const { toggleNotification } = useNotification();
  const { formatMessage } = useIntl();
  const [busy, setBusy] = React.useState(false);
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

  const download = async (recipient?: string) => {
    setBusy(true);
    try {
      const { data, headers } = await fetchExport(get, `/id-vault/customers/export?${exportQuery(search, recipient)}`);
      const url = URL.createObjectURL(data);
      const link = document.createElement('a');
      link.href = url;
      link.download = fileName(headers?.get('Content-Disposition'));
      link.click();
      // The click only starts the download; some browsers still read the URL a moment later.
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      if ((e as Error)?.name !== 'AbortError') toggleNotification({ type: 'danger', message: errorMessage(e) });
    } finally {
      setBusy(false);
    }
  };

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
