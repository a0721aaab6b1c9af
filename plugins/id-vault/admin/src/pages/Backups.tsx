import * as React from 'react';
import { Badge, Box, Button, Flex, Table, Tbody, Td, Th, Thead, Tr, Typography } from '@strapi/design-system';
import { Download } from '@strapi/icons';
import { Layouts, Page, useNotification } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { useDownload } from '../download';
import { PERMISSIONS, t, useVaultApi } from '../utils';
import type { RunningBackup } from '../../../shared/contracts';

interface Run {
  at: string;
  file: string | null;
  bytes: number | null;
  error: string | null;
  trigger: string | null;
}
interface BackupsStatus {
  /** `local`: kept in ID_VAULT_BACKUP_DIR; `s3`: in the bucket too (null when backups do not go to S3, or it could not be listed). */
  files: Array<{ file: string; bytes: number; createdAt: string; masterKeyId: string | null; needsMasterKeys: string[] | null; local: boolean; s3: boolean | null }>;
  /** ID_VAULT_BACKUP_S3 is on; `s3Error`: the bucket could not be listed (the error's kind). */
  s3: boolean;
  s3Error: string | null;
  /** Backups being written now (this process's with its progress; other processes' on this machine without). */
  running: RunningBackup[];
  lastSuccess: Run | null;
  lastFailure: Run | null;
  keep: number;
  cron: string;
  activeMasterKeyId: string;
}

/**
 * Settings → ID Vault → Backups (`backup.manage`): the kept backups (newest first) with size and the master
 * key each needs, the last success and failure, "Back up now", and downloads (the encrypted file as it is;
 * recorded as backup.downloaded). "Back up now" starts a backup on the server and the page follows it (polling
 * every 2 s while one is being written), then says how it ended. With ID_VAULT_BACKUP_S3, whether each file is
 * in the S3 bucket too, and the files only there. Restores run from the command line; the page says how.
 */
