import * as React from 'react';
import { Button } from '@strapi/design-system';
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

/** The list view's query as the export route takes it: filters, sort and search, not the page. */
const exportQuery = (search: string): string => {
  const kept = new URLSearchParams();
  for (const [key, value] of new URLSearchParams(search)) {
    if (key === 'sort' || key === '_q' || key.startsWith('filters[')) kept.append(key, value);
  }
  kept.set('format', 'csv');
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
 */
export const ExportButton = () => {
  const { pathname, search } = useLocation();
  const { allowedActions, isLoading } = useRBAC(EXPORT_PERMISSIONS);
  const { get } = useFetchClient();
  const { toggleNotification } = useNotification();
  const { formatMessage } = useIntl();
  const [busy, setBusy] = React.useState(false);

  const download = async () => {
    setBusy(true);
    try {
      const { data, headers } = await fetchExport(get, `/id-vault/customers/export?${exportQuery(search)}`);
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

  if (modelOf(pathname) !== UIDS.customer || isLoading || !(allowedActions.canMasked || allowedActions.canPlain)) return null;
  return (
    <Button variant="secondary" startIcon={<Download />} onClick={download} loading={busy}>
      {formatMessage(t('export.button', 'Export'))}
    </Button>
  );
};
