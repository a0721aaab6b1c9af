import * as React from 'react';
import { Badge, Box, Flex, Link, Loader, Typography } from '@strapi/design-system';
import { useIntl, type MessageDescriptor } from 'react-intl';
import { Link as RouterLink } from 'react-router-dom';
import { DATE_TIME, OUTCOME_BADGES, actorName, auditLogPath, type ActorNames, type AuditEvent } from '../audit';
import { t, useVaultApi } from '../utils';

/** The actions the customer's trail holds (the server picks them), said as what the actor did. */
const DID: Record<string, MessageDescriptor> = {
  'customer.view': t('audit.trail.customer.view', 'Viewed the customer'),
  'customer.reveal': t('audit.trail.customer.reveal', 'Revealed {fields}'),
  'customer.export': t('audit.trail.customer.export', 'Exported the customer'),
  'identity-document.view': t('audit.trail.identity-document.view', 'Viewed an identity document'),
  'scan.view': t('audit.trail.scan.view', 'Viewed a scan'),
  'scan.download': t('audit.trail.scan.download', 'Downloaded a scan'),
};

/** The "Who has seen this customer" panel: the last views, reveals, exports and scan views, newest first. */
export const AuditTrailPanel = ({ documentId }: { documentId: string }) => {
  const { formatMessage, formatDate } = useIntl();
  const { get, run } = useVaultApi();
  // undefined while loading, null when loading failed
  const [trail, setTrail] = React.useState<{ events: AuditEvent[]; actors: ActorNames } | null>();

  React.useEffect(() => {
    run(get<{ data: { events: AuditEvent[]; actors: ActorNames } }>(`/id-vault/customers/${documentId}/audit`)).then((res) =>
      setTrail(res?.data ?? null),
    );
  }, [get, run, documentId]);

  if (trail === undefined) return <Loader small>{formatMessage(t('scans.loading', 'Loading'))}</Loader>;
  if (trail === null) {
    return <Typography textColor="danger600">{formatMessage(t('audit.trail.load-failed', 'The audit trail could not be loaded.'))}</Typography>;
  }

  return (
    <Flex direction="column" alignItems="stretch" gap={3} width="100%">
      {trail.events.length === 0 && (
        <Typography variant="pi" textColor="neutral600">
          {formatMessage(t('audit.trail.none', 'Nobody has viewed this customer yet.'))}
        </Typography>
      )}
      <Flex tag="ol" direction="column" alignItems="stretch" gap={2}>
        {trail.events.map((e) => {
          const outcome = e.outcome !== 'success' && OUTCOME_BADGES[e.outcome];
          return (
            <Box tag="li" key={e.id} paddingBottom={2} borderStyle="solid" borderWidth="0 0 1px 0" borderColor="neutral150">
              <Flex justifyContent="space-between" alignItems="baseline" gap={2}>
                <Typography fontWeight="bold" ellipsis>
                  {actorName(formatMessage, trail.actors, e)}
                </Typography>
                {outcome && <Badge variant={outcome.variant}>{formatMessage(outcome.label)}</Badge>}
              </Flex>
              <Typography variant="pi" tag="p">
                {e.action in DID ? formatMessage(DID[e.action], { fields: e.fields.join(', ') }) : e.action}
              </Typography>
              <Typography variant="pi" textColor="neutral600" tag="p">
                <time dateTime={e.occurredAt}>{formatDate(e.occurredAt, DATE_TIME)}</time>
              </Typography>
            </Box>
          );
        })}
      </Flex>
      <Link tag={RouterLink} to={auditLogPath({ subject: documentId })}>
        {formatMessage(t('audit.trail.open', 'Open in the Audit log'))}
      </Link>
    </Flex>
  );
};
