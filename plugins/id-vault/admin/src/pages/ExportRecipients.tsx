import * as React from 'react';
import { Badge, Box, Button, Dialog, Field, Flex, IconButton, Table, Tbody, Td, TextInput, Textarea, Th, Thead, Tr, Typography, VisuallyHidden } from '@strapi/design-system';
import { Plus, Trash } from '@strapi/icons';
import { Layouts, Page } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { PERMISSIONS, t, useVaultApi } from '../utils';

interface Recipient {
  documentId: string;
  name: string;
  subject: string;
  fingerprint: string;
  notBefore: string;
  notAfter: string;
  keyBits: number;
  valid: boolean;
}

const API = '/id-vault/export-recipients';
const DATE = { year: 'numeric', month: '2-digit', day: '2-digit' } as const;

const COLUMNS = [
  t('recipients.column.name', 'Name'),
  t('recipients.column.subject', 'Subject'),
  t('recipients.column.fingerprint', 'SHA-256 fingerprint'),
  t('recipients.column.valid-from', 'Valid from'),
  t('recipients.column.valid-to', 'Valid to'),
];

/** Delete, after a confirmation naming the recipient. */
const DeleteRecipient = ({ recipient, onDeleted }: { recipient: Recipient; onDeleted: () => void }) => {
  const { formatMessage } = useIntl();
  const { del, run } = useVaultApi();
  const remove = async () => {
    if (await run(del(`${API}/${recipient.documentId}`), t('recipients.deleted', 'Export recipient deleted'))) onDeleted();
  };
  return (
    <Dialog.Root>
      <Dialog.Trigger>
        <IconButton variant="ghost" label={formatMessage(t('recipients.delete', 'Delete {name}'), { name: recipient.name })}>
          <Trash />
        </IconButton>
      </Dialog.Trigger>
      <Dialog.Content>
        <Dialog.Header>{formatMessage(t('recipients.delete.title', 'Delete this export recipient?'))}</Dialog.Header>
        <Dialog.Body>
          {formatMessage(t('recipients.delete.body', 'Exports can no longer be encrypted to {name}. Files already sent stay readable with its key.'), {
            name: recipient.name,
          })}
        </Dialog.Body>
        <Dialog.Footer>
          <Dialog.Cancel>
            <Button fullWidth variant="tertiary">
              {formatMessage(t('recipients.cancel', 'Cancel'))}
            </Button>
          </Dialog.Cancel>
          <Dialog.Action>
            <Button fullWidth variant="danger-light" onClick={remove}>
              {formatMessage(t('recipients.delete.confirm', 'Delete'))}
            </Button>
          </Dialog.Action>
        </Dialog.Footer>
      </Dialog.Content>
    </Dialog.Root>
  );
};

/** Upload: a name, and the certificate pasted as PEM or read from a .pem / .crt file. */
const AddRecipient = ({ onAdded }: { onAdded: () => void }) => {
  const { formatMessage } = useIntl();
  const { post, run } = useVaultApi();
  const [name, setName] = React.useState('');
  const [certificate, setCertificate] = React.useState('');
  const [saving, setSaving] = React.useState(false);

  const readFile = async (e: React.ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    if (file) setCertificate(await file.text());
    e.target.value = '';
  };
  const add = async () => {
    setSaving(true);
    const res = await run(post(API, { name: name.trim(), certificate }), t('recipients.added', 'Export recipient added'));
    setSaving(false);
    if (!res) return;
    setName('');
    setCertificate('');
    onAdded();
  };

  return (
    <Box background="neutral0" hasRadius shadow="filterShadow" padding={6}>
      <Flex direction="column" alignItems="stretch" gap={4}>
        <Typography variant="delta" tag="h2">
          {formatMessage(t('recipients.add.title', 'Add a recipient'))}
        </Typography>
        <Field.Root name="name" required width="100%">
          <Field.Label>{formatMessage(t('recipients.column.name', 'Name'))}</Field.Label>
          <TextInput value={name} onChange={(e: React.ChangeEvent<HTMLInputElement>) => setName(e.target.value)} />
        </Field.Root>
        <Field.Root
          name="certificate"
          required
          width="100%"
          hint={formatMessage(
            t('recipients.certificate.hint', 'One X.509 certificate in PEM form (-----BEGIN CERTIFICATE-----), RSA of 2048 bits or more, not expired. Never a private key.')
          )}
        >
          <Field.Label>{formatMessage(t('recipients.certificate', 'Certificate (PEM)'))}</Field.Label>
          <Textarea value={certificate} onChange={(e: React.ChangeEvent<HTMLTextAreaElement>) => setCertificate(e.target.value)} />
          <Field.Hint />
        </Field.Root>
        <Flex gap={4}>
          <label>
            <Typography variant="pi" textColor="primary600" style={{ cursor: 'pointer' }}>
              {formatMessage(t('recipients.file', 'Or choose a .pem / .crt file'))}
            </Typography>
            <VisuallyHidden>
              <input type="file" accept=".pem,.crt,.cer,application/x-pem-file" onChange={readFile} />
            </VisuallyHidden>
          </label>
          <Button startIcon={<Plus />} onClick={add} loading={saving} disabled={!name.trim() || !certificate.trim()}>
            {formatMessage(t('recipients.add', 'Add recipient'))}
          </Button>
        </Flex>
      </Flex>
    </Box>
  );
};

