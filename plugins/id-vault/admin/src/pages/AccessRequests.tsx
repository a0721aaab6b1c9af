import * as React from 'react';
import {
  Alert,
  Badge,
  Box,
  Button,
  Checkbox,
  Combobox,
  ComboboxOption,
  Field,
  Flex,
  NumberInput,
  SingleSelect,
  SingleSelectOption,
  Table,
  Tag,
  Tbody,
  Td,
  Textarea,
  Th,
  Thead,
  Tr,
  Typography,
} from '@strapi/design-system';
import { Cross, PaperPlane } from '@strapi/icons';
import { Layouts, Page, useAuth } from '@strapi/strapi/admin';
import { useIntl, type MessageDescriptor } from 'react-intl';
import type { Grant, GrantAction, GrantRequest, GrantStatus } from '../../../shared/contracts';
import { PERMISSIONS, UIDS, action, t, useVaultApi } from '../utils';

type Verb = 'approve' | 'reject' | 'revoke';

const STATUS: Record<GrantStatus, { label: MessageDescriptor; variant: 'warning' | 'success' | 'neutral' | 'danger' }> = {
  pending: { label: t('grants.status.pending', 'Pending'), variant: 'warning' },
  active: { label: t('grants.status.active', 'Active'), variant: 'success' },
  expired: { label: t('grants.status.expired', 'Expired'), variant: 'neutral' },
  rejected: { label: t('grants.status.rejected', 'Rejected'), variant: 'danger' },
  revoked: { label: t('grants.status.revoked', 'Revoked'), variant: 'neutral' },
};
const ACTIONS: Record<GrantAction, MessageDescriptor> = {
  reveal: t('grants.action.reveal', 'Reveal'),
  export: t('grants.action.export', 'Export'),
  edit: t('grants.action.edit', 'Edit'),
};
const VERBS: Record<Verb, { label: MessageDescriptor; done: MessageDescriptor; variant: 'success-light' | 'danger-light' | 'tertiary' }> = {
  approve: { label: t('grants.approve', 'Approve'), done: t('grants.approved', 'Request approved'), variant: 'success-light' },
  reject: { label: t('grants.reject', 'Reject'), done: t('grants.rejected', 'Request rejected'), variant: 'danger-light' },
  revoke: { label: t('grants.revoke', 'Revoke'), done: t('grants.revoked', 'Access revoked'), variant: 'tertiary' },
};
const COLUMNS = [
  t('grants.column.status', 'Status'),
  t('grants.column.requester', 'Requester'),
  t('grants.column.target', 'Customers or org unit'),
  t('grants.column.actions', 'Actions'),
  t('grants.column.reason', 'Reason'),
  t('grants.column.days', 'Days'),
  t('grants.column.approvers', 'Approvers'),
  t('grants.column.expires', 'Expires'),
];
const NO_HEAD = t(
  'grants.noHead',
  'No org unit of the requester’s chain (their units and the units above them) has a head: nobody can give the department head’s approval. Ask an administrator to name a head under Content Manager → Org unit.'
);


type Picked = { documentId: string; name: string };

/**
 * Finds customers or org units by name through the Content Manager's own list (its search box, `_q`): the
 * answer passes the query layer, so it holds exactly what the requester may read — their row scope, no
 * hidden customer — and masked fields stay masked. At most 10 suggestions per search.
 */
