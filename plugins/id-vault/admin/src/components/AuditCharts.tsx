import * as React from 'react';
import { Box, Flex, Grid, Loader, Typography } from '@strapi/design-system';
import type { ChartData } from 'chart.js';
import { useIntl } from 'react-intl';
import { useTheme } from 'styled-components';
import { actorName, type AuditStats } from '../audit';
import { t, useVaultApi } from '../utils';
import { BarChart } from './BarChart';

const DAYS = 30;
/** Actions with a colour of their own in the per-day chart; the rest are stacked as "Other". */
const TOP_ACTIONS = 6;
const DAY = 86400000;

/** The server groups by the UTC day of `occurredAt`, from the day `days` ago through today. */
const dayRange = (days: number) =>
  Array.from({ length: days + 1 }, (_, i) => new Date(Date.now() - (days - i) * DAY).toISOString().slice(0, 10));

const Card = ({ title, children }: { title: string; children: React.ReactNode }) => (
  <Box background="neutral0" hasRadius shadow="filterShadow" padding={4} height="100%">
    <Flex direction="column" alignItems="stretch" gap={3}>
      <Typography variant="delta" tag="h2">
        {title}
      </Typography>
      {children}
    </Flex>
  </Box>
);

/** The last 30 days: events per day stacked by action, and who viewed and revealed the most. */
export const AuditCharts = () => {
  const { formatMessage, formatDate } = useIntl();
  const { colors } = useTheme();
  const { get, run } = useVaultApi();
  // undefined while loading, null when loading failed
  const [stats, setStats] = React.useState<AuditStats | null>();

  React.useEffect(() => {
    run(get<{ data: AuditStats }>('/id-vault/audit-log/stats', { params: { days: DAYS } })).then((res) => setStats(res?.data ?? null));
  }, [get, run]);

  const perDay = React.useMemo((): ChartData<'bar', number[], string> | null => {
    if (!stats?.perDay.length) return null;
    const totals = new Map<string, number>();
    for (const r of stats.perDay) totals.set(r.action, (totals.get(r.action) ?? 0) + r.count);
    const top = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP_ACTIONS).map(([action]) => action);
    const palette = [colors.primary600, colors.success500, colors.warning500, colors.danger500, colors.secondary500, colors.alternative500];
    const days = dayRange(stats.days);
    const series = (match: (action: string) => boolean) =>
      days.map((day) => stats.perDay.filter((r) => r.day === day && match(r.action)).reduce((n, r) => n + r.count, 0));
    const datasets = top.map((action, i) => ({ label: action, data: series((a) => a === action), backgroundColor: palette[i] }));
    if (totals.size > top.length) {
      const other = formatMessage(t('audit.charts.other', 'Other'));
      datasets.push({ label: other, data: series((a) => !top.includes(a)), backgroundColor: colors.neutral400 });
    }
    return { labels: days.map((d) => formatDate(d, { month: 'short', day: 'numeric', timeZone: 'UTC' })), datasets };
  }, [stats, colors, formatMessage, formatDate]);

  const topActors = React.useMemo((): ChartData<'bar', number[], string> | null => {
    if (!stats?.topActors.length) return null;
    return {
      labels: stats.topActors.map((a) => actorName(formatMessage, stats.actors, a)),
      datasets: [
        { label: formatMessage(t('audit.charts.views', 'Views')), data: stats.topActors.map((a) => a.views), backgroundColor: colors.primary600 },
        { label: formatMessage(t('audit.charts.reveals', 'Reveals')), data: stats.topActors.map((a) => a.reveals), backgroundColor: colors.danger500 },
      ],
    };
  }, [stats, colors, formatMessage]);

  const empty = (
    <Typography variant="pi" textColor="neutral600">
      {formatMessage(t('audit.charts.empty', 'No events in the last {days} days.'), { days: DAYS })}
    </Typography>
  );
  const body = (chart: React.ReactNode) => {
    if (stats === undefined) return <Loader small>{formatMessage(t('scans.loading', 'Loading'))}</Loader>;
    if (stats === null) {
      return <Typography textColor="danger600">{formatMessage(t('audit.charts.load-failed', 'The charts could not be loaded.'))}</Typography>;
    }
    return chart ?? empty;
  };

  const perDayTitle = formatMessage(t('audit.charts.per-day', 'Events per day, last {days} days'), { days: DAYS });
  const actorsTitle = formatMessage(t('audit.charts.top-actors', 'Top actors by views and reveals, last {days} days'), { days: DAYS });
  return (
    <Grid.Root gap={4}>
      <Grid.Item col={7} s={12} direction="column" alignItems="stretch">
        <Card title={perDayTitle}>{body(perDay && <BarChart data={perDay} label={perDayTitle} />)}</Card>
      </Grid.Item>
      <Grid.Item col={5} s={12} direction="column" alignItems="stretch">
        <Card title={actorsTitle}>{body(topActors && <BarChart data={topActors} label={actorsTitle} horizontal />)}</Card>
      </Grid.Item>
    </Grid.Root>
  );
};
