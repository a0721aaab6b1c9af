import * as React from 'react';
import {
  Box,
  Button,
  Checkbox,
  Flex,
  SingleSelect,
  SingleSelectOption,
  Table,
  Tbody,
  Td,
  Th,
  Thead,
  Tr,
  Typography,
} from '@strapi/design-system';
import { Check } from '@strapi/icons';
import { Layouts, Page } from '@strapi/strapi/admin';
import { useIntl, type MessageDescriptor } from 'react-intl';
import { styled } from 'styled-components';
import type {
  AccessPolicy,
  AccessPolicyResponse,
  ExportRight,
  FieldVisibility,
  RowScope,
  SubjectPolicy,
} from '../../../shared/contracts';
import { PERMISSIONS, t, useVaultApi } from '../utils';

type Data = AccessPolicyResponse['data'];
type Subject = Data['subjects'][number];

const VISIBILITY: Record<FieldVisibility, MessageDescriptor> = {
  plain: t('field-access.visibility.plain', 'Plain'),
  masked: t('field-access.visibility.masked', 'Masked'),
  hidden: t('field-access.visibility.hidden', 'Hidden'),
};
const SCOPE: Record<RowScope, MessageDescriptor> = {
  own: t('field-access.scope.own', 'Own'),
  unit: t('field-access.scope.unit', 'Org unit'),
  subtree: t('field-access.scope.subtree', 'Org unit and below'),
  all: t('field-access.scope.all', 'All'),
};
const EXPORT: Record<ExportRight, MessageDescriptor> = {
  none: t('field-access.export.none', 'None'),
  masked: t('field-access.export.masked', 'Masked'),
  plain: t('field-access.export.plain', 'Plain'),
};
const KINDS: Array<{ kind: Subject['kind']; label: MessageDescriptor }> = [
  { kind: 'admin-role', label: t('field-access.kind.admin-role', 'Admin roles') },
  { kind: 'up-role', label: t('field-access.kind.up-role', 'Users & Permissions roles') },
  { kind: 'api-token', label: t('field-access.kind.api-token', 'API tokens') },
];
/** Row scope, hidden customers and export apply to content-API callers; admin roles get them from RBAC. */
const COLUMNS = {
  read: t('field-access.column.read', 'Read rows'),
  write: t('field-access.column.write', 'Write rows'),
  viewHidden: t('field-access.column.viewHidden', 'Sees hidden customers'),
  export: t('field-access.column.export', 'Export'),
};

/** The subject column stays in view when a wide table scrolls sideways. */
const StickyTh = styled(Th)`
  position: sticky;
  left: 0;
  z-index: 1;
  background: ${({ theme }) => theme.colors.neutral0};
`;
const StickyTd = styled(Td)`
  position: sticky;
  left: 0;
  z-index: 1;
  background: ${({ theme }) => theme.colors.neutral0};
  box-shadow: 1px 0 0 ${({ theme }) => theme.colors.neutral150};
`;

/** Users-permissions' Public role: public callers never reach the vault's types, whatever a setting says. */
const PUBLIC_ROLE = 'up-role:public';

const Choice = <V extends string>(props: {
  label: string;
  value: V;
  options: Record<V, MessageDescriptor>;
  onChange: (value: V) => void;
}) => {
  const { formatMessage } = useIntl();
  return (
    <SingleSelect aria-label={props.label} size="S" value={props.value} onChange={(v) => props.onChange(v as V)}>
      {(Object.keys(props.options) as V[]).map((o) => (
        <SingleSelectOption key={o} value={o}>
          {formatMessage(props.options[o])}
        </SingleSelectOption>
      ))}
    </SingleSelect>
  );
};

