import * as React from 'react';
import { Field, Flex, TextInput } from '@strapi/design-system';
import { Eye, EyeStriked, Lock } from '@strapi/icons';
import { useField, type InputProps } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { useParams } from 'react-router-dom';
import { t, useVaultApi } from '../utils';
import { RevealDialog } from './RevealDialog';

type Props = InputProps & { labelAction?: React.ReactNode };

/** Only customers have the reveal route, and only a saved one (not `create`) can be revealed. */
const CUSTOMER = 'plugin::id-vault.customer';

/** Answers of GET /id-vault/customers/:documentId/reveal, shared by the fields of one edit view (10 s). */
const rights = new Map<string, { at: number; answer: Promise<boolean> }>();

/** Whether the admin may reveal this customer (the action, or an active grant): no Reveal button otherwise. */
const useRevealRight = (documentId: string | null): boolean => {
  const { get } = useVaultApi();
  const [may, setMay] = React.useState(false);
  React.useEffect(() => {
    if (!documentId) return setMay(false);
    let cached = rights.get(documentId);
    if (!cached || Date.now() - cached.at > 10_000) {
      cached = { at: Date.now(), answer: get<{ data: { reveal: boolean } }>(`/id-vault/customers/${documentId}/reveal`).then((r) => r.data.data.reveal, () => false) };
      rights.set(documentId, cached);
    }
    let live = true;
    cached.answer.then((answer) => live && setMay(answer));
    return () => {
      live = false;
    };
  }, [documentId, get]);
  return may;
};

/**
 * The edit-view input of an encrypted field. The server sends plaintext only to those who may see it;
 * others get the masked value, which they may leave untouched: saving it back keeps the stored value.
 * A masked top-level field of a saved customer can be revealed (with a reason); the plaintext is shown
 * read-only in place of the mask and kept in this component's state only, never in the form values.
 */
export const EncryptedInput = React.forwardRef<HTMLInputElement, Props>(
  ({ hint, disabled = false, labelAction, label, name, required = false, placeholder }, ref) => {
    const { onChange, value, error } = useField<string>(name);
    const { formatMessage } = useIntl();
    // The Content Manager's edit route: `:collectionType/:slug/:id`.
    const { slug, id } = useParams<{ slug: string; id: string }>();
    const [asking, setAsking] = React.useState(false);
    const [revealed, setRevealed] = React.useState<string | null>(null);

    // Plaintext belongs to the value and document it was revealed for.
    React.useEffect(() => setRevealed(null), [value, id]);

    const masked = typeof value === 'string' && value.includes('*');
    const documentId = slug === CUSTOMER && id && id !== 'create' && !name.includes('.') ? id : null;
    const shown = revealed !== null;
    const mayReveal = useRevealRight(masked ? documentId : null);

    const hints = {
      masked: formatMessage(
        t('encrypted.masked-hint', 'Shown masked. Leave it as it is to keep the stored value, or type a new value to replace it.')
      ),
      revealed: formatMessage(t('encrypted.revealed-hint', 'Plaintext shown to you only; it is not part of the entry and is not saved.')),
    };
    const toggle = shown ? (
      <Field.Action label={formatMessage(t('encrypted.hide', 'Hide'))} onClick={() => setRevealed(null)}>
        <EyeStriked fill="neutral500" />
      </Field.Action>
    ) : masked && documentId && mayReveal ? (
      <Field.Action label={formatMessage(t('encrypted.reveal', 'Reveal'))} onClick={() => setAsking(true)}>
        <Eye fill="neutral500" />
      </Field.Action>
    ) : undefined;

    return (
      <>
        <Field.Root name={name} id={name} error={error} hint={shown ? hints.revealed : masked ? hints.masked : hint} required={required}>
          <Flex direction="column" alignItems="stretch" gap={1}>
            <Field.Label action={labelAction}>{label}</Field.Label>
            <TextInput
              ref={ref}
              name={name}
              value={revealed ?? value ?? ''}
              readOnly={shown}
              disabled={disabled}
              placeholder={placeholder}
              autoComplete="off"
              spellCheck={false}
              startAction={<Lock aria-hidden />}
              endAction={toggle}
              onChange={onChange}
            />
            <Field.Hint />
            <Field.Error />
          </Flex>
        </Field.Root>
        {documentId && mayReveal && (
          <RevealDialog
            documentId={documentId}
            field={name}
            label={typeof label === 'string' ? label : name}
            open={asking}
            onOpenChange={setAsking}
            onRevealed={(plaintext) => {
              setRevealed(plaintext);
              setAsking(false);
            }}
          />
        )}
      </>
    );
  }
);
