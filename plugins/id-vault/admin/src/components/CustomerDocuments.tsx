import * as React from 'react';
import { Badge, Box, Flex, Loader, Typography } from '@strapi/design-system';
import { useIntl } from 'react-intl';
import { DATE_ONLY, formatBytes, typeLabel, type CustomerDocuments as Data } from '../documents';
import type { ScanPermissions } from '../scans';
import { t, useVaultApi } from '../utils';
import { DocumentScans } from './DocumentScans';
import { Meter } from './Meter';

const Completeness = ({ data }: { data: Data }) => {
  const { formatMessage } = useIntl();
  if (data.documentsComplete) return <Badge variant="success">{formatMessage(t('documents.complete', 'Documents complete'))}</Badge>;
  return (
    <Flex direction="column" alignItems="flex-start" gap={1}>
      <Typography variant="pi" fontWeight="bold">
        {formatMessage(t('documents.missing', 'Missing'))}
      </Typography>
      <Flex gap={1} wrap="wrap">
        {data.missingDocuments.map((type) => (
          <Badge key={type} variant="warning">
            {typeLabel(formatMessage, type)}
          </Badge>
        ))}
      </Flex>
    </Flex>
  );
};

const Quota = ({ quota }: { quota: Data['quota'] }) => {
  const { formatMessage, formatNumber } = useIntl();
  const used = formatBytes(formatNumber, quota.used);
  const limit = formatBytes(formatNumber, quota.limit);
  const percent = quota.limit ? (quota.used / quota.limit) * 100 : 0;
  return (
    <Flex direction="column" alignItems="stretch" gap={1}>
      <Typography variant="pi" textColor="neutral600">
        {formatMessage(t('documents.quota', 'Scans use {used} of {limit}'), { used, limit })}
      </Typography>
      <Meter
        value={percent}
        tone={percent >= 100 ? 'danger' : percent >= 80 ? 'warning' : 'primary'}
        label={formatMessage(t('documents.quota.label', 'Scan storage used'))}
      />
    </Flex>
  );
};

/** The Documents panel of a customer's edit view: what is missing, the quota, each document's scans. */
interface Props {
  documentId: string;
  /** When the customer was last saved: a save (e.g. of its kind) can change what is missing. */
  savedAt: string | undefined;
  permissions: ScanPermissions;
}

export const CustomerDocuments = ({ documentId, savedAt, permissions }: Props) => {
  const { formatMessage, formatDate } = useIntl();
  const { get, run } = useVaultApi();
  // undefined while loading, null when loading failed
  const [data, setData] = React.useState<Data | null>();

  const load = React.useCallback(async () => {
    const res = await run(get<{ data: Data }>(`/id-vault/customers/${documentId}/documents`));
    setData((prev) => res?.data ?? prev ?? null);
  }, [get, run, documentId]);

  React.useEffect(() => {
    load();
  }, [load, savedAt]);

  if (data === undefined) return <Loader small>{formatMessage(t('scans.loading', 'Loading'))}</Loader>;
  if (data === null) {
    return <Typography textColor="danger600">{formatMessage(t('documents.load-failed', 'The documents could not be loaded.'))}</Typography>;
  }

  const today = new Date().toISOString().slice(0, 10);
  return (
    <Flex direction="column" alignItems="stretch" gap={4} width="100%">
      <Completeness data={data} />
      <Quota quota={data.quota} />
      {data.documents.length === 0 && (
        <Typography variant="pi" textColor="neutral600">
          {formatMessage(t('documents.none', 'No identity documents yet. Create one under Identity documents and choose this customer.'))}
        </Typography>
      )}
      {data.documents.map((d) => {
        const label = typeLabel(formatMessage, d.type);
        const expired = !!d.expiresAt && d.expiresAt < today;
        return (
          <Box key={d.documentId} paddingTop={3} borderStyle="solid" borderWidth="1px 0 0 0" borderColor="neutral150">
            <Flex direction="column" alignItems="stretch" gap={2}>
              <Flex justifyContent="space-between" alignItems="baseline" gap={2} wrap="wrap">
                <Typography fontWeight="bold">{label}</Typography>
                {d.expiresAt && (
                  <Typography variant="pi" textColor={expired ? 'danger600' : 'neutral600'}>
                    {formatMessage(expired ? t('documents.expired', 'Expired {date}') : t('documents.expires', 'Expires {date}'), {
                      date: formatDate(d.expiresAt, DATE_ONLY),
                    })}
                  </Typography>
                )}
              </Flex>
              <DocumentScans
                documentId={d.documentId}
                label={label}
                scans={d.scans}
                scanCount={d.scanCount}
                permissions={permissions}
                onChanged={load}
              />
            </Flex>
          </Box>
        );
      })}
    </Flex>
  );
};
