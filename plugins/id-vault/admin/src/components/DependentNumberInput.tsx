import * as React from 'react';
import { Field, NumberInput } from '@strapi/design-system';
import { useIntl, type MessageDescriptor } from 'react-intl';

/** The Content-Type Builder's id for this input (an option item's `type`), registered by the plugin's bootstrap. */
export const DEPENDENT_NUMBER_INPUT = 'id-vault-dependent-number';

/** When the input shows: another option of the same dialog has this value (its default when the admin left it). */
export interface ShowWhen {
  name: string;
  value: string;
  defaultValue: string;
}

interface Props {
  name: string;
  intlLabel: MessageDescriptor;
  description?: MessageDescriptor;
  value?: number | string | null;
  error?: string;
  onChange: (e: { target: { name: string; value: unknown; type: string } }) => void;
  /** The dialog's whole form (the Content-Type Builder passes it to every custom input). */
  modifiedData?: Record<string, any>;
  showWhen: ShowWhen;
}

/** `options.searchable` → modifiedData.options.searchable */
const read = (data: Record<string, any> | undefined, name: string) => name.split('.').reduce<any>((v, k) => v?.[k], data);

/**
 * A number option of the Encrypted text dialog that applies only with one choice of another option ("Prefix
 * length" with searchable = exact + prefix, "Keep first/last N" with mask = keep): it reads that option from the
 * dialog's values and renders nothing otherwise. A hidden option keeps its value (the server ignores it).
 */
export const DependentNumberInput = ({ name, intlLabel, description, value, error, onChange, modifiedData, showWhen }: Props) => {
  const { formatMessage } = useIntl();
  if ((read(modifiedData, showWhen.name) ?? showWhen.defaultValue) !== showWhen.value) return null;
  const numeric = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : undefined;
  return (
    <Field.Root name={name} error={error} hint={description ? formatMessage(description) : undefined}>
      <Field.Label>{formatMessage(intlLabel)}</Field.Label>
      <NumberInput value={numeric} onValueChange={(v) => onChange({ target: { name, value: v, type: 'number' } })} />
      <Field.Hint />
      <Field.Error />
    </Field.Root>
  );
};