const Picker = ({ uid, label, hint, exclude, onPick }: { uid: string; label: string; hint: string; exclude: string[]; onPick: (p: Picked) => void }) => {
  const { formatMessage } = useIntl();
  const { get } = useVaultApi();
  const [text, setText] = React.useState('');
  const [options, setOptions] = React.useState<Picked[]>([]);
  const [loading, setLoading] = React.useState(false);

  React.useEffect(() => {
    const q = text.trim();
    if (!q) {
      setOptions([]);
      return undefined;
    }
    let live = true;
    setLoading(true);
    const timer = setTimeout(async () => {
      try {
        const params = new URLSearchParams({ page: '1', pageSize: '10', sort: 'name:ASC', _q: q });
        const { data } = await get<{ results: Array<{ documentId: string; name: string }> }>(`/content-manager/collection-types/${uid}?${params}`);
        if (live) setOptions((data.results ?? []).map((r) => ({ documentId: r.documentId, name: r.name })));
      } catch {
        if (live) setOptions([]);
      } finally {
        if (live) setLoading(false);
      }
    }, 250);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [text, uid, get]);

  const shown = options.filter((o) => !exclude.includes(o.documentId));
  return (
    <Field.Root name={`pick-${uid}`} hint={hint}>
      <Field.Label>{label}</Field.Label>
      <Combobox
        autocomplete="none"
        textValue={text}
        onTextValueChange={setText}
        onInputChange={(e: React.ChangeEvent<HTMLInputElement>) => setText(e.target.value)}
        value=""
        loading={loading}
        placeholder={formatMessage(t('grants.form.search', 'Type a name to search'))}
        noOptionsMessage={() => formatMessage(text.trim() ? t('grants.form.noMatch', 'Nothing you can read matches') : t('grants.form.typeToSearch', 'Type a name'))}
        onChange={(value?: string) => {
          const hit = shown.find((o) => o.documentId === value);
          if (hit) {
            onPick(hit);
            setText('');
            setOptions([]);
          }
        }}
      >
        {shown.map((o) => (
          <ComboboxOption key={o.documentId} value={o.documentId}>
            {o.name}
          </ComboboxOption>
        ))}
      </Combobox>
      <Field.Hint />
    </Field.Root>
  );
};

const RequestForm = ({ onRequested, maxDays, noHead }: { onRequested: () => void; maxDays: number; noHead: boolean }) => {
  const { formatMessage } = useIntl();
  const { post, run } = useVaultApi();
  const [target, setTarget] = React.useState<'customers' | 'orgUnit'>('customers');
  const [customers, setCustomers] = React.useState<Picked[]>([]);
  const [unit, setUnit] = React.useState<Picked | null>(null);
  const [actions, setActions] = React.useState<GrantAction[]>(['reveal']);
  const [reason, setReason] = React.useState('');
  const [days, setDays] = React.useState<number | undefined>(7);
  const [sending, setSending] = React.useState(false);

  const chosen = target === 'customers' ? customers.length > 0 : unit !== null;
  const valid = chosen && actions.length > 0 && reason.trim() !== '' && !!days && days >= 1 && days <= maxDays;

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const body: GrantRequest = {
      ...(target === 'customers' ? { customers: customers.map((c) => c.documentId) } : { orgUnit: unit!.documentId }),
      actions,
      reason: reason.trim(),
      days: days!,
    };
    setSending(true);
    const done = await run(post('/id-vault/grants', body), t('grants.requested', 'Access requested'));
    setSending(false);
    if (done) {
      setCustomers([]);
      setUnit(null);
      setReason('');
      onRequested();
    }
  };

  return (
    <Box tag="form" onSubmit={submit} background="neutral0" hasRadius shadow="filterShadow" padding={6}>
      <Flex direction="column" alignItems="stretch" gap={4}>
        <Typography variant="delta" tag="h2">
          {formatMessage(t('grants.form.title', 'Request access'))}
        </Typography>
        {noHead && (
          <Alert variant="warning" closeLabel={formatMessage(t('grants.close', 'Close'))} title={formatMessage(t('grants.noHead.title', 'No department head'))}>
            {formatMessage(NO_HEAD)}
          </Alert>
        )}
        <Flex gap={4} alignItems="flex-start">
          <Field.Root name="target" width="16rem">
            <Field.Label>{formatMessage(t('grants.form.target', 'For'))}</Field.Label>
            <SingleSelect value={target} onChange={(v) => setTarget(v as typeof target)}>
              <SingleSelectOption value="customers">{formatMessage(t('grants.form.target.customers', 'Customers'))}</SingleSelectOption>
              <SingleSelectOption value="orgUnit">{formatMessage(t('grants.form.target.orgUnit', 'An org unit'))}</SingleSelectOption>
            </SingleSelect>
          </Field.Root>
          <Box flex={1}>
            {target === 'customers' ? (
              <Picker
                uid={UIDS.customer}
                label={formatMessage(t('grants.form.customers', 'Customers'))}
                hint={formatMessage(t('grants.form.customers.hint', 'Search by name among the customers you can read; pick one or more'))}
                exclude={customers.map((c) => c.documentId)}
                onPick={(c) => setCustomers((prev) => (prev.length >= 100 ? prev : [...prev, c]))}
              />
            ) : (
              <Picker
                uid={UIDS.orgUnit}
                label={formatMessage(t('grants.form.orgUnit', 'Org unit'))}
                hint={formatMessage(t('grants.form.orgUnit.hint', 'Search by name; covers its customers and those of the units below'))}
                exclude={unit ? [unit.documentId] : []}
                onPick={setUnit}
              />
            )}
            <Flex gap={2} wrap="wrap" paddingTop={2}>
              {(target === 'customers' ? customers : unit ? [unit] : []).map((p) => (
                <Tag
                  key={p.documentId}
                  icon={<Cross />}
                  label={formatMessage(t('grants.form.remove', 'Remove {name}'), { name: p.name })}
                  onClick={() => (target === 'customers' ? setCustomers((prev) => prev.filter((c) => c.documentId !== p.documentId)) : setUnit(null))}
                >
                  {p.name}
                </Tag>
              ))}
            </Flex>
          </Box>
        </Flex>
        <Flex direction="column" alignItems="stretch" gap={1}>
          <Typography variant="pi" fontWeight="bold">
            {formatMessage(t('grants.column.actions', 'Actions'))}
          </Typography>
          <Flex gap={6}>
            {(Object.keys(ACTIONS) as GrantAction[]).map((a) => (
              <Checkbox
                key={a}
                checked={actions.includes(a)}
                onCheckedChange={(checked) => setActions((prev) => (checked === true ? [...prev, a] : prev.filter((x) => x !== a)))}
              >
                {formatMessage(ACTIONS[a])}
              </Checkbox>
            ))}
          </Flex>
        </Flex>
        <Field.Root name="reason" required>
          <Field.Label>{formatMessage(t('grants.column.reason', 'Reason'))}</Field.Label>
          <Textarea value={reason} onChange={(e: React.ChangeEvent<HTMLTextAreaElement>) => setReason(e.target.value)} />
        </Field.Root>
        <Field.Root
          name="days"
          required
          width="16rem"
          hint={formatMessage(t('grants.form.days.hint', 'From approval, 1 to {max}'), { max: maxDays })}
        >
          <Field.Label>{formatMessage(t('grants.column.days', 'Days'))}</Field.Label>
          <NumberInput value={days} onValueChange={setDays} min={1} max={maxDays} />
          <Field.Hint />
        </Field.Root>
        <Flex justifyContent="flex-end">
          <Button type="submit" startIcon={<PaperPlane />} loading={sending} disabled={!valid}>
            {formatMessage(t('grants.form.submit', 'Request access'))}
          </Button>
        </Flex>
      </Flex>
    </Box>
  );
};

