// Route latency, median and 99th percentile, over the last ten minutes.
import { lineChart } from '../charts.js';
import { $, fill, h, isNumber, nowValues, swatch } from '../dom.js';
import { fmt, t } from '../i18n.js';
import { pointsOf, WINDOW_SECONDS } from './throughput.js';

export const sources = ['throughput'];

const LEGEND = { p50: 'legendP50', p99: 'legendP99' }; // series → label

const legend = () => Object.entries(LEGEND).map(([series, label]) =>
  h('span', { class: 'legend-item', 'data-legend': series }, swatch(series, true), t(label)));

/** The latest value of a field, skipping points that lack it (no latency without traffic). */
function latest(points, field) {
  for (let i = points.length - 1; i >= 0; i--) if (isNumber(points[i][field])) return points[i][field];
  return null;
}

export function render({ data }) {
  const f = fmt();
  const points = pointsOf(data);
  fill($('#lat-legend'), legend());
  lineChart($('#lat-chart'), {
    times: points.map((p) => p.t), minSpan: WINDOW_SECONDS, yLabel: f.tick, timeLabel: f.hourMinute,
    noData: t('noData'), area: false, series: [
      { key: 'p99', values: points.map((p) => p.p99_ms) },
      { key: 'p50', values: points.map((p) => p.p50_ms) },
    ],
  });
  nowValues($('#lat-now'), [
    { series: 'p50', label: 'p50', value: f.rate(latest(points, 'p50_ms')), unit: t('ms') },
    { series: 'p99', label: 'p99', value: f.rate(latest(points, 'p99_ms')), unit: t('ms') },
  ]);
}
