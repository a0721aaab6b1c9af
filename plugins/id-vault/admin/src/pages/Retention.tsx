import * as React from 'react';
import {
  Alert,
  Badge,
  Box,
  Button,
  Checkbox,
  Field,
  Flex,
  NumberInput,
  Table,
  Tbody,
  Td,
  Th,
  Thead,
  Tr,
  Typography,
} from '@strapi/design-system';
import { Check, Search } from '@strapi/icons';
import { isFetchError, Layouts, Page, useNotification, useRBAC } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { typeLabel } from '../documents';
import { action, errorMessage, PERMISSIONS, t, useVaultApi } from '../utils';
import { ReasonDialog } from '../components/ReasonDialog';

/** The rules as the server holds them (server/src/domain/retention.ts, which the admin bundle cannot import). */
interface RetentionSettings {
  customers: { enabled: boolean; years: number; autoErase: boolean };
  documents: { enabled: boolean; days: number; autoErase: boolean };
}
interface Candidate {
  id: number;
  rule: 'customer-stale' | 'document-expired';
  foundAt: string;
  updatedAt?: string | null;
  customer: { documentId: string; name: string | null; kind: string } | null;
  document?: { documentId: string; type: string; expiresAt: string | null };
}
interface CandidatePage {
  candidates: Candidate[];
  next: number | null;
}
type Issue = { path: string[]; message: string };

const RBAC = [
  { action: action('settings.manage'), subject: null },
  { action: action('customer.erase'), subject: null },
];
const BOUNDS = { years: [1, 100], days: [0, 3650] } as const;
const CUSTOMER_VIEW = (documentId: string) => `/admin/content-manager/collection-types/plugin::id-vault.customer/${documentId}`;

/** The two rules, editable with settings.manage (read-only otherwise). */
const Rules = ({ saved, editable, onSaved }: { saved: RetentionSettings; editable: boolean; onSaved: (s: RetentionSettings) => void }) => {
  const { formatMessage } = useIntl();
  const { toggleNotification } = useNotification();
  const { put } = useVaultApi();
  const [draft, setDraft] = React.useState(saved);
  const [issues, setIssues] = React.useState<Issue[]>([]);
  const [busy, setBusy] = React.useState(false);
  const changed = JSON.stringify(draft) !== JSON.stringify(saved);
  const inBounds = (v: number, [min, max]: readonly [number, number]) => Number.isInteger(v) && v >= min && v <= max;
  const valid = inBounds(draft.customers.years, BOUNDS.years) && inBounds(draft.documents.days, BOUNDS.days);
  const set = <K extends keyof RetentionSettings>(rule: K, change: Partial<RetentionSettings[K]>) => setDraft((d) => ({ ...d, [rule]: { ...d[rule], ...change } }));

  const save = async () => {
    setBusy(true);
    setIssues([]);
    try {
      const { data } = await put<{ data: RetentionSettings }>('/id-vault/retention/settings', { settings: draft });
      onSaved(data.data);
      setDraft(data.data);
      toggleNotification({ type: 'success', message: formatMessage(t('retention.saved', 'Retention rules saved')) });
    } catch (e) {
      const details = isFetchError(e) ? (e.response?.data?.error?.details as { errors?: Issue[] } | undefined) : undefined;
      setIssues(details?.errors ?? []);
      toggleNotification({ type: 'danger', message: errorMessage(e) });
    }
    setBusy(false);
  };

  const rule = (key: 'customers' | 'documents') => {
    const r = draft[key];
    const amount = key === 'customers' ? 'years' : 'days';
    const [min, max] = BOUNDS[amount];
    return (
      <Box key={key} background="neutral0" hasRadius shadow="filterShadow" padding={6}>
        <Flex direction="column" alignItems="stretch" gap={3}>
          <Checkbox checked={r.enabled} disabled={!editable} onCheckedChange={(c: boolean | 'indeterminate') => set(key, { enabled: c === true })}>
            <Typography fontWeight="bold">
              {key === 'customers'
                ? formatMessage(t('retention.rule.customers', 'Customers not updated for {n} years'), { n: draft.customers.years })
                : formatMessage(t('retention.rule.documents', 'Identity documents expired more than {n} days ago'), { n: draft.documents.days })}
            </Typography>
          </Checkbox>
          <Field.Root name={`${key}.${amount}`} required width="14rem" hint={formatMessage(t('retention.bounds', 'From {min} to {max}'), { min, max })}>
            <Field.Label>{formatMessage(key === 'customers' ? t('retention.years', 'Years') : t('retention.days', 'Days'))}</Field.Label>
            <NumberInput value={(r as any)[amount]} min={min} max={max} disabled={!editable} onValueChange={(v: number | undefined) => set(key, { [amount]: v ?? NaN } as any)} />
            <Field.Hint />
          </Field.Root>
          <Checkbox checked={r.autoErase} disabled={!editable} onCheckedChange={(c: boolean | 'indeterminate') => set(key, { autoErase: c === true })}>
            {key === 'customers'
              ? formatMessage(t('retention.auto.customers', 'Erase automatically, without approval (recorded as the system)'))
              : formatMessage(t('retention.auto.documents', 'Delete automatically, without approval (recorded as the system)'))}
          </Checkbox>
        </Flex>
      </Box>
    );
  };

  return (
    <Flex direction="column" alignItems="stretch" gap={4}>
      {issues.length > 0 && (
        <Alert variant="danger" closeLabel={formatMessage(t('scans.close', 'Close'))} onClose={() => setIssues([])}>
          {issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}
        </Alert>
      )}
      {rule('customers')}
      {rule('documents')}
      {editable && (
        <Flex justifyContent="flex-end">
          <Button startIcon={<Check />} onClick={save} loading={busy} disabled={!changed || !valid}>
            {formatMessage(t('retention.save', 'Save rules'))}
          </Button>
        </Flex>
      )}
    </Flex>
  );
};

