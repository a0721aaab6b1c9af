import * as React from 'react';
import { Badge, Flex, Link, Typography } from '@strapi/design-system';
import { useFetchClient, Widget } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { Link as RouterLink } from 'react-router-dom';
import { actorName, auditLogPath, DATE_TIME } from '../audit';
import { countLabel, kindLabel, type OpenAnomalies } from '../anomalies';
import { t } from '../utils';

/** Alerts shown; the badge says how many are open. */
const FIRST = 5;

/** Home page: open anomaly alerts (holders of audit.read), each linking to the actor's events in the Audit log. */
export const AnomalyWidget = () => {
  const { formatMessage, formatDate } = useIntl();
  const { get } = useFetchClient();
  // undefined while loading, null when loading failed
  const [data, setData] = React.useState<OpenAnomalies | null>();

  React.useEffect(() => {
    get<{ data: OpenAnomalies }>('/id-vault/anomalies').then(
      (res) => setData(res.data.data),
      (e) => e?.name !== 'AbortError' && setData(null),
    );
  }, [get]);

  if (data === undefined) return <Widget.Loading />;
  if (data === null) return <Widget.Error />;
  if (!data.anomalies.length) return <Widget.NoData>{formatMessage(t('anomalies.none', 'No open anomaly alert.'))}</Widget.NoData>;

  return (
    <Flex direction="column" alignItems="stretch" gap={3}>
      <Flex gap={2}>
        <Badge variant="danger">{formatMessage(t('anomalies.badge', '{count, plural, =0 {None open} one {# open} other {# open}}'), { count: data.anomalies.length })}</Badge>
        {data.settings.suspend && (
          <Typography variant="pi" textColor="neutral600">
            {formatMessage(t('anomalies.widget.suspended', 'Reveal and export are suspended for these accounts.'))}
          </Typography>
        )}
      </Flex>
      {data.anomalies.slice(0, FIRST).map((a) => (
        <Flex key={a.id} justifyContent="space-between" gap={3}>
          <Link tag={RouterLink} to={auditLogPath({ actorType: a.actorType, actorId: a.actorId })}>
            {`${actorName(formatMessage, data.actors, a)} · ${kindLabel(formatMessage, a.kind)}`}
          </Link>
          <Typography variant="pi" textColor="danger600" ellipsis title={formatDate(a.detectedAt, DATE_TIME)}>
            {countLabel(formatMessage, a)}
          </Typography>
        </Flex>
      ))}
    </Flex>
  );
};
