import * as React from 'react';
import { useFetchClient, useNotification } from '@strapi/strapi/admin';
import { errorMessage } from './utils';

const fileName = (disposition: string | null | undefined, fallback: string): string => disposition?.match(/filename="([^"]+)"/i)?.[1] ?? fallback;

/**
 * GETs a download as a Blob with the admin's token. The fetch client turns a failed blob request into a
 * bare "Server Error", so every status but 401 (the token refresh) is let through and a refusal's JSON read here.
 */
const fetchBlob = async (get: ReturnType<typeof useFetchClient>['get'], url: string) => {
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

/** Downloads a file the server streams (an export): saved under the server's file name; a refusal is a toast with its message. */
export const useDownload = () => {
  const { get } = useFetchClient();
  const { toggleNotification } = useNotification();
  const [busy, setBusy] = React.useState(false);

  const download = async (url: string, fallbackName: string) => {
    setBusy(true);
    try {
      const { data, headers } = await fetchBlob(get, url);
      const href = URL.createObjectURL(data);
      const link = document.createElement('a');
      link.href = href;
      link.download = fileName(headers?.get('Content-Disposition'), fallbackName);
      link.click();
      // The click only starts the download; some browsers still read the URL a moment later.
      setTimeout(() => URL.revokeObjectURL(href), 10000);
    } catch (e) {
      if ((e as Error)?.name !== 'AbortError') toggleNotification({ type: 'danger', message: errorMessage(e) });
    } finally {
      setBusy(false);
    }
  };
  return { busy, download };
};
