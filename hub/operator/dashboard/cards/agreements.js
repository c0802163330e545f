// Data-sharing agreements per connector, in the API's order (deliveries withheld first): its agreements in
// force, those no longer (or not yet) in force, and the deliveries withheld from it for want of one in force.
import { $, fill, h, num, setText } from '../dom.js';
import { fmt, t, term } from '../i18n.js';

export const sources = ['agreements'];

const COLUMNS = 4;

/** One agreement as a chip: which way the data goes, with whom, and why (the state as the API says it). */
function chip(part) {
  const types = (part.types || []).join(', ');
  const way = t(part.role === 'consumer' ? 'agrFrom' : 'agrTo', { who: part.counterpart || '—' });
  const title = t(part.role === 'consumer' ? 'agrReceivesTitle' : 'agrProvidesTitle',
    { types, who: part.counterpart || '—', purpose: part.purpose || '—', state: term('agrStates', part.state) });
  return h('div', { class: `agr-chip agr-${part.in_force ? 'on' : 'off'}`, 'data-agreement': part.id || '',
    'data-state': part.state || '', 'data-role': part.role || '', title },
  h('code', { class: 'agr-id', text: part.id || '' }),
  h('span', { class: 'agr-way', text: way }),
  h('span', { class: 'muted small agr-terms', text: `${types} · ${part.purpose || '—'}` }),
  part.in_force ? null : h('span', { class: 'agr-state', text: term('agrStates', part.state) }));
}

const chips = (parts) => (parts && parts.length ? parts.map(chip) : h('span', { class: 'muted', text: '—' }));

function withheldCell(row) {
  const byType = (row.withheld_by_type || []).map((w) => `${w.type}: ${fmt().int(w.count)}`).join('\n');
  return h('td', { class: row.alert ? 'num txt-notmet strong agr-alert' : 'num', 'data-testid': 'agreement-withheld',
    'data-value': num(row.withheld), title: byType || null, text: fmt().int(row.withheld) });
}

function row(r) {
  return h('tr', { 'data-connector': r.id || '', 'data-alert': String(r.alert === true) },
    h('td', {}, h('div', { class: 'cx-name', text: r.name || r.id || '—' }),
      h('div', { class: 'muted small' }, h('code', { class: 'cx-id', text: r.id || '' }),
        r.agency ? ` ${r.agency}` : null)),
    h('td', { 'data-role': 'in-force' }, chips(r.in_force)),
    h('td', { 'data-role': 'not-in-force' }, chips(r.not_in_force)),
    withheldCell(r));
}

export function render({ data }) {
  const shown = data.agreements;
  const rows = shown && Array.isArray(shown.connectors) ? shown.connectors.filter(Boolean) : null;
  const f = fmt();
  setText($('#agr-sub'), shown ? t('agrSub', { on: f.int(shown.in_force), off: f.int(shown.not_in_force),
    withheld: f.int(shown.withheld), since: f.dateTime(shown.counted_since) }) : '');
  fill($('#agr-body'), rows && rows.length ? rows.map(row)
    : h('tr', {}, h('td', { colspan: COLUMNS, class: 'muted empty-row', 'data-testid': 'agreements-empty',
      text: t(rows ? 'agrNone' : 'noData') })));
}
