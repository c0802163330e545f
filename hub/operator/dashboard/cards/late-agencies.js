// Late dossiers per agency, in the API's order (most late first), each linking to its late dossiers.
import { $, fill, h, isNumber, num } from '../dom.js';
import { fmt, t } from '../i18n.js';

export const sources = ['dossiers'];

function row(r, widest) {
  const f = fmt();
  const href = `/v1/kpi/dossiers/late?agency=${encodeURIComponent(r.agency || '')}`;
  return h('tr', { 'data-agency': r.agency || '' },
    h('td', {}, h('a', { href, target: '_blank', rel: 'noopener', class: 'agency-link',
      title: t('lateLinkTitle', { name: r.name || r.agency }) },
    h('span', { class: 'agency-name', text: r.name || r.agency || '—' }),
    h('span', { class: 'agency-code', text: r.agency || '' }))),
    h('td', { class: 'num strong', text: f.int(r.late) }),
    h('td', { class: 'num', text: f.int(r.completed) }),
    h('td', { class: 'share-col' }, h('div', { class: 'share-cell' },
      // bars relative to the agency with the largest late share, so the worst stands out
      h('div', { class: 'mini-bar' }, h('div', { class: 'mini-fill',
        style: `width:${((num(r.late_share) / widest) * 100).toFixed(1)}%` })),
      h('span', { class: 'mini-val', 'data-value': isNumber(r.late_share) ? r.late_share : '',
        text: f.percent(r.late_share) }))),
    h('td', { class: num(r.open_late) > 0 ? 'num txt-notmet' : 'num muted', text: f.int(r.open_late) }));
}

export function render({ data }) {
  const rows = ((data.dossiers && data.dossiers.late_by_agency) || []).filter(Boolean);
  const widest = Math.max(0.0001, ...rows.map((r) => num(r.late_share)));
  fill($('#late-body'), rows.length ? rows.map((r) => row(r, widest))
    : h('tr', {}, h('td', { colspan: 5, class: 'muted empty-row', text: t('noData') })));
}
