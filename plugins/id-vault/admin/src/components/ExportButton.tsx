import { Button } from '@strapi/design-system';
import { Download } from '@strapi/icons';
import { useRBAC } from '@strapi/strapi/admin';
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

/** The list view's query as the export route takes it: filters, sort and search, not the page. */
const exportQuery = (search: string): string => {
  const kept = new URLSearchParams();
  for (const [key, value] of new URLSearchParams(search)) {
    if (key === 'sort' || key === '_q' || key.startsWith('filters[')) kept.append(key, value);
  }
  kept.set('format', 'csv');
  return kept.toString();
};

/**
 * The Export button of the customers list view (injected into the Content Manager's `listView.actions`; it
 * gets no props). Shown only on `plugin::id-vault.customer` and to admins holding an export right; exports
 * the rows the list shows (its filters, sort and search, every page) as the server decides: masked or plain.
 */
export const ExportButton = () => {
  const { pathname, search } = useLocation();
  const { allowedActions, isLoading } = useRBAC(EXPORT_PERMISSIONS);
  const { formatMessage } = useIntl();
  const { busy, download } = useDownload();

  if (modelOf(pathname) !== UIDS.customer || isLoading || !(allowedActions.canMasked || allowedActions.canPlain)) return null;
  return (
    <Button variant="secondary" startIcon={<Download />} onClick={() => download(`/id-vault/customers/export?${exportQuery(search)}`, 'customers.csv')} loading={busy}>
      {formatMessage(t('export.button', 'Export'))}
    </Button>
  );
};