const BackupsPage = () => {
  const { formatMessage, formatDate, formatNumber } = useIntl();
  const { get, post, run } = useVaultApi();
  const { toggleNotification } = useNotification();
  const { busy: downloading, download } = useDownload();
  const [status, setStatus] = React.useState<BackupsStatus | null>();
  const [starting, setStarting] = React.useState(false);
  /** The backup this page started, until a status read after it shows it ended (the page then says how). */
  const started = React.useRef<string | null>(null);

  const load = React.useCallback(async () => {
    const next = (await run(get<{ data: BackupsStatus }>('/id-vault/backups')))?.data ?? null;
    setStatus(next);
    const file = started.current;
    if (!next || !file || next.running.some((b) => b.file === file)) return;
    started.current = null;
    if (next.lastSuccess?.file === file) toggleNotification({ type: 'success', message: formatMessage(t('backups.created', 'Backup written.')) });
    else if (next.lastFailure?.file === file) toggleNotification({ type: 'danger', message: formatMessage(t('backups.failed', 'The backup failed ({error}).'), { error: next.lastFailure.error ?? '' }) });
  }, [get, run, toggleNotification, formatMessage]);
  React.useEffect(() => {
    load();
  }, [load]);
  const writing = (status?.running.length ?? 0) > 0;
  React.useEffect(() => {
    if (!writing) return;
    const timer = setTimeout(load, 2000);
    return () => clearTimeout(timer);
  }, [status, writing, load]);

  const backUpNow = async () => {
    setStarting(true);
    const begun = await run(post<{ data: RunningBackup }>('/id-vault/backups', {}));
    started.current = begun?.data.file ?? null;
    setStarting(false);
    load();
  };

  if (status === undefined) return <Page.Loading />;
  if (status === null) return <Page.Error />;

  const when = (iso: string) => formatDate(new Date(iso), { dateStyle: 'medium', timeStyle: 'short' });
  const size = (bytes: number) => `${formatNumber(bytes / (1024 * 1024), { maximumFractionDigits: 1 })} MB`;
  const title = formatMessage(t('backups.title', 'Backups'));
  const columns = status.s3 ? 6 : 5;
  return (
    <Page.Main>
      <Page.Title>{title}</Page.Title>
      <Layouts.Header
        title={title}
        subtitle={formatMessage(
          t('backups.subtitle', 'Encrypted backups of the whole database and the scan store. Scheduled: {cron}; the newest {keep} are kept.'),
          { cron: status.cron, keep: status.keep },
        )}
        primaryAction={
          <Button onClick={backUpNow} loading={starting || writing} disabled={starting || writing}>
            {formatMessage(t('backups.now', 'Back up now'))}
          </Button>
        }
      />
      <Layouts.Content>
        <Flex direction="column" alignItems="stretch" gap={6}>
          <Box background="neutral0" hasRadius shadow="filterShadow" padding={6}>
            <Flex direction="column" alignItems="stretch" gap={2}>
              <Typography>
                {status.lastSuccess
                  ? formatMessage(t('backups.last-success', 'Last success: {at} ({size}).'), { at: when(status.lastSuccess.at), size: size(status.lastSuccess.bytes ?? 0) })
                  : formatMessage(t('backups.last-success.never', 'No backup has been written yet.'))}
              </Typography>
              {status.running.map((b) => (
                <Typography key={b.file} fontWeight="bold">
                  {b.total
                    ? formatMessage(t('backups.running.progress', 'A backup is being written (started {at}): {percent} done.'), {
                        at: when(b.startedAt),
                        percent: formatNumber((b.done ?? 0) / b.total, { style: 'percent' }),
                      })
                    : formatMessage(t('backups.running', 'A backup is being written (started {at}).'), { at: when(b.startedAt) })}
                </Typography>
              ))}
              {status.lastFailure && (
                <Typography textColor="danger600">
                  {formatMessage(t('backups.last-failure', 'Last failure: {at} ({error}). See the audit log (backup.failed) and the server log.'), {
                    at: when(status.lastFailure.at),
                    error: status.lastFailure.error ?? '',
                  })}
                </Typography>
              )}
              {status.s3 && (
                <Typography textColor={status.s3Error ? 'danger600' : undefined}>
                  {status.s3Error
                    ? formatMessage(t('backups.s3.unlisted', 'Backups also go to S3, but the bucket could not be listed ({error}).'), { error: status.s3Error })
                    : formatMessage(t('backups.s3.on', 'Each backup is also put in the S3 bucket, and pruned there the same way. To restore one from S3: npm run backup:restore -- s3:<file>.'))}
                </Typography>
              )}
              <Typography variant="pi" textColor="neutral600">
                {formatMessage(
                  t('backups.restore-how', 'To restore, on the server: npm run backup:restore -- <file> (into an empty database; --force replaces a database that is not empty). Customers erased since a backup are erased again when it is restored.'),
                )}
              </Typography>
            </Flex>
          </Box>
          <Table colCount={columns} rowCount={status.files.length + 1}>
            <Thead>
              <Tr>
                <Th>
                  <Typography variant="sigma">{formatMessage(t('backups.column.created', 'Taken'))}</Typography>
                </Th>
                <Th>
                  <Typography variant="sigma">{formatMessage(t('backups.column.size', 'Size'))}</Typography>
                </Th>
                <Th>
                  <Typography variant="sigma">{formatMessage(t('backups.column.key', 'Needs master keys'))}</Typography>
                </Th>
                <Th>
                  <Typography variant="sigma">{formatMessage(t('backups.column.result', 'Result'))}</Typography>
                </Th>
                {status.s3 && (
                  <Th>
                    <Typography variant="sigma">{formatMessage(t('backups.column.s3', 'In S3'))}</Typography>
                  </Th>
                )}
                <Th>
                  <Typography variant="sigma">{formatMessage(t('backups.column.download', 'Download'))}</Typography>
                </Th>
              </Tr>
            </Thead>
            <Tbody>
              {status.files.length === 0 && (
                <Tr>
                  <Td colSpan={columns}>
                    <Typography textColor="neutral600">{formatMessage(t('backups.empty', 'No backup is kept.'))}</Typography>
                  </Td>
                </Tr>
              )}
              {status.files.map((f) => (
                <Tr key={f.file}>
                  <Td>
                    <Typography>{when(f.createdAt)}</Typography>
                  </Td>
                  <Td>
                    <Typography>{size(f.bytes)}</Typography>
                  </Td>
                  <Td>
                    <Typography>{(f.needsMasterKeys ?? (f.masterKeyId ? [f.masterKeyId] : ['—'])).join(', ')}</Typography>
                  </Td>
                  <Td>
                    {!f.local ? (
                      <Badge>{formatMessage(t('backups.result.s3-only', 'Only in S3'))}</Badge>
                    ) : f.masterKeyId ? (
                      <Badge active>{formatMessage(t('backups.result.ok', 'Complete'))}</Badge>
                    ) : (
                      <Badge textColor="danger600" backgroundColor="danger100">
                        {formatMessage(t('backups.result.unreadable', 'Unreadable header'))}
                      </Badge>
                    )}
                  </Td>
                  {status.s3 && (
                    <Td>
                      <Typography>
                        {f.s3 === null
                          ? '—'
                          : f.s3
                            ? formatMessage(t('backups.s3.yes', 'Yes'))
                            : formatMessage(t('backups.s3.no', 'No'))}
                      </Typography>
                    </Td>
                  )}
                  <Td>
                    <Button
                      variant="tertiary"
                      startIcon={<Download />}
                      disabled={downloading || !f.local}
                      onClick={() => download(`/id-vault/backups/${encodeURIComponent(f.file)}/download`, f.file)}
                    >
                      {formatMessage(t('backups.download', 'Download'))}
                    </Button>
                  </Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        </Flex>
      </Layouts.Content>
    </Page.Main>
  );
};

const ProtectedBackupsPage = () => (
  <Page.Protect permissions={PERMISSIONS.backups}>
    <BackupsPage />
  </Page.Protect>
);

export default ProtectedBackupsPage;
