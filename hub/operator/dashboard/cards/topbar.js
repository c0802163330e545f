// The top bar and footer: province, clock, platform health, which endpoints fail (their cards dimmed).
import { ENDPOINTS } from '../api.js';
import { $, setText } from '../dom.js';
import { fmt, t } from '../i18n.js';

export const sources = '*'; // redrawn after every answer: it says which endpoints fail

/** The endpoints a card reads (data-source), the connectors card reading two. */
const endpointsOf = (source) => (source === 'connectors' ? ['status', 'info'] : [source]);

export function tick() {
  const now = new Date();
  setText($('#clock-time'), fmt().clock(now));
  setText($('#clock-date'), fmt().longDate(now));
}

function province(connectivity) {
  const name = (connectivity && connectivity.province && connectivity.province.name) || '';
  const heading = $('#province-heading');
  const nameEl = $('#province-name');
  setText(nameEl, name || '—');
  // the heading is a sentence around the name: "Tỉnh {name}" / "{name} Province"
  const [before, after] = t('provinceHeading').split('{name}');
  heading.replaceChildren(before || '', nameEl, after || '');
  heading.style.visibility = name ? '' : 'hidden';
  document.title = name ? t('htmlTitle', { name }) : t('title');
}

function disconnected(failed) {
  const keys = Object.keys(failed).filter((key) => failed[key]);
  const badge = $('[data-testid="disconnected"]');
  badge.hidden = keys.length === 0;
  badge.title = keys.length ? t('disconnectedTitle', { list: keys.map((key) => ENDPOINTS[key]).join(', ') }) : '';
  badge.dataset.failed = keys.join(' ');
  for (const card of document.querySelectorAll('[data-source]')) {
    card.classList.toggle('stale', endpointsOf(card.dataset.source).some((key) => failed[key]));
  }
}

function health(answer, failed) {
  const known = !failed && answer && (answer.status === 'ok' || answer.status === 'degraded');
  const status = known ? answer.status : 'unknown';
  $('[data-testid="health"]').dataset.status = status;
  setText($('#health-label'), t({ ok: 'healthOk', degraded: 'healthDegraded', unknown: 'healthUnknown' }[status]));
}

export function render({ data, failed, lastOk }) {
  province(data.connectivity);
  tick();
  disconnected(failed);
  health(data.health, failed.health);
  setText($('#last-update'), lastOk ? t('lastUpdate', { time: fmt().clock(lastOk) }) : '');
}
