import * as React from 'react';
import {
  attemptTokenRefresh,
  useAuth,
  useFetchClient,
  useNotification,
  useRBAC,
  type FetchClient,
  type FetchResponse,
} from '@strapi/strapi/admin';
import type { ScanMeta } from './documents';
import { action, errorMessage } from './utils';

const SCAN_PERMISSIONS = (['view', 'upload', 'download', 'delete'] as const).map((name) => ({
  action: action(`scan.${name}`),
  subject: null,
}));

export interface ScanPermissions {
  view: boolean;
  upload: boolean;
  download: boolean;
  delete: boolean;
  isLoading: boolean;
}

/** The scan actions the current admin holds (useRBAC names them by their last part: canView, …). */
export const useScanPermissions = (): ScanPermissions => {
  const { allowedActions, isLoading } = useRBAC(SCAN_PERMISSIONS);
  return {
    view: !!allowedActions.canView,
    upload: !!allowedActions.canUpload,
    download: !!allowedActions.canDownload,
    delete: !!allowedActions.canDelete,
    isLoading,
  };
};

/**
 * GETs a scan body as a Blob. The fetch client turns any failed blob request into a bare "Server Error",
 * so every status but 401 is let through and a refusal's JSON body read here; 401 still throws, which
 * is what makes the client refresh the token and retry.
 */
const getBlob = async (get: FetchClient['get'], url: string): Promise<FetchResponse<Blob>> => {
  const res = await get(url, { responseType: 'blob', validateStatus: (status) => status !== 401 });
  if ((res.status ?? 200) < 400) return res;
  const text = await res.data.text();
  let message = `Request failed with status ${res.status}`;
  try {
    message = JSON.parse(text)?.error?.message || message;
  } catch {
    // Not JSON: keep the status.
  }
  throw new Error(message);
};

export type BlobState = { url: string; type: string } | { error: string } | null;

/**
 * A scan rendition (thumbnail, preview) as an object URL: the routes need the Authorization header, which
 * an <img src> cannot send. The URL is revoked when the path changes or the component unmounts; null
 * while loading or when `path` is null.
 */
export const useScanBlob = (path: string | null): BlobState => {
  const { get } = useFetchClient();
  const [state, setState] = React.useState<BlobState>(null);

  React.useEffect(() => {
    setState(null);
    if (!path) return;
    let live = true;
    let url: string | null = null;
    getBlob(get, path).then(
      ({ data }) => {
        if (!live) return;
        url = URL.createObjectURL(data);
        setState({ url, type: data.type });
      },
      (e) => {
        if (live && e?.name !== 'AbortError') setState({ error: errorMessage(e) });
      },
    );
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [get, path]);

  return state;
};

/** The file name of a Content-Disposition header: the UTF-8 `filename*` when there is one. */
const fileName = (disposition: string | null | undefined): string | null => {
  const utf8 = disposition?.match(/filename\*=UTF-8''([^;]+)/i);
  if (utf8) {
    try {
      return decodeURIComponent(utf8[1]);
    } catch {
      // A malformed escape: fall back to the ASCII name.
    }
  }
  return disposition?.match(/filename="([^"]+)"/i)?.[1] ?? null;
};

/** Downloads a scan's cleaned original under the server's file name; a refusal is shown as a notification. */
export const useScanDownload = () => {
  const { get } = useFetchClient();
  const { toggleNotification } = useNotification();
  return React.useCallback(
    async (scan: ScanMeta) => {
      try {
        const { data, headers } = await getBlob(get, `/id-vault/scans/${scan.id}/download`);
        const url = URL.createObjectURL(data);
        const link = document.createElement('a');
        link.href = url;
        link.download = fileName(headers?.get('Content-Disposition')) ?? `scan-${scan.id}.${scan.kind}`;
        link.click();
        // The click only starts the download; some browsers still read the URL a moment later.
        setTimeout(() => URL.revokeObjectURL(url), 10000);
      } catch (e) {
        if ((e as Error)?.name !== 'AbortError') toggleNotification({ type: 'danger', message: errorMessage(e) });
      }
    },
    [get, toggleNotification],
  );
};

class UploadError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * POSTs one file as a `files` part with XMLHttpRequest, the only browser API that reports upload
 * progress (Strapi's Media Library does the same); `onProgress` gets the fraction sent (0–1).
 */
const send = (url: string, token: string | null, file: File, onProgress: (fraction: number) => void, signal: AbortSignal) =>
  new Promise<ScanMeta[]>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const abort = () => xhr.abort();
    signal.addEventListener('abort', abort);
    const done = () => signal.removeEventListener('abort', abort);
    xhr.open('POST', url);
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      done();
      let body: any = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // Not JSON: judged by the status alone.
      }
      if (xhr.status >= 200 && xhr.status < 300 && Array.isArray(body?.data)) resolve(body.data);
      else reject(new UploadError(body?.error?.message || `Upload failed with status ${xhr.status}`, xhr.status));
    };
    xhr.onerror = () => {
      done();
      reject(new UploadError('Network error', 0));
    };
    xhr.onabort = () => {
      done();
      reject(new DOMException('Upload aborted', 'AbortError'));
    };
    const form = new FormData();
    form.append('files', file);
    xhr.send(form);
  });

/** Where the admin API lives (what the fetch client prefixes); the global `strapi` is typed as the server's. */
const backendURL = () => (window as unknown as { strapi: { backendURL: string } }).strapi.backendURL;

/** Uploads one scan file to an identity document; on 401 the token is refreshed and the upload sent again. */
export const useScanUpload = () => {
  const token = useAuth('useScanUpload', (s) => s.token);
  return React.useCallback(
    async (documentId: string, file: File, onProgress: (fraction: number) => void, signal: AbortSignal) => {
      const url = `${backendURL()}/id-vault/identity-documents/${documentId}/scans`;
      try {
        return await send(url, token, file, onProgress, signal);
      } catch (e) {
        if (!(e instanceof UploadError) || e.status !== 401) throw e;
        return send(url, await attemptTokenRefresh(token), file, onProgress, signal);
      }
    },
    [token],
  );
};