/** Approve (reason required: it is kept with the erasure) or dismiss one candidate. */
const DecideDialog = ({ candidate, decision, onClose, onDone }: { candidate: Candidate; decision: 'approve' | 'dismiss'; onClose: () => void; onDone: () => void }) => {
  const { formatMessage } = useIntl();
  const { post, run } = useVaultApi();
  const approve = decision === 'approve';
  const submit = async (reason: string) => {
    const done = approve ? t('retention.approved', 'Approved: erased') : t('retention.dismissed', 'Dismissed: the record stays');
    const res = await run(post(`/id-vault/retention/candidates/${candidate.id}/${decision}`, reason ? { reason } : {}), done);
    if (res) onDone();
  };
  return (
    <ReasonDialog
      open
      onOpenChange={(open: boolean) => !open && onClose()}
      title={
        approve
          ? candidate.rule === 'customer-stale'
            ? formatMessage(t('retention.approve.customer', 'Erase this customer for good'))
            : formatMessage(t('retention.approve.document', 'Delete this identity document and its scans'))
          : formatMessage(t('retention.dismiss.title', 'Keep this record'))
      }
      hint={approve ? formatMessage(t('retention.approve.hint', 'This cannot be undone, not even by restoring a backup.')) : undefined}
      confirmLabel={approve ? formatMessage(t('retention.approve', 'Approve')) : formatMessage(t('retention.dismiss', 'Dismiss'))}
      onConfirm={submit}
      minLength={approve ? 3 : 0}
      danger={approve}
    />
  );
};

