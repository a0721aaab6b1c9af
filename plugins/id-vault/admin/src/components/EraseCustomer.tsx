import * as React from 'react';
import { Button, Field, TextInput, Typography } from '@strapi/design-system';
import { Trash } from '@strapi/icons';
import { useIntl } from 'react-intl';
import { t, useVaultApi } from '../utils';
import { ReasonDialog } from './ReasonDialog';

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
  const [confirm, setConfirm] = React.useState('');

  const erase = async (reason: string) => {
    const res = await run(post(`/id-vault/customers/${documentId}/erase`, { reason }), t('erase.done', 'Customer erased'));
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
      <ReasonDialog
        open={open}
        onOpenChange={setOpen}
        title={formatMessage(t('erase.title', 'Erase this customer for good'))}
        hint={formatMessage(t('erase.reason.hint', 'Kept with the record of the erasure.'))}
        confirmLabel={formatMessage(t('erase.button', 'Erase for good'))}
        onConfirm={erase}
        minLength={1}
        danger
        ready={confirm === CONFIRM_WORD}
      >
        <Field.Root name="confirm" required width="100%">
          <Field.Label>{formatMessage(t('erase.confirm', 'Type {word} to confirm'), { word: CONFIRM_WORD })}</Field.Label>
          <TextInput value={confirm} onChange={(e: React.ChangeEvent<HTMLInputElement>) => setConfirm(e.target.value)} />
        </Field.Root>
      </ReasonDialog>
    </>
  );
};
