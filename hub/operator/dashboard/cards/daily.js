// Dossiers per day: received (the online part inside) and late, the last thirty days.
import { dailyBars } from '../charts.js';
import { $, fill, h, swatch, setText } from '../dom.js';
import { fmt, t } from '../i18n.js';

export const sources = ['dossiers'];

const DAYS_SHOWN = 30;
const LEGEND = { received: 'legendReceived', online: 'legendOnline', late: 'legendLate' }; // series → label

const legend = () => Object.entries(LEGEND).map(([series, label]) =>
  h('span', { class: 'legend-item' }, swatch(series), t(label)));

export function render({ data }) {
  const f = fmt();
  const d = data.dossiers || {};
  const days = (d.daily || []).slice(-DAYS_SHOWN);
  setText($('#daily-sub'), days.length ? t('dailySub', { n: f.int(days.length), asof: f.dateTime(d.as_of) }) : '');
  fill($('#daily-legend'), legend());
  dailyBars($('#daily-chart'), {
    days, yLabel: f.tick, dayLabel: f.day, noData: t('noData'),
    title: (day) => t('dailyBarTitle', { day: f.date(day.day), received: f.int(day.received),
      online: f.int(day.online), late: f.int(day.late) }),
  });
}