/** Settings → ID Vault → Export recipients: integrators' certificates that exports are encrypted to. */
const ExportRecipientsPage = () => {
  const { formatMessage, formatDate } = useIntl();
  const { get, run } = useVaultApi();
  const [recipients, setRecipients] = React.useState<Recipient[] | null>();

  const load = React.useCallback(() => {
    run(get<{ data: Recipient[] }>(API)).then((res) => setRecipients(res?.data ?? null));
  }, [get, run]);
  React.useEffect(load, [load]);

  if (recipients === undefined) return <Page.Loading />;
  if (recipients === null) return <Page.Error />;

  const title = formatMessage(t('recipients.title', 'Export recipients'));
  return (
    <Page.Main>
      <Page.Title>{title}</Page.Title>
      <Layouts.Header
        title={title}
        subtitle={formatMessage(
          t('recipients.subtitle', 'Certificates of integrators that exports can be encrypted to (CMS, openssl cms -decrypt). Plain exports leave only encrypted while the server says so.')
        )}
      />
      <Layouts.Content>
        <Flex direction="column" alignItems="stretch" gap={6}>
          {recipients.length === 0 ? (
            <Typography textColor="neutral600">{formatMessage(t('recipients.none', 'No export recipients yet.'))}</Typography>
          ) : (
            <Table colCount={COLUMNS.length + 1} rowCount={recipients.length + 1}>
              <Thead>
                <Tr>
                  {COLUMNS.map((c) => (
                    <Th key={c.id}>
                      <Typography variant="sigma">{formatMessage(c)}</Typography>
                    </Th>
                  ))}
                  <Th>
                    <VisuallyHidden>{formatMessage(t('recipients.actions', 'Actions'))}</VisuallyHidden>
                  </Th>
                </Tr>
              </Thead>
              <Tbody>
                {recipients.map((r) => (
                  <Tr key={r.documentId}>
                    <Td>
                      <Flex direction="column" alignItems="flex-start">
                        <Typography fontWeight="semiBold">{r.name}</Typography>
                        {/* What an API export names: ?recipient=<id> */}
                        <Typography variant="pi" textColor="neutral600">
                          {formatMessage(t('recipients.id', 'recipient={id}'), { id: r.documentId })}
                        </Typography>
                      </Flex>
                    </Td>
                    <Td maxWidth="18rem">
                      <Typography ellipsis title={r.subject}>
                        {r.subject}
                      </Typography>
                    </Td>
                    <Td maxWidth="16rem">
                      <Typography ellipsis variant="pi" title={r.fingerprint} style={{ fontFamily: 'monospace' }}>
                        {r.fingerprint}
                      </Typography>
                    </Td>
                    <Td>
                      <Typography>{formatDate(r.notBefore, DATE)}</Typography>
                    </Td>
                    <Td>
                      <Flex gap={2}>
                        <Typography>{formatDate(r.notAfter, DATE)}</Typography>
                        {!r.valid && (
                          <Badge variant="danger">
                            {formatMessage(
                              new Date(r.notAfter).getTime() < Date.now() ? t('recipients.expired', 'Expired') : t('recipients.not-yet-valid', 'Not valid yet')
                            )}
                          </Badge>
                        )}
                      </Flex>
                    </Td>
                    <Td>
                      <DeleteRecipient recipient={r} onDeleted={load} />
                    </Td>
                  </Tr>
                ))}
              </Tbody>
            </Table>
          )}
          <AddRecipient onAdded={load} />
        </Flex>
      </Layouts.Content>
    </Page.Main>
  );
};

const ProtectedExportRecipientsPage = () => (
  <Page.Protect permissions={PERMISSIONS.settings}>
    <ExportRecipientsPage />
  </Page.Protect>
);

export default ProtectedExportRecipientsPage;
