// Documents between agencies: the share sent electronically only, per month against the target, and per
// receiving agency what it processed late and what is still open past its due date. Shares, verdicts and
// the agencies' order are the API's (/v1/kpi/documents).
import { shareBars } from '../charts.js';
import { $, fill, h, metClass, metPill, num, setFigure, setText } from '../dom.js';
import { fmt, t } from '../i18n.js';

export const sources = ['documents'];

const MONTHS_SHOWN = 24;

function receiver(r) {
  const f = fmt();
  const name = r.name || r.agency || '—';
  return h('tr', { 'data-agency': r.agency || '', title: t('docLinkTitle', { name, onTime: f.int(r.on_time),
    refused: f.int(r.refused) }) },
  h('td', {}, h('span', { class: 'agency-name', text: name }), h('span', { class: 'agency-code', text: r.agency || '' })),
  h('td', { class: 'num', text: f.int(r.processed) }),
  h('td', { class: num(r.late) > 0 ? 'num strong' : 'num', 'data-role': 'late', text: f.int(r.late) }),
  h('td', { class: 'num', text: num(r.late) > 0 ? f.int(r.days_late_max) : '—' }),
  h('td', { class: 'num', text: f.int(r.open) }),
  h('td', { class: num(r.open_late) > 0 ? 'num txt-notmet' : 'num muted', 'data-role': 'open-late',
    text: f.int(r.open_late) }));
}

export function render({ data }) {
  const f = fmt();
  const d = data.documents || {};
  const c = d.cumulative || {};
  const share = $('[data-testid="documents-share"]');
  setFigure(share, f.percent(c.electronic_share), c.electronic_share);
  share.className = `doc-share ${metClass(c.electronic_met)}`;
  metPill($('#doc-met'), c.electronic_met); // null before any document: nothing to judge
  const target = f.target(c.electronic_target);
  setText($('#doc-sub'), num(c.documents) > 0
    ? t('docSub', { electronic: f.int(c.electronic), documents: f.int(c.documents), revoked: f.int(c.revoked),
      target, asof: f.dateTime(d.as_of) })
    : t('docSubNone', { target }));
  shareBars($('#doc-chart'), {
    periods: (d.monthly || []).slice(-MONTHS_SHOWN).map((m) => ({ period: m.month, ...m })),
    yLabel: (v) => f.target(v), periodLabel: f.month, noData: t('noData'),
    target: c.electronic_target, targetText: t('targetAtLeast', { v: target }),
    title: (m) => t('docBarTitle', { month: f.month(m.month), share: f.percent(m.share),
      electronic: f.int(m.electronic), documents: f.int(m.documents) }),
  });
  const rows = (d.late_by_agency || []).filter(Boolean);
  fill($('#doc-body'), rows.length ? rows.map(receiver)
    : h('tr', {}, h('td', { colspan: 6, class: 'muted empty-row', text: t('noData') })));
}
