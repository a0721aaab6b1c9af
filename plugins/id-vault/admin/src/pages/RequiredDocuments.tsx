import * as React from 'react';
import { Alert, Box, Button, Checkbox, Flex, IconButton, Typography } from '@strapi/design-system';
import { Check, Plus, Trash } from '@strapi/icons';
import { isFetchError, Layouts, Page, useNotification } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import {
  CUSTOMER_KINDS,
  DOCUMENT_TYPES,
  KIND_LABELS,
  TYPE_LABELS,
  type CustomerKind,
  type DocumentType,
  type RequiredDocuments,
} from '../documents';
import { errorMessage, PERMISSIONS, t, useVaultApi } from '../utils';

type Issue = { path: string[]; message: string };

const alternativeLabel = t('required.alternative', 'Alternative {n}');

const Alternative = (props: { index: number; types: DocumentType[]; onChange: (types: DocumentType[]) => void; onRemove: () => void }) => {
  const { formatMessage } = useIntl();
  const title = formatMessage(alternativeLabel, { n: props.index + 1 });
  return (
    <Box background="neutral100" hasRadius padding={4}>
      <Flex direction="column" alignItems="stretch" gap={3}>
        <Flex justifyContent="space-between">
          <Typography fontWeight="bold">{title}</Typography>
          <IconButton
            variant="ghost"
            label={formatMessage(t('required.remove', 'Remove {alternative}'), { alternative: title })}
            onClick={props.onRemove}
          >
            <Trash />
          </IconButton>
        </Flex>
        <Flex gap={6} wrap="wrap">
          {DOCUMENT_TYPES.map((type) => (
            <Checkbox
              key={type}
              checked={props.types.includes(type)}
              onCheckedChange={(checked) =>
                props.onChange(
                  checked === true
                    ? DOCUMENT_TYPES.filter((x) => x === type || props.types.includes(x))
                    : props.types.filter((x) => x !== type),
                )
              }
            >
              {formatMessage(TYPE_LABELS[type])}
            </Checkbox>
          ))}
        </Flex>
        {props.types.length === 0 && (
          <Typography variant="pi" textColor="danger600">
            {formatMessage(t('required.empty-alternative', 'Choose at least one document type, or remove the alternative.'))}
          </Typography>
        )}
      </Flex>
    </Box>
  );
};

const RequiredDocumentsPage = () => {
  const { formatMessage } = useIntl();
  const { toggleNotification } = useNotification();
  const { get, put, run } = useVaultApi();
  // What the server holds (undefined while loading, null when loading failed) and the edited copy.
  const [saved, setSaved] = React.useState<RequiredDocuments | null>();
  const [rules, setRules] = React.useState<RequiredDocuments | null>(null);
  const [issues, setIssues] = React.useState<Issue[]>([]);
  const [saving, setSaving] = React.useState(false);

  React.useEffect(() => {
    run(get<{ data: RequiredDocuments }>('/id-vault/required-documents')).then((res) => {
      setSaved(res?.data ?? null);
      setRules(res?.data ?? null);
    });
  }, [get, run]);

  if (saved === undefined) return <Page.Loading />;
  if (saved === null || rules === null) return <Page.Error />;

  const changed = JSON.stringify(rules) !== JSON.stringify(saved);
  const valid = CUSTOMER_KINDS.every((kind) => rules[kind].every((alt) => alt.length > 0));
  const edit = (kind: CustomerKind, change: (alternatives: DocumentType[][]) => DocumentType[][]) =>
    setRules((prev) => prev && { ...prev, [kind]: change(prev[kind]) });

  const save = async () => {
    setSaving(true);
    setIssues([]);
    try {
      const { data } = await put<{ data: RequiredDocuments }>('/id-vault/required-documents', { rules });
      setSaved(data.data);
      setRules(data.data);
      toggleNotification({ type: 'success', message: formatMessage(t('required.saved', 'Required documents saved')) });
    } catch (e) {
      const details = isFetchError(e) ? (e.response?.data?.error?.details as { errors?: Issue[] } | undefined) : undefined;
      setIssues(details?.errors ?? []);
      toggleNotification({ type: 'danger', message: errorMessage(e) });
    }
    setSaving(false);
  };

  /** Where an issue is, e.g. "Personal · Alternative 2". */
  const where = ([kind, index]: string[]) =>
    [
      kind in KIND_LABELS ? formatMessage(KIND_LABELS[kind as CustomerKind]) : kind,
      index !== undefined && formatMessage(alternativeLabel, { n: Number(index) + 1 }),
    ]
      .filter(Boolean)
      .join(' · ');

  const title = formatMessage(t('required.title', 'Required documents'));
  return (
    <Page.Main>
      <Page.Title>{title}</Page.Title>
      <Layouts.Header
        title={title}
        subtitle={formatMessage(
          t(
            'required.subtitle',
            'What each kind of customer must have. Any one alternative suffices; a document counts once it has a scan.',
          ),
        )}
        primaryAction={
          <Button startIcon={<Check />} onClick={save} loading={saving} disabled={!changed || !valid}>
            {formatMessage(t('required.save', 'Save'))}
          </Button>
        }
      />
      <Layouts.Content>
        <Flex direction="column" alignItems="stretch" gap={6}>
          {issues.length > 0 && (
            <Alert variant="danger" closeLabel={formatMessage(t('scans.close', 'Close'))} onClose={() => setIssues([])}>
              {issues.map((i) => `${where(i.path)}: ${i.message}`).join('; ')}
            </Alert>
          )}
          {CUSTOMER_KINDS.map((kind) => (
            <Box key={kind} background="neutral0" hasRadius shadow="filterShadow" padding={6}>
              <Flex direction="column" alignItems="stretch" gap={4}>
                <Typography variant="delta" tag="h2">
                  {formatMessage(t('required.kind', '{kind} customers'), { kind: formatMessage(KIND_LABELS[kind]) })}
                </Typography>
                {rules[kind].length === 0 && (
                  <Typography textColor="neutral600">{formatMessage(t('required.nothing', 'Nothing is required.'))}</Typography>
                )}
                {rules[kind].map((types, index) => (
                  <React.Fragment key={index}>
                    {index > 0 && (
                      <Typography variant="sigma" textColor="neutral600">
                        {formatMessage(t('required.or', 'or'))}
                      </Typography>
                    )}
                    <Alternative
                      index={index}
                      types={types}
                      onChange={(next) => edit(kind, (alts) => alts.map((alt, i) => (i === index ? next : alt)))}
                      onRemove={() => edit(kind, (alts) => alts.filter((_, i) => i !== index))}
                    />
                  </React.Fragment>
                ))}
                <Flex>
                  <Button variant="tertiary" startIcon={<Plus />} onClick={() => edit(kind, (alts) => [...alts, []])}>
                    {formatMessage(t('required.add', 'Add alternative'))}
                  </Button>
                </Flex>
              </Flex>
            </Box>
          ))}
        </Flex>
      </Layouts.Content>
    </Page.Main>
  );
};

const ProtectedRequiredDocumentsPage = () => (
  <Page.Protect permissions={PERMISSIONS.settings}>
    <RequiredDocumentsPage />
  </Page.Protect>
);

export default ProtectedRequiredDocumentsPage;
