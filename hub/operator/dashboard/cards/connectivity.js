// The connectivity card: the share of systems connected against the target, per level, and when the
// target is reached at this trend. Every verdict (met, near the target) is the API's.
import { gauge } from '../charts.js';
import { $, fill, h, isNumber, metClass, metPill, setText, widthOf } from '../dom.js';
import { fmt, t, term } from '../i18n.js';

export const sources = ['connectivity'];

const tone = (c) => (c.met === true ? 'met' : c.near_target ? 'near' : c.met === false ? 'notmet' : 'none');

function drawGauge(c) {
  const f = fmt();
  gauge($('[data-testid="gauge"]'), {
    share: c.share, target: c.target, tone: tone(c),
    texts: { share: f.percent(c.share), target: f.target(c.target), low: f.target(0), high: f.target(1),
      label: t('gaugeLabel', { share: f.percent(c.share), target: f.target(c.target) }) },
  });
}

function level(row, target) {
  const f = fmt();
  return h('div', { class: 'level', 'data-level': row.level, 'data-value': isNumber(row.share) ? row.share : '' },
    h('div', { class: 'level-name', text: term('levels', row.level) }),
    h('div', { class: 'level-bar' },
      h('div', { class: `level-fill ${metClass(row.met)}`, style: widthOf(row.share) }),
      isNumber(target) ? h('div', { class: 'level-target', style: `left:${(target * 100).toFixed(1)}%` }) : null),
    h('div', { class: 'level-nums' }, row.total
      ? [h('strong', { text: f.percent(row.share) }),
        h('span', { class: 'muted', text: ` ${f.int(row.connected)}/${f.int(row.total)}` })]
      : h('span', { class: 'muted', text: t('levelNone') })));
}

const PROJECTION = {
  met: { key: 'projMet', tone: 'is-met' },
  reached_at: { key: 'projReached', tone: 'is-warn' },
  not_at_this_trend: { key: 'projNot', tone: 'is-notmet' },
  too_little_history: { key: 'projLittle', tone: '' },
};

function projection(c) {
  const f = fmt();
  const p = c.projection || {};
  const shown = PROJECTION[p.status];
  const slope = isNumber(p.slope_per_day) ? t('slopeUnit', { v: f.points(p.slope_per_day * 100) }) : '—';
  const el = $('#conn-projection');
  el.className = `projection ${shown ? shown.tone : ''}`.trim();
  el.dataset.status = p.status || '';
  setText(el, shown ? t(shown.key, { target: f.target(c.target), slope, date: f.date(p.reached_at) }) : '');
}

export function render({ data }) {
  const c = data.connectivity;
  if (!c) {
    drawGauge({});
    return;
  }
  const f = fmt();
  drawGauge(c);
  metPill($('#conn-met'), c.met);
  setText($('#conn-count'), t('systemsCount', { connected: f.int(c.connected), total: f.int(c.total) }));
  fill($('#conn-levels'), (c.by_level || []).map((row) => level(row, c.target)));
  projection(c);
  const windowText = isNumber(c.window_seconds) ? t('connWindow', { window: f.duration(c.window_seconds) }) : '';
  setText($('#conn-window'), windowText);
}
