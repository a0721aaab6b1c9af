import * as React from 'react';
import { Badge, Box, Flex, Table, Tbody, Td, Th, Thead, Tr, Typography } from '@strapi/design-system';
import { Layouts, Page } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { Meter } from '../components/Meter';
import { PERMISSIONS, t, useVaultApi } from '../utils';

interface KeysStatus {
  activeMasterKeyId: string;
  masterKeys: Array<{ masterKeyId: string; dataKeys: number; active: boolean; inRing: boolean; backups: number }>;
  pending: number;
  lastRotation: { at: string; outcome: string; rewrapped: number; failed: number; to: string | null } | null;
  inProgress: { startedAt: string; total: number; left: number } | null;
  /** The blind-index root (npm run keys:rotate-index). */
  indexRoot: {
    version: number;
    inProgress: { from: number; to: number; phase: 'reindex' | 'retire'; startedAt: string | null; done: number; total: number } | null;
    lastRotation: { at: string; outcome: string; from: number | null; to: number | null } | null;
  };
}

/** How often the page re-reads the status while a rotation runs (in another process: `npm run keys:rotate`). */
const POLL_MS = 3000;

/**
 * Settings → ID Vault → Keys (`keys.manage`): the master keys of ID_VAULT_MASTER_KEYS and any other key id
 * stored data keys name, with how many data keys each wraps; the last rotation; a rotation in progress with
 * how far it got. Rotations run from the command line; the page says how. No key material is ever shown.
 */
