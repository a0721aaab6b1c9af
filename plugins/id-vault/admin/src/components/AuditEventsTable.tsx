import * as React from 'react';
import { Badge, IconButton, Table, Tbody, Td, Th, Thead, Tr, Typography, VisuallyHidden } from '@strapi/design-system';
import { Eye } from '@strapi/icons';
import { useIntl } from 'react-intl';
import { DATE_TIME, OUTCOME_BADGES, actorName, subjectLabel, type ActorNames, type AuditEvent } from '../audit';
import { t } from '../utils';

const COLUMNS = [
  t('audit.column.time', 'Time'),
  t('audit.column.actor', 'Actor'),
  t('audit.column.action', 'Action'),
  t('audit.column.subject', 'Subject'),
  t('audit.column.outcome', 'Outcome'),
  t('audit.column.ip', 'IP'),
];

interface Props {
  events: AuditEvent[];
  actors: ActorNames;
  onOpen: (event: AuditEvent) => void;
}

/** The events of the pages loaded so far, newest first; a row (or its eye button) opens the event. */
export const AuditEventsTable = ({ events, actors, onOpen }: Props) => {
  const { formatMessage, formatDate } = useIntl();
  const details = formatMessage(t('audit.detail.open', 'Show the event'));
  return (
    <Table colCount={COLUMNS.length + 1} rowCount={events.length + 1}>
      <Thead>
        <Tr>
          {COLUMNS.map((c) => (
            <Th key={c.id}>
              <Typography variant="sigma">{formatMessage(c)}</Typography>
            </Th>
          ))}
          <Th>
            <VisuallyHidden>{details}</VisuallyHidden>
          </Th>
        </Tr>
      </Thead>
      <Tbody>
        {events.map((e) => {
          const outcome = OUTCOME_BADGES[e.outcome];
          return (
            <Tr key={e.id} onClick={() => onOpen(e)} style={{ cursor: 'pointer' }}>
              <Td>
                <Typography textColor="neutral800">{formatDate(e.occurredAt, DATE_TIME)}</Typography>
              </Td>
              <Td maxWidth="14rem">
                <Typography ellipsis>{actorName(formatMessage, actors, e)}</Typography>
              </Td>
              <Td>
                <Typography fontWeight="semiBold">{e.action}</Typography>
              </Td>
              <Td maxWidth="18rem">
                <Typography ellipsis textColor="neutral600">
                  {subjectLabel(e)}
                </Typography>
              </Td>
              <Td>{outcome ? <Badge variant={outcome.variant}>{formatMessage(outcome.label)}</Badge> : e.outcome}</Td>
              <Td>
                <Typography textColor="neutral600">{e.ip ?? '—'}</Typography>
              </Td>
              <Td>
                <IconButton label={details} variant="ghost" onClick={() => onOpen(e)}>
                  <Eye />
                </IconButton>
              </Td>
            </Tr>
          );
        })}
      </Tbody>
    </Table>
  );
};
