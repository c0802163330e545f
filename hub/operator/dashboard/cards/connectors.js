// The connectors table: state, last heartbeat, inbox lag and counters of each registered connector.
// /v1/connectors answers a map, in no order: the table puts trouble first (failed, unreachable, paused).
import { $, fill, h, isNumber, num, setText } from '../dom.js';
import { fmt, t, term } from '../i18n.js';

export const sources = ['status', 'info'];

const STATES = ['FAILED', 'UNREACHABLE', 'PAUSED', 'RUNNING']; // trouble first
const LAG_WARNING = 1000; // messages waiting in an inbox before the lag is highlighted

function statePill(state, count) {
  if (!state) return h('span', { class: 'state-pill state-unknown', 'data-state': '' }, '—');
  const label = term('states', state);
  return h('span', { class: `state-pill state-${state.toLowerCase()}`, 'data-state': state, title: state },
    h('span', { class: 'state-dot' }), count === undefined ? label : `${label} · ${count}`);
}

function row(id, status, info) {
  const f = fmt();
  const state = typeof status.state === 'string' ? status.state : '';
  const error = typeof status.last_error === 'string' ? status.last_error
    : status.last_error ? JSON.stringify(status.last_error) : '';
  const owner = [info.agency, info.level && term('levels', info.level)].filter(Boolean).join(' · ');
  return h('tr', { 'data-connector-id': id, 'data-state': state },
    h('td', {}, h('div', { class: 'cx-name', text: info.name || id }),
      info.agency ? h('div', { class: 'muted small', text: owner }) : null),
    h('td', {}, h('code', { class: 'cx-id', text: id })),
    h('td', {}, statePill(state)),
    h('td', { class: 'nowrap', 'data-value': isNumber(status.last_heartbeat) ? status.last_heartbeat : '',
      text: f.ago(status.last_heartbeat, t('never')) }),
    h('td', { class: num(status.inbox_lag) > LAG_WARNING ? 'num txt-warn strong' : 'num',
      text: f.int(status.inbox_lag) }),
    h('td', { class: 'num', text: f.int(status.handled) }),
    h('td', { class: 'num', text: f.int(status.published) }),
    h('td', { class: num(status.failed) > 0 ? 'num txt-notmet strong' : 'num', text: f.int(status.failed) }),
    h('td', { class: 'cx-error' }, error ? h('span', { class: 'err-text', title: error, text: error })
      : h('span', { class: 'muted', text: '—' })));
}

export function render({ data }) {
  const statuses = data.status || {};
  const infos = data.info || {};
  const statusOf = (id) => (statuses[id] && statuses[id].status) || {};
  const rank = (id) => (STATES.includes(statusOf(id).state) ? STATES.indexOf(statusOf(id).state) : STATES.length);
  const ids = [...new Set([...Object.keys(infos), ...Object.keys(statuses)])]
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  fill($('#cx-body'), ids.length
    ? ids.map((id) => row(id, statusOf(id), (infos[id] && infos[id].info) || {}))
    : h('tr', {}, h('td', { colspan: 9, class: 'muted empty-row', text: t('noData') })));
  setText($('#cx-sub'), t('cxSub', { n: fmt().int(ids.length) }));
  const counts = ids.map((id) => statusOf(id).state).filter(Boolean)
    .reduce((acc, state) => ({ ...acc, [state]: (acc[state] || 0) + 1 }), {});
  fill($('#cx-summary'), ['RUNNING', 'PAUSED', 'FAILED', 'UNREACHABLE'].filter((state) => counts[state])
    .map((state) => h('span', { class: 'sum-item' }, statePill(state, counts[state]))));
}
