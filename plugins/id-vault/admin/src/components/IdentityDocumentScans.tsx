import * as React from 'react';
import { Loader, Typography } from '@strapi/design-system';
import { useIntl } from 'react-intl';
import { typeLabel, type ScanMeta } from '../documents';
import type { ScanPermissions } from '../scans';
import { t, useVaultApi } from '../utils';
import { DocumentScans } from './DocumentScans';

interface Props {
  documentId: string;
  /** The document's type as saved (the label names the scans). */
  type: string | undefined;
  permissions: ScanPermissions;
}

/** The scans of one identity document, in its own edit view. */
export const IdentityDocumentScans = ({ documentId, type, permissions }: Props) => {
  const { formatMessage } = useIntl();
  const { get, run } = useVaultApi();
  // undefined while loading (or without scan.view: the list route needs it), null when loading failed
  const [scans, setScans] = React.useState<ScanMeta[] | null>();

  const load = React.useCallback(async () => {
    if (!permissions.view) return;
    const res = await run(get<{ data: ScanMeta[] }>(`/id-vault/identity-documents/${documentId}/scans`));
    setScans((prev) => res?.data ?? prev ?? null);
  }, [get, run, documentId, permissions.view]);

  React.useEffect(() => {
    load();
  }, [load]);

  if (permissions.view && scans === undefined) return <Loader small>{formatMessage(t('scans.loading', 'Loading'))}</Loader>;
  if (scans === null)
    return <Typography textColor="danger600">{formatMessage(t('scans.load-failed', 'The scans could not be loaded.'))}</Typography>;
  return (
    <DocumentScans
      documentId={documentId}
      label={type ? typeLabel(formatMessage, type) : formatMessage(t('documents.document', 'Identity document'))}
      scans={scans}
      permissions={permissions}
      onChanged={load}
    />
  );
};
