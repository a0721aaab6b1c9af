import * as React from 'react';
import { Button, Dialog, Field, Textarea } from '@strapi/design-system';
import { useIntl } from 'react-intl';
import type { RevealRequest, RevealResponse } from '../../../shared/contracts';
import { t, useVaultApi } from '../utils';

interface Props {
  documentId: string;
  field: string;
  label: string;
  open: boolean;
  onOpenChange: (open: boolean) => void;
  onRevealed: (plaintext: string) => void;
}

/** Asks for the reason (recorded in the audit log) and reveals one encrypted field of a customer. */
export const RevealDialog = ({ documentId, field, label, open, onOpenChange, onRevealed }: Props) => {
  const { formatMessage } = useIntl();
  const { post, run } = useVaultApi();
  const [reason, setReason] = React.useState('');
  const [revealing, setRevealing] = React.useState(false);

  const reveal = async () => {
    setRevealing(true);
    const body: RevealRequest = { fields: [field], reason: reason.trim() };
    const res = await run(post<RevealResponse>(`/id-vault/customers/${documentId}/reveal`, body));
    setRevealing(false);
    setReason('');
    // A refusal is a toast with the server's reason; the dialog closes either way.
    if (res) onRevealed(res.data.values[field] ?? '');
    else onOpenChange(false);
  };

  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Content>
        <Dialog.Header>{formatMessage(t('reveal.title', 'Reveal {field}'), { field: label })}</Dialog.Header>
        <Dialog.Body>
          <Field.Root
            name="reason"
            required
            width="100%"
            hint={formatMessage(t('reveal.reason.hint', 'Recorded in the audit log together with the reveal (3 to 500 characters).'))}
          >
            <Field.Label>{formatMessage(t('reveal.reason', 'Reason'))}</Field.Label>
            <Textarea value={reason} onChange={(e: React.ChangeEvent<HTMLTextAreaElement>) => setReason(e.target.value)} />
            <Field.Hint />
          </Field.Root>
        </Dialog.Body>
        <Dialog.Footer>
          <Dialog.Cancel>
            <Button fullWidth variant="tertiary">
              {formatMessage(t('reveal.cancel', 'Cancel'))}
            </Button>
          </Dialog.Cancel>
          <Button fullWidth onClick={reveal} loading={revealing} disabled={reason.trim().length < 3}>
            {formatMessage(t('reveal.confirm', 'Reveal'))}
          </Button>
        </Dialog.Footer>
      </Dialog.Content>
    </Dialog.Root>
  );
};
