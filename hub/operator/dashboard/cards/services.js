// The service catalog: each synchronous service a connector answers, in the API's order, with the figures
// of its calls through this API process (count, failures, p50/p99) and a link to its request schema.
import { $, fill, h, isNumber, num, setText } from '../dom.js';
import { fmt, t } from '../i18n.js';

export const sources = ['services'];

const COLUMNS = 7;

/** A figure's cell, with its raw value (data-value) for tests and tools. */
const figure = (value, text, cls = 'num') => h('td', { class: cls, 'data-value': isNumber(value) ? value : '', text });

/** The hub's own link to the request schema: only a path on the hub is made a link. */
function schemaLink(service) {
  const href = service.schemas && service.schemas.request;
  if (typeof href !== 'string' || !href.startsWith('/v1/')) return h('span', { class: 'muted', text: '—' });
  return h('a', { href, target: '_blank', rel: 'noopener', class: 'svc-schema', 'data-testid': 'service-schema',
    title: t('svcSchemaTitle', { type: service.request }), text: t('svcSchemaLink') });
}

function row(service) {
  const f = fmt();
  return h('tr', { 'data-provider': service.provider || '', 'data-service': service.request || '' },
    h('td', {}, h('div', { class: 'cx-name', text: service.provider_name || service.provider || '—' }),
      h('div', { class: 'muted small svc-provider' }, h('code', { class: 'cx-id', text: service.provider || '' }),
        service.agency ? ` ${service.agency}` : null)),
    h('td', {}, h('div', { class: 'svc-types', 'data-role': 'types' },
      h('code', { class: 'svc-type', text: service.request || '' }), ' → ',
      h('code', { class: 'svc-type', text: service.reply || '' })),
    service.description ? h('div', { class: 'muted small svc-description', text: service.description }) : null),
    figure(service.calls, f.int(service.calls)),
    figure(service.failures, f.int(service.failures), num(service.failures) > 0 ? 'num txt-notmet strong' : 'num'),
    figure(service.p50_ms, f.rate(service.p50_ms)),
    figure(service.p99_ms, f.rate(service.p99_ms)),
    h('td', {}, schemaLink(service)));
}

export function render({ data }) {
  const listed = Array.isArray(data.services) ? data.services.filter(Boolean) : null;
  setText($('#svc-sub'), listed ? t('svcSub', { n: fmt().int(listed.length) }) : '');
  // before the first answer "no data yet"; an answer with no service says that no connector serves one
  fill($('#svc-body'), listed && listed.length ? listed.map(row)
    : h('tr', {}, h('td', { colspan: COLUMNS, class: 'muted empty-row', 'data-testid': 'services-empty',
      text: t(listed ? 'svcNone' : 'noData') })));
}
