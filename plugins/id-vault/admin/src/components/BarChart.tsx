import * as React from 'react';
import { Box } from '@strapi/design-system';
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip, type ChartData } from 'chart.js';
import { useTheme } from 'styled-components';

// Only what bar charts need: importing components one by one (not chart.js/auto) lets the bundler drop the rest.
Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

interface Props {
  data: ChartData<'bar', number[], string>;
  /** What the chart shows, for screen readers (a canvas has no text of its own). */
  label: string;
  /** Bars along the y axis: long labels (names) stay readable. */
  horizontal?: boolean;
}

/** A stacked bar chart on a canvas, in the admin theme's text and grid colours (light or dark). */
export const BarChart = ({ data, label, horizontal = false }: Props) => {
  const canvas = React.useRef<HTMLCanvasElement>(null);
  const { colors } = useTheme();

  // Built anew when the data changes rather than updated: it changes once per load, and a fresh chart
  // needs no diffing of datasets.
  React.useEffect(() => {
    const axis = { stacked: true, ticks: { color: colors.neutral600 }, grid: { color: colors.neutral150 } };
    const count = { ...axis, beginAtZero: true, ticks: { ...axis.ticks, precision: 0 } };
    const chart = new Chart(canvas.current!, {
      type: 'bar',
      data,
      options: {
        indexAxis: horizontal ? 'y' : 'x',
        responsive: true,
        maintainAspectRatio: false,
        scales: horizontal
          ? { x: count, y: { ...axis, grid: { display: false } } }
          : // Level labels, thinned out as needed: rotated ones would eat the plot's height.
            { x: { ...axis, grid: { display: false }, ticks: { ...axis.ticks, maxRotation: 0 } }, y: count },
        plugins: { legend: { position: 'bottom', labels: { color: colors.neutral800, boxWidth: 12 } } },
      },
    });
    return () => chart.destroy();
  }, [data, horizontal, colors]);

  return (
    <Box position="relative" height="22rem">
      <canvas ref={canvas} role="img" aria-label={label} />
    </Box>
  );
};