const KeysPage = () => {
  const { formatMessage, formatDate, formatNumber } = useIntl();
  const { get, run } = useVaultApi();
  const [status, setStatus] = React.useState<KeysStatus | null>();

  const load = React.useCallback(async () => setStatus((await run(get<{ data: KeysStatus }>('/id-vault/keys')))?.data ?? null), [get, run]);
  React.useEffect(() => {
    load();
  }, [load]);
  React.useEffect(() => {
    if (!status?.inProgress && !status?.indexRoot?.inProgress) return;
    const timer = setTimeout(load, POLL_MS);
    return () => clearTimeout(timer);
  }, [status, load]);

  if (status === undefined) return <Page.Loading />;
  if (status === null) return <Page.Error />;

  const when = (iso: string) => formatDate(new Date(iso), { dateStyle: 'medium', timeStyle: 'short' });
  const title = formatMessage(t('keys.title', 'Keys'));
  const progress = status.inProgress;
  const index = status.indexRoot;
  return (
    <Page.Main>
      <Page.Title>{title}</Page.Title>
      <Layouts.Header
        title={title}
        subtitle={formatMessage(
          t('keys.subtitle', 'Master keys wrap each record’s data key. Rotating re-wraps the data keys under the active master key; no field is re-encrypted.'),
        )}
      />
      <Layouts.Content>
        <Flex direction="column" alignItems="stretch" gap={6}>
          {progress && (
            <Box background="neutral0" hasRadius shadow="filterShadow" padding={6}>
              <Flex direction="column" alignItems="stretch" gap={3}>
                <Typography variant="delta">{formatMessage(t('keys.in-progress', 'Rotation in progress'))}</Typography>
                <Meter
                  value={progress.total ? (100 * (progress.total - progress.left)) / progress.total : 0}
                  label={formatMessage(t('keys.progress', '{done} of {total} data keys re-wrapped'), {
                    done: formatNumber(Math.max(0, progress.total - progress.left)),
                    total: formatNumber(progress.total),
                  })}
                />
                <Typography variant="pi" textColor="neutral600">
                  {formatMessage(
                    t('keys.in-progress.hint', 'Started {at}. If the command was stopped, run npm run keys:rotate again: it goes on where it stopped.'),
                    { at: when(progress.startedAt) },
                  )}
                </Typography>
              </Flex>
            </Box>
          )}
          <Table colCount={4} rowCount={status.masterKeys.length + 1}>
            <Thead>
              <Tr>
                <Th>
                  <Typography variant="sigma">{formatMessage(t('keys.column.id', 'Master key id'))}</Typography>
                </Th>
                <Th>
                  <Typography variant="sigma">{formatMessage(t('keys.column.state', 'State'))}</Typography>
                </Th>
                <Th>
                  <Typography variant="sigma">{formatMessage(t('keys.column.count', 'Data keys it wraps'))}</Typography>
                </Th>
                <Th>
                  <Typography variant="sigma">{formatMessage(t('keys.column.backups', 'Kept backups that need it'))}</Typography>
                </Th>
              </Tr>
            </Thead>
            <Tbody>
              {status.masterKeys.map((k) => (
                <Tr key={k.masterKeyId}>
                  <Td>
                    <Typography fontWeight={k.active ? 'bold' : undefined}>{k.masterKeyId}</Typography>
                  </Td>
                  <Td>
                    {k.active ? (
                      <Badge active>{formatMessage(t('keys.state.active', 'Active'))}</Badge>
                    ) : k.inRing ? (
                      <Badge>{formatMessage(t('keys.state.old', 'In the ring, not active'))}</Badge>
                    ) : (
                      <Badge textColor="danger600" backgroundColor="danger100">
                        {formatMessage(t('keys.state.missing', 'Missing from the ring'))}
                      </Badge>
                    )}
                  </Td>
                  <Td>
                    <Typography>{formatNumber(k.dataKeys)}</Typography>
                  </Td>
                  <Td>
                    <Typography>{formatNumber(k.backups)}</Typography>
                  </Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
          <Box background="neutral0" hasRadius shadow="filterShadow" padding={6}>
            <Flex direction="column" alignItems="stretch" gap={2}>
              <Typography variant="delta">{formatMessage(t('keys.last', 'Last rotation'))}</Typography>
              <Typography>
                {status.lastRotation
                  ? formatMessage(
                      status.lastRotation.outcome === 'success'
                        ? t('keys.last.ok', '{at}: {n} data keys re-wrapped under {to}.')
                        : t('keys.last.failed', '{at}: did not finish ({n} re-wrapped, {failed} could not be unwrapped). See the audit log (keys.rotate).'),
                      { at: when(status.lastRotation.at), n: formatNumber(status.lastRotation.rewrapped), failed: status.lastRotation.failed, to: status.lastRotation.to ?? '' },
                    )
                  : formatMessage(t('keys.last.never', 'No rotation yet.'))}
              </Typography>
              <Typography variant="pi" textColor="neutral600">
                {status.pending
                  ? formatMessage(
                      t('keys.how', '{n} data keys are still under an older master key. On the server, run npm run keys:rotate (it can run while the app serves). Remove an old key from ID_VAULT_MASTER_KEYS only once it wraps no data key and no kept backup needs it.'),
                      { n: formatNumber(status.pending) },
                    )
                  : formatMessage(t('keys.none-pending', 'Every data key is under the active master key.'))}
              </Typography>
            </Flex>
          </Box>
          <Box background="neutral0" hasRadius shadow="filterShadow" padding={6}>
            <Flex direction="column" alignItems="stretch" gap={3}>
              <Typography variant="delta">{formatMessage(t('keys.index.title', 'Blind-index root'))}</Typography>
              <Typography>{formatMessage(t('keys.index.version', 'Version {version} is in use for exact search.'), { version: index.version })}</Typography>
              {index.inProgress && (
                <>
                  <Meter
                    value={index.inProgress.total ? (100 * Math.min(index.inProgress.done, index.inProgress.total)) / index.inProgress.total : 0}
                    label={formatMessage(
                      index.inProgress.phase === 'retire'
                        ? t('keys.index.retiring', 'Version {to} is current; the rows and key of version {from} are being removed')
                        : t('keys.index.progress', 'Re-indexing under version {to}: {done} of {total} records'),
                      { from: index.inProgress.from, to: index.inProgress.to, done: formatNumber(index.inProgress.done), total: formatNumber(index.inProgress.total) },
                    )}
                  />
                  <Typography variant="pi" textColor="neutral600">
                    {formatMessage(
                      t('keys.index.in-progress.hint', 'Exact search matches under both versions meanwhile. If the command was stopped, run npm run keys:rotate-index again: it goes on from its checkpoint.'),
                    )}
                  </Typography>
                </>
              )}
              {!index.inProgress && (
                <Typography variant="pi" textColor="neutral600">
                  {index.lastRotation
                    ? formatMessage(
                        index.lastRotation.outcome === 'success'
                          ? t('keys.index.last.ok', 'Last index rotation {at}: version {from} replaced by {to}.')
                          : t('keys.index.last.failed', 'Last index rotation {at} did not finish. See the audit log (keys.rotate-index).'),
                        { at: when(index.lastRotation.at), from: index.lastRotation.from ?? '', to: index.lastRotation.to ?? '' },
                      )
                    : formatMessage(t('keys.index.never', 'No index rotation yet. On the server, npm run keys:rotate-index computes every blind index under a new root.'))}
                </Typography>
              )}
            </Flex>
          </Box>
        </Flex>
      </Layouts.Content>
    </Page.Main>
  );
};

const ProtectedKeysPage = () => (
  <Page.Protect permissions={PERMISSIONS.keys}>
    <KeysPage />
  </Page.Protect>
);

export default ProtectedKeysPage;
