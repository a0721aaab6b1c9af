import * as React from 'react';
import { Badge, Flex, Grid, Modal, Typography } from '@strapi/design-system';
import { useIntl, type MessageDescriptor } from 'react-intl';
import { styled } from 'styled-components';
import { DATE_TIME, OUTCOME_BADGES, actorName, actorTypeLabel, type ActorNames, type AuditEvent } from '../audit';
import { t } from '../utils';

const Code = styled.pre`
  margin: 0;
  padding: ${({ theme }) => theme.spaces[3]};
  max-height: 24rem;
  overflow: auto;
  border-radius: ${({ theme }) => theme.borderRadius};
  background: ${({ theme }) => theme.colors.neutral100};
  color: ${({ theme }) => theme.colors.neutral800};
  font-family: monospace;
  font-size: 1.2rem;
  white-space: pre-wrap;
  word-break: break-word;
`;

const Item = ({ label, children }: { label: MessageDescriptor; children: React.ReactNode }) => {
  const { formatMessage } = useIntl();
  return (
    <Grid.Item col={6} xs={12} direction="column" alignItems="flex-start" gap={1}>
      <Typography variant="sigma" textColor="neutral600">
        {formatMessage(label)}
      </Typography>
      {typeof children === 'string' ? <Typography style={{ wordBreak: 'break-word' }}>{children}</Typography> : children}
    </Grid.Item>
  );
};

interface Props {
  event: AuditEvent;
  actors: ActorNames;
  onClose: () => void;
}

/** One event in full, as stored: who, what, on what, from where, its place in the chain and its details. */
export const AuditEventDetail = ({ event: e, actors, onClose }: Props) => {
  const { formatMessage, formatDate } = useIntl();
  const none = '—';
  const outcome = OUTCOME_BADGES[e.outcome];
  return (
    <Modal.Root open onOpenChange={(open) => !open && onClose()}>
      <Modal.Content>
        <Modal.Header closeLabel={formatMessage(t('scans.close', 'Close'))}>
          <Modal.Title>{e.action}</Modal.Title>
        </Modal.Header>
        <Modal.Body>
          <Flex direction="column" alignItems="stretch" gap={5}>
            <Grid.Root gap={4}>
              <Item label={t('audit.column.time', 'Time')}>{formatDate(e.occurredAt, DATE_TIME)}</Item>
              <Item label={t('audit.column.outcome', 'Outcome')}>
                {outcome ? <Badge variant={outcome.variant}>{formatMessage(outcome.label)}</Badge> : e.outcome}
              </Item>
              <Item label={t('audit.column.actor', 'Actor')}>
                {`${actorName(formatMessage, actors, e)} (${[actorTypeLabel(formatMessage, e.actorType), e.actorId].filter(Boolean).join(' ')})`}
              </Item>
              <Item label={t('audit.column.ip', 'IP')}>{e.ip ?? none}</Item>
              <Item label={t('audit.detail.subject-type', 'Subject type')}>{e.subjectUid ?? none}</Item>
              <Item label={t('audit.detail.subject-id', 'Subject id')}>{e.subjectId ?? none}</Item>
              <Item label={t('audit.detail.fields', 'Fields')}>{e.fields.length ? e.fields.join(', ') : none}</Item>
              <Item label={t('audit.detail.id', 'Event id')}>{String(e.id)}</Item>
              <Item label={t('audit.detail.seq', 'Place in the chain (seq)')}>
                {e.seq === null ? formatMessage(t('audit.detail.pending', 'Pending: not chained yet')) : String(e.seq)}
              </Item>
            </Grid.Root>
            <Flex direction="column" alignItems="stretch" gap={1}>
              <Typography variant="sigma" textColor="neutral600">
                {formatMessage(t('audit.detail.user-agent', 'User agent'))}
              </Typography>
              <Typography style={{ wordBreak: 'break-word' }}>{e.userAgent ?? none}</Typography>
            </Flex>
            <Flex direction="column" alignItems="stretch" gap={1}>
              <Typography variant="sigma" textColor="neutral600">
                {formatMessage(t('audit.detail.details', 'Details'))}
              </Typography>
              <Code>{e.details ? JSON.stringify(e.details, null, 2) : none}</Code>
            </Flex>
          </Flex>
        </Modal.Body>
      </Modal.Content>
    </Modal.Root>
  );
};
