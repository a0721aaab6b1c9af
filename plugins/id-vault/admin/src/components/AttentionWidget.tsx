import * as React from 'react';
import { Flex, Link, Typography } from '@strapi/design-system';
import { useFetchClient, Widget } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { Link as RouterLink } from 'react-router-dom';
import { DATE_ONLY, editViewPath, typeLabel, type Attention } from '../documents';
import { t, UIDS } from '../utils';

/** How far ahead the widget looks for expiring documents. */
const ATTENTION_DAYS = 30;
/** Rows shown per list; the counts say how many there are. */
const FIRST = 5;

const Section = ({ title, children }: { title: string; children: React.ReactNode }) => (
  <Flex direction="column" alignItems="stretch" gap={2}>
    <Typography variant="sigma" textColor="neutral600" tag="h3">
      {title}
    </Typography>
    {children}
  </Flex>
);

const Row = ({ to, name, aside, danger = false }: { to: string; name: string; aside: string; danger?: boolean }) => (
  <Flex justifyContent="space-between" gap={3}>
    <Link tag={RouterLink} to={to}>
      {name}
    </Link>
    <Typography variant="pi" textColor={danger ? 'danger600' : 'neutral600'} ellipsis title={aside}>
      {aside}
    </Typography>
  </Flex>
);

/** Home page: documents expiring soon and customers with missing documents, in the admin's scope. */
export const AttentionWidget = () => {
  const { formatMessage, formatDate } = useIntl();
  const { get } = useFetchClient();
  // undefined while loading, null when loading failed
  const [data, setData] = React.useState<Attention | null>();

  React.useEffect(() => {
    get<{ data: Attention }>('/id-vault/documents/attention', { params: { days: ATTENTION_DAYS } }).then(
      (res) => setData(res.data.data),
      (e) => e?.name !== 'AbortError' && setData(null),
    );
  }, [get]);

  if (data === undefined) return <Widget.Loading />;
  if (data === null) return <Widget.Error />;
  if (!data.expiring.length && !data.incompleteCount) {
    return <Widget.NoData>{formatMessage(t('attention.none', 'No document expires soon, and no customer is missing any.'))}</Widget.NoData>;
  }

  const today = new Date().toISOString().slice(0, 10);
  return (
    <Flex direction="column" alignItems="stretch" gap={5}>
      <Section
        title={formatMessage(t('attention.expiring', 'Expired or expiring within {days} days ({count})'), {
          days: data.days,
          count: data.expiringCount,
        })}
      >
        {data.expiring.slice(0, FIRST).map((d) => (
          <Row
            key={d.documentId}
            to={d.customer ? editViewPath(UIDS.customer, d.customer.documentId) : editViewPath(UIDS.identityDocument, d.documentId)}
            name={d.customer ? `${d.customer.name} · ${typeLabel(formatMessage, d.type)}` : typeLabel(formatMessage, d.type)}
            aside={formatDate(d.expiresAt, DATE_ONLY)}
            danger={d.expiresAt < today}
          />
        ))}
      </Section>
      <Section
        title={formatMessage(t('attention.incomplete', 'Customers with missing documents ({count})'), { count: data.incompleteCount })}
      >
        {data.incomplete.slice(0, FIRST).map((c) => (
          <Row
            key={c.documentId}
            to={editViewPath(UIDS.customer, c.documentId)}
            name={c.name}
            aside={c.missingDocuments.map((type) => typeLabel(formatMessage, type)).join(', ')}
          />
        ))}
      </Section>
    </Flex>
  );
};
