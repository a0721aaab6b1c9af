import * as React from 'react';
import { Button, Flex, Loader, Typography } from '@strapi/design-system';
import { Download } from '@strapi/icons';
import { Layouts, Page } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { useSearchParams } from 'react-router-dom';
import { FILTER_KEYS, type AuditEvent, type AuditPage, type Filters } from '../audit';
import { AnomalyAlerts } from '../components/AnomalyAlerts';
import { AuditCharts } from '../components/AuditCharts';
import { AuditEventDetail } from '../components/AuditEventDetail';
import { AuditEventsTable } from '../components/AuditEventsTable';
import { AuditFilters } from '../components/AuditFilters';
import { ChainStatus } from '../components/ChainStatus';
import { useDownload } from '../download';
import { PERMISSIONS, t, useVaultApi } from '../utils';

const PAGE_SIZE = 50;

/** The filters of the URL query; other keys are left out, since the server refuses unknown ones. */
const filtersOf = (params: URLSearchParams): Filters =>
  Object.fromEntries(FILTER_KEYS.filter((k) => params.get(k)).map((k) => [k, params.get(k)!]));

const AuditLogPage = () => {
  const { formatMessage } = useIntl();
  const { get, run } = useVaultApi();
  const [params, setParams] = useSearchParams();
  const query = React.useMemo(() => filtersOf(params), [params]);
  // The pages loaded so far, merged; undefined while the first loads, null when it failed.
  const [loaded, setLoaded] = React.useState<AuditPage | null>();
  const [loadingMore, setLoadingMore] = React.useState(false);
  const [open, setOpen] = React.useState<AuditEvent | null>(null);
  const csv = useDownload();

  const fetchPage = React.useCallback(
    async (before?: number) => {
      const res = await run(get<{ data: AuditPage }>('/id-vault/audit-log/events', { params: { ...query, limit: PAGE_SIZE, before } }));
      return res?.data;
    },
    [get, run, query],
  );
  // The fetch of the filters in force, so that a "Load more" answered after the filters changed is dropped.
  const current = React.useRef(fetchPage);
  current.current = fetchPage;

  React.useEffect(() => {
    // A slower answer for filters since replaced must not overwrite the newer one.
    let live = true;
    setLoaded(undefined);
    fetchPage().then((page) => live && setLoaded(page ?? null));
    return () => {
      live = false;
    };
  }, [fetchPage]);

  const more = async () => {
    if (!loaded?.next) return;
    setLoadingMore(true);
    const page = await fetchPage(loaded.next);
    setLoadingMore(false);
    if (!page || current.current !== fetchPage) return;
    setLoaded((prev) => prev && { events: [...prev.events, ...page.events], next: page.next, actors: { ...prev.actors, ...page.actors } });
  };

  const title = formatMessage(t('audit.title', 'Audit log'));
  return (
    <Page.Main>
      <Page.Title>{title}</Page.Title>
      <Layouts.Header
        title={title}
        subtitle={formatMessage(
          t('audit.subtitle', 'Every view, reveal, export and change of identity data, newest first. The events form a hash chain: verifying it shows whether any was altered or removed.'),
        )}
        primaryAction={
          <Flex gap={2}>
            <Button
              variant="secondary"
              startIcon={<Download />}
              loading={csv.busy}
              onClick={() => csv.download(`/id-vault/audit-log/export?${new URLSearchParams(query as Record<string, string>)}`, 'audit-log.csv')}
            >
              {formatMessage(t('audit.export', 'Download CSV'))}
            </Button>
            <ChainStatus />
          </Flex>
        }
      />
      <Layouts.Content>
        <Flex direction="column" alignItems="stretch" gap={6}>
          <AnomalyAlerts />
          <AuditCharts />
          {/* Remounted when the URL changes (back button, a link from a customer): the form shows the filters in force. */}
          <AuditFilters key={params.toString()} filters={query} onApply={(filters) => setParams(filters as Record<string, string>)} />
          {loaded === undefined && <Loader>{formatMessage(t('scans.loading', 'Loading'))}</Loader>}
          {loaded === null && <Typography textColor="danger600">{formatMessage(t('audit.load-failed', 'The events could not be loaded.'))}</Typography>}
          {loaded?.events.length === 0 && (
            <Typography textColor="neutral600">{formatMessage(t('audit.empty', 'No events match these filters.'))}</Typography>
          )}
          {!!loaded?.events.length && <AuditEventsTable events={loaded.events} actors={loaded.actors} onOpen={setOpen} />}
          {loaded?.next && (
            <Flex justifyContent="center">
              <Button variant="secondary" loading={loadingMore} onClick={more}>
                {formatMessage(t('audit.more', 'Load more'))}
              </Button>
            </Flex>
          )}
        </Flex>
      </Layouts.Content>
      {open && loaded && <AuditEventDetail event={open} actors={loaded.actors} onClose={() => setOpen(null)} />}
    </Page.Main>
  );
};

const ProtectedAuditLogPage = () => (
  <Page.Protect permissions={PERMISSIONS.audit}>
    <AuditLogPage />
  </Page.Protect>
);

export default ProtectedAuditLogPage;
