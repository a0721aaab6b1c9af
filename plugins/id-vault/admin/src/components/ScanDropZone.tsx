import * as React from 'react';
import { Button, Flex, IconButton, Typography } from '@strapi/design-system';
import { Check, CloudUpload, Cross } from '@strapi/icons';
import { useIntl } from 'react-intl';
import { styled } from 'styled-components';
import { useScanUpload } from '../scans';
import { errorMessage, t } from '../utils';
import { Meter } from './Meter';

/** A hint for the file picker only: the server tells the type from the bytes. */
const ACCEPT = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'application/pdf',
  '.doc',
  '.docx',
  'application/msword',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
].join(',');

const Zone = styled.div<{ $over: boolean }>`
  padding: ${({ theme }) => theme.spaces[3]};
  border: 1px dashed ${({ theme, $over }) => ($over ? theme.colors.primary600 : theme.colors.neutral300)};
  border-radius: ${({ theme }) => theme.borderRadius};
  background: ${({ theme, $over }) => ($over ? theme.colors.primary100 : theme.colors.neutral100)};
`;

interface Upload {
  key: string;
  name: string;
  progress: number;
  done?: boolean;
  error?: string;
}

interface Props {
  documentId: string;
  /** The document's type label, for the input's accessible name. */
  label: string;
  /** Called after a batch with at least one upload accepted; resolves when the list is refreshed. */
  onUploaded: () => Promise<unknown>;
  /** Keep the rows of accepted uploads (when the list cannot show their scans: no scan.view). */
  keepDone: boolean;
}

/**
 * Drag and drop, or choose, one or more scan files for an identity document. Files go up one at a time
 * (each its own request, so each gets its progress and, on refusal, the server's message).
 */
export const ScanDropZone = ({ documentId, label, onUploaded, keepDone }: Props) => {
  const { formatMessage } = useIntl();
  const upload = useScanUpload();
  const input = React.useRef<HTMLInputElement>(null);
  const [over, setOver] = React.useState(false);
  const [uploads, setUploads] = React.useState<Upload[]>([]);
  const busy = uploads.some((u) => !u.done && !u.error);

  // Uploads under way stop when the panel goes away.
  const controller = React.useRef(new AbortController());
  React.useEffect(() => {
    const c = controller.current;
    return () => c.abort();
  }, []);

  const start = async (files: File[]) => {
    if (!files.length || busy) return;
    const stamp = Date.now();
    const batch = files.map((file, i) => ({ key: `${stamp}-${i}`, name: file.name, progress: 0 }));
    setUploads(batch);
    const patch = (key: string, change: Partial<Upload>) =>
      setUploads((prev) => prev.map((u) => (u.key === key ? { ...u, ...change } : u)));
    let accepted = 0;
    for (const [i, file] of files.entries()) {
      const { key } = batch[i];
      try {
        await upload(documentId, file, (progress) => patch(key, { progress }), controller.current.signal);
        patch(key, { progress: 1, done: true });
        accepted++;
      } catch (e) {
        if ((e as Error)?.name === 'AbortError') return;
        patch(key, { error: errorMessage(e) });
      }
    }
    if (!accepted) return;
    await onUploaded();
    if (!keepDone) setUploads((prev) => prev.filter((u) => !u.done));
  };

  const onDrop = (e: React.DragEvent) => {
    e.preventDefault();
    setOver(false);
    start(Array.from(e.dataTransfer.files));
  };

  return (
    <Flex direction="column" alignItems="stretch" gap={2}>
      <Zone
        $over={over}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <Flex direction="column" gap={2}>
          <CloudUpload width="2rem" height="2rem" fill="neutral500" aria-hidden />
          <Typography variant="pi" textColor="neutral600" textAlign="center">
            {formatMessage(t('scans.drop', 'Drop scans here (JPEG, PNG, WebP, PDF, Word)'))}
          </Typography>
          <Button size="S" variant="secondary" disabled={busy} onClick={() => input.current?.click()}>
            {formatMessage(t('scans.choose', 'Choose files'))}
          </Button>
          <input
            ref={input}
            type="file"
            multiple
            hidden
            accept={ACCEPT}
            aria-label={formatMessage(t('scans.input', 'Scans of {document}'), { document: label })}
            onChange={(e) => {
              start(Array.from(e.target.files ?? []));
              e.target.value = ''; // the same file may be chosen again
            }}
          />
        </Flex>
      </Zone>
      {uploads.map((u) => (
        <Flex key={u.key} direction="column" alignItems="stretch" gap={1}>
          <Flex justifyContent="space-between" gap={2}>
            <Typography variant="pi" ellipsis title={u.name}>
              {u.name}
            </Typography>
            {u.done && <Check fill="success600" aria-label={formatMessage(t('scans.uploaded', 'Uploaded'))} />}
            {u.error && (
              <IconButton
                size="XS"
                variant="ghost"
                label={formatMessage(t('scans.dismiss', 'Dismiss'))}
                onClick={() => setUploads((prev) => prev.filter((x) => x.key !== u.key))}
              >
                <Cross />
              </IconButton>
            )}
          </Flex>
          {u.error ? (
            <Typography variant="pi" textColor="danger600" role="alert">
              {u.error}
            </Typography>
          ) : (
            !u.done && <Meter value={u.progress * 100} label={u.name} />
          )}
        </Flex>
      ))}
    </Flex>
  );
};