const FieldAccessPage = () => {
  const { formatMessage } = useIntl();
  const { get, put, run } = useVaultApi();
  // undefined while loading, null when loading failed
  const [data, setData] = React.useState<Data | null>();
  const [policy, setPolicy] = React.useState<AccessPolicy>({ subjects: {} });
  const [saving, setSaving] = React.useState(false);

  const apply = React.useCallback((res?: AccessPolicyResponse) => {
    setData((prev) => res?.data ?? prev ?? null);
    if (res) setPolicy(res.data.policy);
  }, []);

  React.useEffect(() => {
    run(get<AccessPolicyResponse>('/id-vault/access-policy')).then(apply);
  }, [get, run, apply]);

  const changed = !!data && JSON.stringify(policy) !== JSON.stringify(data.policy);
  const save = async () => {
    setSaving(true);
    apply(await run(put<AccessPolicyResponse>('/id-vault/access-policy', { policy }), t('field-access.saved', 'Field access saved')));
    setSaving(false);
  };

  const update = (key: string, change: (p: SubjectPolicy) => SubjectPolicy) =>
    setPolicy((prev) => ({ ...prev, subjects: { ...prev.subjects, [key]: change(prev.subjects[key] ?? {}) } }));

  if (data === undefined) return <Page.Loading />;
  if (data === null) return <Page.Error />;

  const title = formatMessage(t('field-access.title', 'Field access'));
  // The field as the Content Manager labels it (zh-Hans from its translations, English from the server's FIELD_LABELS).
  const fieldLabel = (f: Data['fields'][number]) =>
    `${formatMessage(t(`type.${f.uid.split('.').pop()}`, f.contentType))} · ${formatMessage({
      id: `content-manager.content-types.${f.uid}.${f.field}`,
      defaultMessage: f.label,
    })}`;

  const row = (s: Subject, scoped: boolean) => {
    const p = policy.subjects[s.key] ?? {};
    const label = (column: string) => `${s.name} · ${column}`;
    const scope = (which: 'read' | 'write') => (
      <Td>
        <Choice
          label={label(formatMessage(COLUMNS[which]))}
          value={p[which] ?? (s.kind === 'api-token' ? 'all' : 'own')}
          options={SCOPE}
          onChange={(v) => update(s.key, (q) => ({ ...q, [which]: v }))}
        />
      </Td>
    );
    const name = (
      <StickyTd>
        <Typography fontWeight="bold">{s.name}</Typography>
      </StickyTd>
    );
    if (s.key === PUBLIC_ROLE) {
      return (
        <Tr key={s.key}>
          {name}
          <Td colSpan={data.fields.length + (scoped ? 4 : 0)}>
            <Typography textColor="neutral600">
              {formatMessage(t('field-access.public', 'Public callers (no login) never reach customers or identity documents: nothing to set.'))}
            </Typography>
          </Td>
        </Tr>
      );
    }
    return (
      <Tr key={s.key}>
        {name}
        {data.fields.map((f) => (
          <Td key={f.key}>
            {s.fixed ? (
              <Typography textColor="neutral600">{formatMessage(VISIBILITY[s.fixed])}</Typography>
            ) : (
              <Choice
                label={label(fieldLabel(f))}
                value={p.fields?.[f.key] ?? 'masked'}
                options={VISIBILITY}
                onChange={(v) => update(s.key, (q) => ({ ...q, fields: { ...q.fields, [f.key]: v } }))}
              />
            )}
          </Td>
        ))}
        {scoped && s.fixed && <Td colSpan={4} />}
        {scoped && !s.fixed && (
          <>
            {scope('read')}
            {scope('write')}
            <Td>
              <Checkbox
                aria-label={label(formatMessage(COLUMNS.viewHidden))}
                checked={p.viewHidden ?? false}
                onCheckedChange={(checked) => update(s.key, (q) => ({ ...q, viewHidden: checked === true }))}
              />
            </Td>
            <Td>
              <Choice
                label={label(formatMessage(COLUMNS.export))}
                value={p.export ?? 'none'}
                options={EXPORT}
                onChange={(v) => update(s.key, (q) => ({ ...q, export: v }))}
              />
            </Td>
          </>
        )}
      </Tr>
    );
  };

  return (
    <Page.Main>
      <Page.Title>{title}</Page.Title>
      <Layouts.Header
        title={title}
        subtitle={formatMessage(
          t('field-access.subtitle', 'Who sees each sensitive field in plain, masked or not at all. A field without a setting is masked.')
        )}
        primaryAction={
          <Button startIcon={<Check />} onClick={save} loading={saving} disabled={!changed}>
            {formatMessage(t('field-access.save', 'Save'))}
          </Button>
        }
      />
      <Layouts.Content>
        <Flex direction="column" alignItems="stretch" gap={8}>
          {KINDS.map(({ kind, label }) => {
            const subjects = data.subjects.filter((s) => s.kind === kind);
            const scoped = kind !== 'admin-role';
            if (!subjects.length) return null;
            return (
              <Box key={kind}>
                <Box paddingBottom={3}>
                  <Typography variant="delta" tag="h2">
                    {formatMessage(label)}
                  </Typography>
                </Box>
                <Table colCount={1 + data.fields.length + (scoped ? 4 : 0)} rowCount={subjects.length + 1}>
                  <Thead>
                    <Tr>
                      <StickyTh>
                        <Typography variant="sigma">{formatMessage(t('field-access.column.subject', 'Subject'))}</Typography>
                      </StickyTh>
                      {data.fields.map((f) => (
                        <Th key={f.key}>
                          <Typography variant="pi" fontWeight="bold" textColor="neutral800">
                            {fieldLabel(f)}
                          </Typography>
                        </Th>
                      ))}
                      {scoped &&
                        Object.entries(COLUMNS).map(([key, column]) => (
                          <Th key={key}>
                            <Typography variant="sigma">{formatMessage(column)}</Typography>
                          </Th>
                        ))}
                    </Tr>
                  </Thead>
                  <Tbody>{subjects.map((s) => row(s, scoped))}</Tbody>
                </Table>
              </Box>
            );
          })}
        </Flex>
      </Layouts.Content>
    </Page.Main>
  );
};

const ProtectedFieldAccessPage = () => (
  <Page.Protect permissions={PERMISSIONS.settings}>
    <FieldAccessPage />
  </Page.Protect>
);

export default ProtectedFieldAccessPage;
