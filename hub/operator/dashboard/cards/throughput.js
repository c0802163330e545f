// Routed and rejected messages per second over the last ten minutes (points come in time order).
import { lineChart } from '../charts.js';
import { $, isNumber, nowValues } from '../dom.js';
import { fmt, t } from '../i18n.js';

export const sources = ['throughput'];

export const WINDOW_SECONDS = 600;

/** The throughput points, each with its time; shared with the latency card. */
export const pointsOf = (data) => ((data.throughput && data.throughput.points) || []).filter((p) => p && isNumber(p.t));

export function render({ data }) {
  const f = fmt();
  const points = pointsOf(data);
  lineChart($('#tp-chart'), {
    times: points.map((p) => p.t), minSpan: WINDOW_SECONDS, yLabel: f.tick, timeLabel: f.hourMinute,
    noData: t('noData'), series: [
      { key: 'routed', values: points.map((p) => p.routed_per_s) },
      { key: 'rejected', values: points.map((p) => p.rejected_per_s) },
    ],
  });
  const last = points.at(-1) || {};
  nowValues($('#tp-now'), [
    { series: 'routed', label: t('routed'), value: f.rate(last.routed_per_s), unit: t('perSec') },
    { series: 'rejected', label: t('rejected'), value: f.rate(last.rejected_per_s), unit: t('perSec') },
  ]);
}
