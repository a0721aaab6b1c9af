import * as React from 'react';
import { Button, Dialog, Field, Textarea, TextInput, Typography } from '@strapi/design-system';
import { Trash } from '@strapi/icons';
import { useIntl } from 'react-intl';
import { t, useVaultApi } from '../utils';

/** What the admin types to confirm (the erasure cannot be undone, not even by a restore). */
const CONFIRM_WORD = 'ERASE';

/**
 * Erase for good (`customer.erase`): asks for a reason (kept in the tombstone) and a typed confirmation,
 * then erases the customer (keys destroyed, documents and scans deleted, every field blanked) and reloads
 * the edit view, which then shows the husk.
 */
export const EraseCustomer = ({ documentId }: { documentId: string }) => {
  const { formatMessage } = useIntl();
  const { post, run } = useVaultApi();
  const [open, setOpen] = React.useState(false);
  const [reason, setReason] = React.useState('');
  const [confirm, setConfirm] = React.useState('');
  const [busy, setBusy] = React.useState(false);

  const erase = async () => {
    setBusy(true);
    const res = await run(post(`/id-vault/customers/${documentId}/erase`, { reason: reason.trim() }), t('erase.done', 'Customer erased'));
    setBusy(false);
    if (res) {
      setOpen(false);
      window.location.reload();
    }
  };

  return (
    <>
      <Typography variant="pi" textColor="neutral600">
        {formatMessage(t('erase.hint', 'Destroys this customer’s keys, documents and scans and blanks every field. It cannot be undone, not even by restoring a backup.'))}
      </Typography>
      <Button variant="danger-light" startIcon={<Trash />} fullWidth onClick={() => setOpen(true)}>
        {formatMessage(t('erase.button', 'Erase for good'))}
      </Button>
      <Dialog.Root open={open} onOpenChange={setOpen}>
        <Dialog.Content>
          <Dialog.Header>{formatMessage(t('erase.title', 'Erase this customer for good'))}</Dialog.Header>
          <Dialog.Body>
            <Field.Root name="reason" required width="100%" hint={formatMessage(t('erase.reason.hint', 'Kept with the record of the erasure.'))}>
              <Field.Label>{formatMessage(t('erase.reason', 'Reason'))}</Field.Label>
              <Textarea value={reason} onChange={(e: React.ChangeEvent<HTMLTextAreaElement>) => setReason(e.target.value)} />
              <Field.Hint />
            </Field.Root>
            <Field.Root name="confirm" required width="100%">
              <Field.Label>{formatMessage(t('erase.confirm', 'Type {word} to confirm'), { word: CONFIRM_WORD })}</Field.Label>
              <TextInput value={confirm} onChange={(e: React.ChangeEvent<HTMLInputElement>) => setConfirm(e.target.value)} />
            </Field.Root>
          </Dialog.Body>
          <Dialog.Footer>
            <Dialog.Cancel>
              <Button fullWidth variant="tertiary">
                {formatMessage(t('reveal.cancel', 'Cancel'))}
              </Button>
            </Dialog.Cancel>
            <Button fullWidth variant="danger" onClick={erase} loading={busy} disabled={!reason.trim() || confirm !== CONFIRM_WORD}>
              {formatMessage(t('erase.button', 'Erase for good'))}
            </Button>
          </Dialog.Footer>
        </Dialog.Content>
      </Dialog.Root>
    </>
  );
};
