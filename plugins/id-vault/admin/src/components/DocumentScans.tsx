import * as React from 'react';
import { Flex, Typography } from '@strapi/design-system';
import { useIntl } from 'react-intl';
import type { ScanMeta } from '../documents';
import type { ScanPermissions } from '../scans';
import { t } from '../utils';
import { ScanDropZone } from './ScanDropZone';
import { ScanPreview } from './ScanPreview';
import { ScanThumbnail } from './ScanThumbnail';

interface Props {
  documentId: string;
  /** The document's type label. */
  label: string;
  /** Undefined without scan.view. */
  scans?: ScanMeta[];
  /** How many scans there are, when known without scan.view. */
  scanCount?: number;
  permissions: ScanPermissions;
  /** Reloads the scans; resolves when done. */
  onChanged: () => Promise<unknown>;
}

/** One identity document's scans (thumbnails that open the preview) and, with scan.upload, its drop zone. */
export const DocumentScans = ({ documentId, label, scans, scanCount, permissions, onChanged }: Props) => {
  const { formatMessage } = useIntl();
  const [open, setOpen] = React.useState<ScanMeta | null>(null);
  const name = (i: number) => formatMessage(t('scans.name', '{document}, scan {n}'), { document: label, n: i + 1 });
  const shown = permissions.view && scans;

  return (
    <Flex direction="column" alignItems="stretch" gap={2}>
      {shown && scans.length > 0 && (
        <Flex gap={2} wrap="wrap">
          {scans.map((scan, i) => (
            <ScanThumbnail key={scan.id} scan={scan} label={name(i)} onOpen={() => setOpen(scan)} />
          ))}
        </Flex>
      )}
      {(shown ? scans.length === 0 : scanCount !== undefined) && (
        <Typography variant="pi" textColor="neutral600">
          {formatMessage(t('scans.count', '{count, plural, =0 {No scans yet} one {# scan} other {# scans}}'), {
            count: shown ? 0 : scanCount,
          })}
        </Typography>
      )}
      {permissions.upload && <ScanDropZone documentId={documentId} label={label} onUploaded={onChanged} keepDone={!permissions.view} />}
      {open && (
        <ScanPreview
          scan={open}
          title={name(Math.max(0, scans?.findIndex((s) => s.id === open.id) ?? 0))}
          permissions={permissions}
          onClose={() => setOpen(null)}
          onDeleted={async () => {
            setOpen(null);
            await onChanged();
          }}
        />
      )}
    </Flex>
  );
};
