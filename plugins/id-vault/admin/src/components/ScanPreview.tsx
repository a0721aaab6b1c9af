import * as React from 'react';
import { Badge, Box, Button, Dialog, Flex, LinkButton, Loader, Modal, Typography } from '@strapi/design-system';
import { Download, ExternalLink, Trash } from '@strapi/icons';
import { ConfirmDialog } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { formatBytes, hasPreview, isImage, type ScanMeta } from '../documents';
import { useScanBlob, useScanDownload, type ScanPermissions } from '../scans';
import { t, useVaultApi } from '../utils';

interface Props {
  scan: ScanMeta;
  title: string;
  permissions: ScanPermissions;
  onClose: () => void;
  onDeleted: () => void;
}

/** What the preview shows: the watermarked image, a link to the watermarked PDF, or why there is none. */
const PreviewBody = ({ scan, title }: Pick<Props, 'scan' | 'title'>) => {
  const { formatMessage } = useIntl();
  const preview = useScanBlob(hasPreview(scan.kind) ? `/id-vault/scans/${scan.id}/preview` : null);

  if (!hasPreview(scan.kind)) {
    return <Typography textColor="neutral600">{formatMessage(t('scans.no-preview', 'Word documents have no preview.'))}</Typography>;
  }
  if (preview === null) return <Loader>{formatMessage(t('scans.loading', 'Loading'))}</Loader>;
  if ('error' in preview) return <Typography textColor="danger600">{preview.error}</Typography>;
  if (isImage(scan.kind)) {
    return <img src={preview.url} alt={title} style={{ display: 'block', maxWidth: '100%', maxHeight: '65vh', margin: '0 auto' }} />;
  }
  // The admin's Content-Security-Policy allows no blob: frames or objects, so a PDF opens in its own tab.
  return (
    <Flex direction="column" gap={3}>
      <Typography textColor="neutral600">{formatMessage(t('scans.pdf-hint', 'The watermarked PDF opens in a new tab.'))}</Typography>
      <LinkButton href={preview.url} target="_blank" rel="noopener" startIcon={<ExternalLink />} variant="secondary">
        {formatMessage(t('scans.open-preview', 'Open preview'))}
      </LinkButton>
    </Flex>
  );
};

/** A scan's preview dialog, with Download and Delete for those who hold scan.download / scan.delete. */
export const ScanPreview = ({ scan, title, permissions, onClose, onDeleted }: Props) => {
  const { formatMessage, formatDate, formatNumber } = useIntl();
  const { del, run } = useVaultApi();
  const download = useScanDownload();
  const [downloading, setDownloading] = React.useState(false);

  const remove = async () => {
    if (await run(del(`/id-vault/scans/${scan.id}`), t('scans.deleted', 'Scan deleted'))) onDeleted();
  };

  const details = [
    scan.kind.toUpperCase(),
    formatBytes(formatNumber, scan.size),
    scan.width && scan.height ? `${scan.width} × ${scan.height}` : null,
    formatDate(scan.uploadedAt, { dateStyle: 'medium', timeStyle: 'short' }),
  ].filter(Boolean);

  return (
    <Modal.Root open onOpenChange={(open) => !open && onClose()}>
      <Modal.Content>
        <Modal.Header closeLabel={formatMessage(t('scans.close', 'Close'))}>
          <Modal.Title>{title}</Modal.Title>
        </Modal.Header>
        <Modal.Body>
          <Flex direction="column" alignItems="stretch" gap={4}>
            <Flex gap={2} wrap="wrap">
              <Typography variant="pi" textColor="neutral600">
                {details.join(' · ')}
              </Typography>
              {!scan.cleaned && (
                <Badge
                  variant="warning"
                  title={formatMessage(t('scans.not-cleaned.hint', 'Legacy Word file: its metadata could not be removed.'))}
                >
                  {formatMessage(t('scans.not-cleaned', 'Not cleaned'))}
                </Badge>
              )}
            </Flex>
            <PreviewBody scan={scan} title={title} />
          </Flex>
        </Modal.Body>
        {(permissions.delete || permissions.download) && (
          <Modal.Footer>
            {/* Delete at the left, Download at the right, either alone */}
            <Box>
              {permissions.delete && (
                <Dialog.Root>
                  <Dialog.Trigger>
                    <Button variant="danger-light" startIcon={<Trash />}>
                      {formatMessage(t('scans.delete', 'Delete'))}
                    </Button>
                  </Dialog.Trigger>
                  <ConfirmDialog onConfirm={remove}>
                    {formatMessage(t('scans.delete.confirm', 'Delete this scan? This cannot be undone.'))}
                  </ConfirmDialog>
                </Dialog.Root>
              )}
            </Box>
            {permissions.download && (
              <Button
                startIcon={<Download />}
                loading={downloading}
                onClick={async () => {
                  setDownloading(true);
                  await download(scan);
                  setDownloading(false);
                }}
              >
                {formatMessage(t('scans.download', 'Download original'))}
              </Button>
            )}
          </Modal.Footer>
        )}
      </Modal.Content>
    </Modal.Root>
  );
};
