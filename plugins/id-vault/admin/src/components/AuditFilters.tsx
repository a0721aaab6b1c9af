import * as React from 'react';
import { Box, Button, DateTimePicker, Field, Flex, Grid, SingleSelect, SingleSelectOption, TextInput } from '@strapi/design-system';
import { Filter } from '@strapi/icons';
import { useIntl, type MessageDescriptor } from 'react-intl';
import { ACTOR_TYPES, OUTCOMES, OUTCOME_BADGES, actorTypeLabel, type FilterKey, type Filters } from '../audit';
import { t } from '../utils';

const LABELS: Record<FilterKey, MessageDescriptor> = {
  from: t('audit.filters.from', 'From'),
  to: t('audit.filters.to', 'Until'),
  actorType: t('audit.filters.actorType', 'Actor type'),
  actorId: t('audit.filters.actorId', 'Actor id'),
  action: t('audit.filters.action', 'Action'),
  outcome: t('audit.filters.outcome', 'Outcome'),
  subject: t('audit.filters.subject', 'Customer or document id'),
  ip: t('audit.filters.ip', 'IP address'),
};

const HINTS: Partial<Record<FilterKey, MessageDescriptor>> = {
  action: t('audit.filters.action.hint', 'An action (customer.view) or a prefix ending in a dot (scan.)'),
  subject: t('audit.filters.subject.hint', 'The documentId of a customer, identity document or access request'),
};

interface Props {
  /** The filters in force (the page's URL query). */
  filters: Filters;
  onApply: (filters: Filters) => void;
}

/** Grid columns (of 12) per filter: the time pickers need room for a date and a time side by side. */
const COLS: Record<FilterKey, number> = { from: 4, to: 4, actorType: 2, actorId: 2, action: 4, outcome: 2, subject: 4, ip: 2 };

/** The filter form: edited as a draft, applied as a whole (each change of the URL loads a first page). */
export const AuditFilters = ({ filters, onApply }: Props) => {
  const { formatMessage } = useIntl();
  const [draft, setDraft] = React.useState<Filters>(filters);
  const set = (key: FilterKey, value: string | undefined) => setDraft((prev) => ({ ...prev, [key]: value }));
  const any = formatMessage(t('audit.filters.any', 'Any'));
  const clear = formatMessage(t('audit.filters.clear', 'Clear'));

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    onApply(Object.fromEntries(Object.entries(draft).map(([k, v]) => [k, v?.trim()]).filter(([, v]) => v)));
  };

  const reset = () => {
    setDraft({});
    onApply({});
  };

  const field = (key: FilterKey, input: React.ReactNode) => (
    <Grid.Item col={COLS[key]} s={6} xs={12} alignItems="stretch">
      <Field.Root name={key} width="100%" hint={HINTS[key] && formatMessage(HINTS[key]!)}>
        <Field.Label>{formatMessage(LABELS[key])}</Field.Label>
        {input}
        <Field.Hint />
      </Field.Root>
    </Grid.Item>
  );
  const text = (key: FilterKey) =>
    field(key, <TextInput value={draft[key] ?? ''} onChange={(e: React.ChangeEvent<HTMLInputElement>) => set(key, e.target.value)} />);
  const instant = (key: 'from' | 'to') =>
    field(
      key,
      <DateTimePicker
        value={draft[key] ? new Date(draft[key]!) : undefined}
        onChange={(date) => set(key, date?.toISOString())}
        onClear={() => set(key, undefined)}
        clearLabel={clear}
        dateLabel={formatMessage(t('audit.filters.date', 'Date'))}
        timeLabel={formatMessage(t('audit.filters.time', 'Time'))}
      />,
    );
  const choice = (key: 'actorType' | 'outcome', options: Array<{ value: string; label: string }>) =>
    field(
      key,
      <SingleSelect value={draft[key] ?? ''} placeholder={any} onChange={(v) => set(key, String(v))} onClear={() => set(key, undefined)} clearLabel={clear}>
        {options.map((o) => (
          <SingleSelectOption key={o.value} value={o.value}>
            {o.label}
          </SingleSelectOption>
        ))}
      </SingleSelect>,
    );

  return (
    <Box tag="form" onSubmit={submit} background="neutral0" hasRadius shadow="filterShadow" padding={4}>
      <Grid.Root gap={4}>
        {instant('from')}
        {instant('to')}
        {choice(
          'actorType',
          ACTOR_TYPES.map((type) => ({ value: type, label: actorTypeLabel(formatMessage, type) })),
        )}
        {text('actorId')}
        {text('action')}
        {choice(
          'outcome',
          OUTCOMES.map((o) => ({ value: o, label: formatMessage(OUTCOME_BADGES[o].label) })),
        )}
        {text('subject')}
        {text('ip')}
      </Grid.Root>
      <Flex justifyContent="flex-end" gap={2} paddingTop={4}>
        <Button type="button" variant="tertiary" onClick={reset}>
          {formatMessage(t('audit.filters.reset', 'Reset'))}
        </Button>
        <Button type="submit" startIcon={<Filter />}>
          {formatMessage(t('audit.filters.apply', 'Apply filters'))}
        </Button>
      </Flex>
    </Box>
  );
};
