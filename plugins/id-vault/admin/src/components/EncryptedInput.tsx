import * as React from 'react';
import { Field, Flex, TextInput } from '@strapi/design-system';
import { Lock } from '@strapi/icons';
import { useField, type InputProps } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';

type Props = InputProps & { labelAction?: React.ReactNode };

/**
 * The edit-view input of an encrypted field. The server sends plaintext only to those who may see it;
 * others get the masked value, which they may leave untouched: saving it back keeps the stored value.
 */
export const EncryptedInput = React.forwardRef<HTMLInputElement, Props>(
  ({ hint, disabled = false, labelAction, label, name, required = false, placeholder }, ref) => {
    const { onChange, value, error } = useField(name);
    const { formatMessage } = useIntl();
    const masked = typeof value === 'string' && value.includes('*');
    const maskedHint = formatMessage({
      id: 'id-vault.encrypted.masked-hint',
      defaultMessage: 'Shown masked. Leave it as it is to keep the stored value, or type a new value to replace it.',
    });
    return (
      <Field.Root name={name} id={name} error={error} hint={masked ? maskedHint : hint} required={required}>
        <Flex direction="column" alignItems="stretch" gap={1}>
          <Field.Label action={labelAction}>{label}</Field.Label>
          <TextInput
            ref={ref}
            name={name}
            value={value ?? ''}
            disabled={disabled}
            placeholder={placeholder}
            autoComplete="off"
            spellCheck={false}
            startAction={<Lock aria-hidden />}
            onChange={onChange}
          />
          <Field.Hint />
          <Field.Error />
        </Flex>
      </Field.Root>
    );
  }
);
