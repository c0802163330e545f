// The four dossier tiles: online share, signed results, on time vs late, dossiers received. Shares and
// verdicts are the API's (cumulative.*_share, *_met).
import { $, fill, h, isNumber, metClass, metPill, num, setFigure, setText, widthOf } from '../dom.js';
import { fmt, t } from '../i18n.js';

export const sources = ['dossiers'];

function progress(el, share, target, met) {
  fill(el, h('div', { class: `kpi-fill ${metClass(met)}`, style: widthOf(share) }),
    // a target of 100 % is the bar's end: no mark
    isNumber(target) && target < 1 ? h('div', { class: 'kpi-target', style: `left:${(target * 100).toFixed(1)}%` })
      : null);
}

/** A share against its target: the figure, the verdict, the bar and what it counts. */
function shareTile(tile, figure, { share, target, met, detail }) {
  setFigure(figure, fmt().percent(share), share);
  figure.className = `kpi-value ${metClass(met)}`;
  metPill($('[data-role="met"]', tile), met);
  progress($('[data-role="bar"]', tile), share, target, met);
  setText($('[data-role="detail"]', tile), isNumber(share) ? detail : '');
}

function online(c) {
  const f = fmt();
  shareTile($('#kpi-online'), $('[data-testid="online-share"]'), {
    share: c.online_share, target: c.online_target, met: c.online_met,
    detail: `${t('onlineDetail', { online: f.int(c.online), received: f.int(c.received) })} · `
      + t('targetAtLeast', { v: f.target(c.online_target) }),
  });
}

function signed(c) {
  const f = fmt();
  shareTile($('#kpi-signed'), $('[data-testid="signed-share"]'), {
    share: c.signed_share, target: c.signed_target, met: c.signed_met,
    detail: `${t('signedDetail', { signed: f.int(c.signed), results: f.int(c.results) })} · `
      + t('targetShort', { v: f.target(c.signed_target) }),
  });
}

function onTime(c) {
  const f = fmt();
  const tile = $('#kpi-ontime');
  setFigure($('[data-role="value"]', tile), f.percent(c.on_time_share), c.on_time_share);
  setFigure($('[data-testid="late-share"]'), f.percent(c.late_share), c.late_share);
  metPill($('[data-role="met"]', tile), null); // no target for it
  fill($('[data-role="bar"]', tile), num(c.completed) > 0 ? [
    h('div', { class: 'split-ok', style: widthOf(c.on_time_share), title: t('onTimeTitle', { n: f.int(c.on_time) }) }),
    h('div', { class: 'split-late', style: widthOf(c.late_share), title: t('lateTitleBar', { n: f.int(c.late) }) }),
  ] : []);
  setText($('[data-role="detail"]', tile),
    isNumber(c.completed) ? t('lateDetail', { late: f.int(c.late), completed: f.int(c.completed) }) : '');
}

function received(c) {
  const f = fmt();
  setFigure($('[data-testid="dossiers-received"]'), f.int(c.received), c.received);
  const fact = (label, value, alarm = false) => h('div', { class: alarm ? 'fact txt-notmet' : 'fact' },
    h('span', { text: label }), h('strong', { text: f.int(value) }));
  fill($('[data-role="detail"]', $('#kpi-received')), isNumber(c.received) ? [
    fact(t('factCompleted'), c.completed),
    fact(t('factOpen'), c.open),
    fact(t('factOpenLate'), c.open_late, num(c.open_late) > 0),
  ] : []);
}

export function render({ data }) {
  const c = (data.dossiers && data.dossiers.cumulative) || {};
  for (const tile of [online, signed, onTime, received]) tile(c);
}
