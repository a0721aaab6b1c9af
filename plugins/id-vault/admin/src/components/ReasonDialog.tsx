import * as React from 'react';
import { Button, Dialog, Field, Textarea } from '@strapi/design-system';
import { useIntl } from 'react-intl';
import { t } from '../utils';

interface Props {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  hint?: string;
  confirmLabel: string;
  /** Runs with the trimmed reason while the confirm button shows it is busy; the caller closes the dialog. */
  onConfirm: (reason: string) => Promise<void>;
  /** The shortest reason accepted (the server's own rule for this action); 0: the reason is optional. */
  minLength?: number;
  danger?: boolean;
  /** More fields below the reason (e.g. a typed confirmation) and whether they are complete. */
  children?: React.ReactNode;
  ready?: boolean;
}

/** A dialog that asks for the reason an action is recorded with (reveal, clearing an alert, erasure, retention). */
export const ReasonDialog = ({ open, onOpenChange, title, hint, confirmLabel, onConfirm, minLength = 3, danger, children, ready = true }: Props) => {
  const { formatMessage } = useIntl();
  const [reason, setReason] = React.useState('');
  const [busy, setBusy] = React.useState(false);

  const confirm = async () => {
    setBusy(true);
    try {
      await onConfirm(reason.trim());
    } finally {
      setBusy(false);
      setReason('');
    }
  };

  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Content>
        <Dialog.Header>{title}</Dialog.Header>
        <Dialog.Body>
          <Field.Root name="reason" required={minLength > 0} width="100%" hint={hint}>
            <Field.Label>{formatMessage(t('reveal.reason', 'Reason'))}</Field.Label>
            <Textarea value={reason} onChange={(e: React.ChangeEvent<HTMLTextAreaElement>) => setReason(e.target.value)} />
            <Field.Hint />
          </Field.Root>
          {children}
        </Dialog.Body>
        <Dialog.Footer>
          <Dialog.Cancel>
            <Button fullWidth variant="tertiary">
              {formatMessage(t('reveal.cancel', 'Cancel'))}
            </Button>
          </Dialog.Cancel>
          <Button
            fullWidth
            variant={danger ? 'danger' : 'default'}
            onClick={confirm}
            loading={busy}
            disabled={!ready || reason.trim().length < minLength}
          >
            {confirmLabel}
          </Button>
        </Dialog.Footer>
      </Dialog.Content>
    </Dialog.Root>
  );
};