const AccessRequestsPage = () => {
  const { formatMessage, formatDate } = useIntl();
  const { get, post, run } = useVaultApi();
  const me = useAuth('AccessRequestsPage', (s) => s.user?.id);
  const permissions = useAuth('AccessRequestsPage', (s) => s.permissions);
  const has = (name: string) => permissions.some((p) => p.action === action(name));
  const canRequest = has('grant.request');
  const canApprove = has('grant.approve');
  // undefined while loading, null when loading failed
  const [grants, setGrants] = React.useState<Grant[] | null>();
  // `<documentId>/<verb>` of the decision under way
  const [busy, setBusy] = React.useState<string | null>(null);
  // The server's limit (ID_VAULT_GRANT_MAX_DAYS, at most the rules' 30 days): told by the list, never re-typed here.
  const [maxDays, setMaxDays] = React.useState<number | null>(null);
  const [noHead, setNoHead] = React.useState(false);

  const load = React.useCallback(async () => {
    const res = await run(get<{ data: Grant[]; meta?: { maxDays?: number; noHead?: boolean } }>('/id-vault/grants'));
    setGrants((prev) => res?.data ?? prev ?? null);
    if (res?.meta?.maxDays) setMaxDays(res.meta.maxDays);
    if (res?.meta) setNoHead(res.meta.noHead === true);
  }, [get, run]);

  React.useEffect(() => {
    load();
  }, [load]);

  const decide = async (path: string, verb: Verb) => {
    setBusy(path);
    if (await run(post(`/id-vault/grants/${path}`), VERBS[verb].done)) await load();
    setBusy(null);
  };

  /** What the current user may try (the server decides): approvers decide others' requests, requesters withdraw theirs. */
  const verbs = (g: Grant): Verb[] => {
    const own = g.requester.id === me;
    if (g.status === 'active') return canApprove || own ? ['revoke'] : [];
    if (g.status !== 'pending') return [];
    if (own) return ['revoke'];
    const approvedByMe = [g.headApprover, g.archiveApprover].some((a) => a?.id === me);
    return canApprove ? [...(approvedByMe ? [] : (['approve'] as const)), 'reject'] : [];
  };

  if (grants === undefined) return <Page.Loading />;
  if (grants === null) return <Page.Error />;

  const title = formatMessage(t('grants.title', 'Access requests'));
  const none = '—';
  const approvers = (g: Grant) =>
    [
      g.headApprover && formatMessage(t('grants.approver.head', 'Head: {name}'), { name: g.headApprover.name }),
      g.archiveApprover && formatMessage(t('grants.approver.archive', 'Archive: {name}'), { name: g.archiveApprover.name }),
    ]
      .filter(Boolean)
      .join(', ') || none;

  return (
    <Page.Main>
      <Page.Title>{title}</Page.Title>
      <Layouts.Header
        title={title}
        subtitle={formatMessage(
          t('grants.subtitle', 'Temporary access to customers’ identity data, approved by a head of the requester’s unit or of a unit above it, and an archive admin.')
        )}
      />
      <Layouts.Content>
        <Flex direction="column" alignItems="stretch" gap={8}>
          {canRequest && maxDays !== null && <RequestForm onRequested={load} maxDays={maxDays} noHead={noHead} />}
          {grants.length === 0 ? (
            <Typography textColor="neutral600">{formatMessage(t('grants.empty', 'No access requests yet.'))}</Typography>
          ) : (
            <Table colCount={COLUMNS.length + 1} rowCount={grants.length + 1}>
              <Thead>
                <Tr>
                  {COLUMNS.map((c) => (
                    <Th key={c.id}>
                      <Typography variant="sigma">{formatMessage(c)}</Typography>
                    </Th>
                  ))}
                  <Th>
                    <Typography variant="sigma">{formatMessage(t('grants.column.decide', 'Decision'))}</Typography>
                  </Th>
                </Tr>
              </Thead>
              <Tbody>
                {grants.map((g) => (
                  <Tr key={g.documentId}>
                    <Td>
                      <Flex direction="column" alignItems="flex-start" gap={1}>
                        <Badge variant={STATUS[g.status].variant}>{formatMessage(STATUS[g.status].label)}</Badge>
                        {g.noHead && (
                          <Badge variant="danger" title={formatMessage(NO_HEAD)}>
                            {formatMessage(t('grants.noHead.title', 'No department head'))}
                          </Badge>
                        )}
                      </Flex>
                    </Td>
                    <Td>
                      <Typography>{g.requester.name}</Typography>
                    </Td>
                    <Td>
                      <Typography>
                        {g.orgUnit
                          ? formatMessage(t('grants.orgUnit', 'Org unit {name}'), { name: g.orgUnit.name })
                          : g.customers.map((c) => c.name || c.documentId).join(', ') /* no name: a customer you cannot read */}
                      </Typography>
                    </Td>
                    <Td>
                      <Typography>{g.actions.map((a) => formatMessage(ACTIONS[a])).join(', ')}</Typography>
                    </Td>
                    <Td maxWidth="20rem">
                      <Typography ellipsis title={g.reason}>
                        {g.reason}
                      </Typography>
                    </Td>
                    <Td>
                      <Typography>{g.days}</Typography>
                    </Td>
                    <Td>
                      <Typography>{approvers(g)}</Typography>
                    </Td>
                    <Td>
                      <Typography>{g.expiresAt ? formatDate(g.expiresAt, { dateStyle: 'medium', timeStyle: 'short' }) : none}</Typography>
                    </Td>
                    <Td>
                      <Flex gap={2}>
                        {verbs(g).map((verb) => {
                          const path = `${g.documentId}/${verb}`;
                          return (
                            <Button
                              key={verb}
                              size="S"
                              variant={VERBS[verb].variant}
                              disabled={busy !== null}
                              loading={busy === path}
                              onClick={() => decide(path, verb)}
                            >
                              {formatMessage(VERBS[verb].label)}
                            </Button>
                          );
                        })}
                      </Flex>
                    </Td>
                  </Tr>
                ))}
              </Tbody>
            </Table>
          )}
        </Flex>
      </Layouts.Content>
    </Page.Main>
  );
};

const ProtectedAccessRequestsPage = () => (
  <Page.Protect permissions={PERMISSIONS.grants}>
    <AccessRequestsPage />
  </Page.Protect>
);

export default ProtectedAccessRequestsPage;
