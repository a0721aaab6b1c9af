import * as React from 'react';
import {
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
import { useAuth, useRBAC } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { DATE_TIME, actorName } from '../audit';
import { countLabel, kindLabel, type Anomaly, type AnomalySettings, type OpenAnomalies } from '../anomalies';
import { action, t, useVaultApi } from '../utils';
import { ReasonDialog } from './ReasonDialog';

const PERMISSIONS = [
  { action: action('anomaly.clear'), subject: null },
  { action: action('settings.manage'), subject: null },
];

/** Asks for the reason (recorded in the audit log) and clears one alert, lifting the suspension it caused. */
const ClearDialog = ({ anomaly, onClose, onCleared }: { anomaly: Anomaly; onClose: () => void; onCleared: () => void }) => {
  const { formatMessage } = useIntl();
  const { post, run } = useVaultApi();

  const clear = async (reason: string) => {
    const res = await run(post(`/id-vault/anomalies/${anomaly.id}/clear`, { reason }), t('anomalies.cleared', 'Alert cleared'));
    if (res) onCleared();
  };

  return (
    <ReasonDialog
      open
      onOpenChange={(open: boolean) => !open && onClose()}
      title={formatMessage(t('anomalies.clear.title', 'Clear this alert'))}
      hint={formatMessage(t('anomalies.clear.hint', 'Reveal and export work again for this account. The reason is recorded in the audit log.'))}
      confirmLabel={formatMessage(t('anomalies.clear', 'Clear'))}
      onConfirm={clear}
    />
  );
};

const THRESHOLDS = [
  ['views', t('anomalies.settings.views', 'Customer views')],
  ['reveals', t('anomalies.settings.reveals', 'Reveals')],
  ['exports', t('anomalies.settings.exports', 'Exports')],
  ['windowMinutes', t('anomalies.settings.window', 'Window (minutes)')],
] as const;

/** The thresholds and the suspension switch; editable with `settings.manage`. */
const SettingsForm = ({ settings, editable, onSaved }: { settings: AnomalySettings; editable: boolean; onSaved: (s: AnomalySettings) => void }) => {
  const { formatMessage } = useIntl();
  const { put, run } = useVaultApi();
  const [draft, setDraft] = React.useState(settings);
  const [busy, setBusy] = React.useState(false);
  const valid = THRESHOLDS.every(([k]) => Number.isInteger(draft[k]) && draft[k] > 0);

  const save = async () => {
    setBusy(true);
    const res = await run(put<{ data: AnomalySettings }>('/id-vault/anomaly-settings', { settings: draft }), t('anomalies.settings.saved', 'Anomaly settings saved'));
    setBusy(false);
    if (res) onSaved(res.data);
  };

  return (
    <Flex direction="column" alignItems="stretch" gap={3}>
      <Typography variant="pi" textColor="neutral600">
        {formatMessage(t('anomalies.settings.hint', 'An alert is raised when one account (admin, user or API token) has more than this many in the window.'))}
      </Typography>
      <Flex gap={4} wrap="wrap" alignItems="flex-end">
        {THRESHOLDS.map(([key, label]) => (
          <Field.Root key={key} name={key} required width="11rem">
            <Field.Label>{formatMessage(label)}</Field.Label>
            <NumberInput
              value={draft[key]}
              min={1}
              disabled={!editable}
              onValueChange={(v: number | undefined) => setDraft((d) => ({ ...d, [key]: v ?? 0 }))}
            />
          </Field.Root>
        ))}
      </Flex>
      <Checkbox checked={draft.suspend} disabled={!editable} onCheckedChange={(c: boolean | 'indeterminate') => setDraft((d) => ({ ...d, suspend: c === true }))}>
        {formatMessage(t('anomalies.settings.suspend', 'Suspend reveal and export of an account with an open alert until an archive admin clears it'))}
      </Checkbox>
      {editable && (
        <Flex justifyContent="flex-end">
          <Button onClick={save} loading={busy} disabled={!valid}>
            {formatMessage(t('anomalies.settings.save', 'Save thresholds'))}
          </Button>
        </Flex>
      )}
    </Flex>
  );
};

/** The Audit log page's alerts: a badge with the open count, the open alerts (Clear for holders of anomaly.clear), the thresholds. */
export const AnomalyAlerts = () => {
  const { formatMessage, formatDate } = useIntl();
  const { get, run } = useVaultApi();
  const me = useAuth('AnomalyAlerts', (s) => s.user?.id);
  const { allowedActions } = useRBAC(PERMISSIONS);
  const [data, setData] = React.useState<OpenAnomalies | null>();
  const [clearing, setClearing] = React.useState<Anomaly | null>(null);
  const [showSettings, setShowSettings] = React.useState(false);

  const load = React.useCallback(async () => {
    const res = await run(get<{ data: OpenAnomalies }>('/id-vault/anomalies'));
    setData(res?.data ?? null);
  }, [get, run]);

  React.useEffect(() => {
    load();
  }, [load]);

  if (!data) return null;
  const open = data.anomalies.length;
  return (
    <Box background="neutral0" hasRadius shadow="tableShadow" padding={5}>
      <Flex direction="column" alignItems="stretch" gap={4}>
        <Flex justifyContent="space-between" gap={3}>
          <Flex gap={3}>
            <Typography variant="delta" tag="h2">
              {formatMessage(t('anomalies.title', 'Anomaly alerts'))}
            </Typography>
            <Badge variant={open ? 'danger' : 'success'}>
              {formatMessage(t('anomalies.badge', '{count, plural, =0 {None open} one {# open} other {# open}}'), { count: open })}
            </Badge>
            {!data.settings.suspend && <Badge>{formatMessage(t('anomalies.no-suspension', 'Suspension off'))}</Badge>}
          </Flex>
          <Button variant="tertiary" onClick={() => setShowSettings((s) => !s)}>
            {formatMessage(showSettings ? t('anomalies.settings.hide', 'Hide thresholds') : t('anomalies.settings.show', 'Thresholds'))}
          </Button>
        </Flex>
        {showSettings && (
          <SettingsForm settings={data.settings} editable={!!allowedActions.canManage} onSaved={(settings) => setData((d) => d && { ...d, settings })} />
        )}
        {open > 0 && (
          <Table colCount={5} rowCount={open + 1}>
            <Thead>
              <Tr>
                <Th>
                  <Typography variant="sigma">{formatMessage(t('audit.column.actor', 'Actor'))}</Typography>
                </Th>
                <Th>
                  <Typography variant="sigma">{formatMessage(t('anomalies.column.kind', 'Unusual number of'))}</Typography>
                </Th>
                <Th>
                  <Typography variant="sigma">{formatMessage(t('anomalies.column.count', 'Count'))}</Typography>
                </Th>
                <Th>
                  <Typography variant="sigma">{formatMessage(t('anomalies.column.detected', 'Detected'))}</Typography>
                </Th>
                <Th>
                  <Typography variant="sigma">{formatMessage(t('anomalies.column.action', 'Action'))}</Typography>
                </Th>
              </Tr>
            </Thead>
            <Tbody>
              {data.anomalies.map((a) => (
                <Tr key={a.id}>
                  <Td>
                    <Typography>{actorName(formatMessage, data.actors, a)}</Typography>
                  </Td>
                  <Td>
                    <Typography fontWeight="semiBold">{kindLabel(formatMessage, a.kind)}</Typography>
                  </Td>
                  <Td>
                    <Typography>{countLabel(formatMessage, a)}</Typography>
                  </Td>
                  <Td>
                    <Typography>{formatDate(a.detectedAt, DATE_TIME)}</Typography>
                  </Td>
                  <Td>
                    {allowedActions.canClear && !(a.actorType === 'admin' && a.actorId === String(me)) ? (
                      <Button size="S" variant="secondary" onClick={() => setClearing(a)}>
                        {formatMessage(t('anomalies.clear', 'Clear'))}
                      </Button>
                    ) : (
                      <Typography variant="pi" textColor="neutral600">
                        {formatMessage(t('anomalies.clear.not-yours', 'An archive admin clears it'))}
                      </Typography>
                    )}
                  </Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </Flex>
      {clearing && (
        <ClearDialog
          anomaly={clearing}
          onClose={() => setClearing(null)}
          onCleared={() => {
            setClearing(null);
            load();
          }}
        />
      )}
    </Box>
  );
};
