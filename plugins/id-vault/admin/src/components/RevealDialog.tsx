import * as React from 'react';
import { useIntl } from 'react-intl';
import type { RevealRequest, RevealResponse } from '../../../shared/contracts';
import { t, useVaultApi } from '../utils';
import { ReasonDialog } from './ReasonDialog';

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

  const reveal = async (reason: string) => {
    const body: RevealRequest = { fields: [field], reason };
    const res = await run(post<RevealResponse>(`/id-vault/customers/${documentId}/reveal`, body));
    // A refusal is a toast with the server's reason; the dialog closes either way.
    if (res) onRevealed(res.data.values[field] ?? '');
    else onOpenChange(false);
  };

  return (
    <ReasonDialog
      open={open}
      onOpenChange={onOpenChange}
      title={formatMessage(t('reveal.title', 'Reveal {field}'), { field: label })}
      hint={formatMessage(t('reveal.reason.hint', 'Recorded in the audit log together with the reveal (3 to 500 characters).'))}
      confirmLabel={formatMessage(t('reveal.confirm', 'Reveal'))}
      onConfirm={reveal}
    />
  );
};