/** Pending candidates in the admin's read scope, a page at a time, with Approve / Dismiss. */
const Candidates = ({ canScan }: { canScan: boolean }) => {
  const { formatMessage, formatDate } = useIntl();
  const { get, post, run } = useVaultApi();
  const [pages, setPages] = React.useState<CandidatePage[] | null>();
  const [deciding, setDeciding] = React.useState<{ candidate: Candidate; decision: 'approve' | 'dismiss' } | null>(null);
  const [scanning, setScanning] = React.useState(false);

  const load = React.useCallback(async () => {
    const res = await run(get<{ data: CandidatePage }>('/id-vault/retention/candidates'));
    setPages(res ? [res.data] : null);
  }, [get, run]);
  React.useEffect(() => {
    load();
  }, [load]);
  const more = async (after: number) => {
    const res = await run(get<{ data: CandidatePage }>(`/id-vault/retention/candidates?after=${after}`));
    if (res) setPages((p) => [...(p ?? []), res.data]);
  };
  const scanNow = async () => {
    setScanning(true);
    const res = await run(post('/id-vault/retention/scan', {}), t('retention.scanned', 'Candidates listed'));
    setScanning(false);
    if (res) load();
  };

  if (pages === undefined) return <Page.Loading />;
  if (pages === null) return <Page.Error />;
  const rows = pages.flatMap((p) => p.candidates);
  const next = pages[pages.length - 1].next;
  const day = (iso: string | null | undefined) => (iso ? formatDate(new Date(iso), { dateStyle: 'medium' }) : '—');
  return (
    <Flex direction="column" alignItems="stretch" gap={4}>
      <Flex justifyContent="space-between">
        <Typography variant="delta" tag="h2">
          {formatMessage(t('retention.candidates', 'Candidates'))}
        </Typography>
        {canScan && (
          <Button variant="secondary" startIcon={<Search />} onClick={scanNow} loading={scanning}>
            {formatMessage(t('retention.scan', 'Find candidates now'))}
          </Button>
        )}
      </Flex>
      {rows.length === 0 ? (
        <Typography textColor="neutral600">{formatMessage(t('retention.none', 'No pending candidates.'))}</Typography>
      ) : (
        <Table colCount={4} rowCount={rows.length + 1}>
          <Thead>
            <Tr>
              <Th>
                <Typography variant="sigma">{formatMessage(t('retention.column.customer', 'Customer'))}</Typography>
              </Th>
              <Th>
                <Typography variant="sigma">{formatMessage(t('retention.column.reason', 'Due because'))}</Typography>
              </Th>
              <Th>
                <Typography variant="sigma">{formatMessage(t('retention.column.found', 'Found'))}</Typography>
              </Th>
              <Th>
                <Typography variant="sigma">{formatMessage(t('retention.column.decision', 'Decision'))}</Typography>
              </Th>
            </Tr>
          </Thead>
          <Tbody>
            {rows.map((c) => (
              <Tr key={c.id}>
                <Td>
                  {c.customer ? (
                    <a href={CUSTOMER_VIEW(c.customer.documentId)}>
                      <Typography>{c.customer.name ?? '—'}</Typography>
                    </a>
                  ) : (
                    <Typography textColor="neutral600">{formatMessage(t('retention.no-customer', 'No customer'))}</Typography>
                  )}
                </Td>
                <Td>
                  <Flex gap={2}>
                    <Badge>{c.rule === 'customer-stale' ? formatMessage(t('retention.kind.customer', 'Customer')) : typeLabel(formatMessage, c.document?.type ?? '')}</Badge>
                    <Typography variant="pi">
                      {c.rule === 'customer-stale'
                        ? formatMessage(t('retention.due.customer', 'last updated {date}'), { date: day(c.updatedAt) })
                        : formatMessage(t('retention.due.document', 'expired {date}'), { date: day(c.document?.expiresAt) })}
                    </Typography>
                  </Flex>
                </Td>
                <Td>
                  <Typography variant="pi">{day(c.foundAt)}</Typography>
                </Td>
                <Td>
                  <Flex gap={2}>
                    <Button size="S" variant="danger-light" onClick={() => setDeciding({ candidate: c, decision: 'approve' })}>
                      {formatMessage(t('retention.approve', 'Approve'))}
                    </Button>
                    <Button size="S" variant="tertiary" onClick={() => setDeciding({ candidate: c, decision: 'dismiss' })}>
                      {formatMessage(t('retention.dismiss', 'Dismiss'))}
                    </Button>
                  </Flex>
                </Td>
              </Tr>
            ))}
          </Tbody>
        </Table>
      )}
      {next !== null && (
        <Flex justifyContent="center">
          <Button variant="tertiary" onClick={() => more(next)}>
            {formatMessage(t('retention.more', 'Show more'))}
          </Button>
        </Flex>
      )}
      {deciding && (
        <DecideDialog
          {...deciding}
          onClose={() => setDeciding(null)}
          onDone={() => {
            setDeciding(null);
            load();
          }}
        />
      )}
    </Flex>
  );
};

/**
 * Settings → ID Vault → Retention: the rules (settings.manage changes them) and the candidates the daily job
 * listed (customer.erase reviews them, within the admin's read scope). Names are masked to their first letter.
 */
const RetentionPage = () => {
  const { formatMessage } = useIntl();
  const { get, run } = useVaultApi();
  const { allowedActions, isLoading } = useRBAC(RBAC);
  const [settings, setSettings] = React.useState<RetentionSettings | null>();
  React.useEffect(() => {
    run(get<{ data: RetentionSettings }>('/id-vault/retention/settings')).then((res) => setSettings(res?.data ?? null));
  }, [get, run]);

  if (settings === undefined || isLoading) return <Page.Loading />;
  if (settings === null) return <Page.Error />;
  const title = formatMessage(t('retention.title', 'Retention'));
  return (
    <Page.Main>
      <Page.Title>{title}</Page.Title>
      <Layouts.Header
        title={title}
        subtitle={formatMessage(
          t('retention.subtitle', 'Records due for erasure. A daily job lists them; an archive admin approves (erased for good) or dismisses. Nothing is erased automatically unless a rule says so.'),
        )}
      />
      <Layouts.Content>
        <Flex direction="column" alignItems="stretch" gap={8}>
          <Rules saved={settings} editable={!!allowedActions.canManage} onSaved={setSettings} />
          {allowedActions.canErase && <Candidates canScan={!!allowedActions.canManage} />}
        </Flex>
      </Layouts.Content>
    </Page.Main>
  );
};

const ProtectedRetentionPage = () => (
  <Page.Protect permissions={PERMISSIONS.retention}>
    <RetentionPage />
  </Page.Protect>
);

export default ProtectedRetentionPage;
