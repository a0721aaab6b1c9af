import * as React from 'react';
import { Badge, Button, Flex } from '@strapi/design-system';
import { SealCheck } from '@strapi/icons';
import { useIntl } from 'react-intl';
import { DATE_TIME, type ChainStatus as Status } from '../audit';
import { t, useVaultApi } from '../utils';

/** How often the status is asked for while a verification runs (it runs on the server, in the background). */
const POLL_MS = 1000;

const StatusBadge = ({ status }: { status: Status }) => {
  const { formatMessage, formatDate, formatNumber } = useIntl();
  switch (status.state) {
    case 'never':
      return <Badge>{formatMessage(t('audit.chain.never', 'Never verified'))}</Badge>;
    case 'running':
      return <Badge variant="secondary">{formatMessage(t('audit.chain.running', 'Verifying…'))}</Badge>;
    case 'failed':
      return (
        <Badge variant="danger" title={status.error}>
          {formatMessage(t('audit.chain.failed', 'Verification failed'))}
        </Badge>
      );
    case 'done': {
      if (!status.ok) {
        return (
          <Badge variant="danger" title={status.reason ?? undefined}>
            {formatMessage(t('audit.chain.broken', 'Chain broken at seq {seq}'), { seq: status.brokenAt ?? '?' })}
          </Badge>
        );
      }
      const pending = status.pending
        ? formatMessage(t('audit.chain.pending', '{count, plural, one {# event was} other {# events were}} still waiting to be chained'), {
            count: status.pending,
          })
        : undefined;
      return (
        <Badge variant="success" title={pending}>
          {formatMessage(t('audit.chain.verified', 'Verified up to {count} events at {time}'), {
            count: formatNumber(status.count),
            time: formatDate(status.finishedAt, DATE_TIME),
          })}
        </Badge>
      );
    }
  }
};

/** The hash chain's last verification, and "Verify now", which starts one and follows it until it is done. */
export const ChainStatus = () => {
  const { formatMessage } = useIntl();
  const { get, post, run } = useVaultApi();
  // undefined while loading, null when loading failed
  const [status, setStatus] = React.useState<Status | null>();

  const load = React.useCallback(async () => {
    const res = await run(get<{ data: Status }>('/id-vault/audit-log/status'));
    setStatus((prev) => res?.data ?? prev ?? null);
  }, [get, run]);

  React.useEffect(() => {
    load();
  }, [load]);

  // Each answer is a new object, so this schedules the next poll until the state is no longer `running`
  // (also for a verification someone else started). A failed poll keeps the old object and ends polling.
  React.useEffect(() => {
    if (status?.state !== 'running') return;
    const timer = setTimeout(load, POLL_MS);
    return () => clearTimeout(timer);
  }, [status, load]);

  const verify = async () => {
    const res = await run(post<{ data: Status }>('/id-vault/audit-log/verify'));
    if (res) setStatus(res.data);
  };

  const running = status?.state === 'running';
  return (
    <Flex gap={3} aria-live="polite">
      {status && <StatusBadge status={status} />}
      <Button variant="secondary" startIcon={<SealCheck />} loading={running} disabled={status === undefined} onClick={verify}>
        {formatMessage(t('audit.chain.verify', 'Verify now'))}
      </Button>
    </Flex>
  );
};
