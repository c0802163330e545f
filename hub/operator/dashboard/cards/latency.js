// Route latency, median and 95th percentile, over the last ten minutes.
import { lineChart } from '../charts.js';
import { $, isNumber, nowValues } from '../dom.js';
import { fmt, t } from '../i18n.js';
import { pointsOf, WINDOW_SECONDS } from './throughput.js';

export const sources = ['throughput'];

/** The latest value of a field, skipping points that lack it (no latency without traffic). */
function latest(points, field) {
  for (let i = points.length - 1; i >= 0; i--) if (isNumber(points[i][field])) return points[i][field];
  return null;
}

export function render({ data }) {
  const f = fmt();
  const points = pointsOf(data);
  lineChart($('#lat-chart'), {
    times: points.map((p) => p.t), minSpan: WINDOW_SECONDS, yLabel: f.tick, timeLabel: f.hourMinute,
    noData: t('noData'), area: false, series: [
      { key: 'p95', values: points.map((p) => p.p95_ms) },
      { key: 'p50', values: points.map((p) => p.p50_ms) },
    ],
  });
  nowValues($('#lat-now'), [
    { series: 'p50', label: 'p50', value: f.rate(latest(points, 'p50_ms')), unit: t('ms') },
    { series: 'p95', label: 'p95', value: f.rate(latest(points, 'p95_ms')), unit: t('ms') },
  ]);
}
