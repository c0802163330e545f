// Platform health: the dead letters waiting, and each component's check.
import { $, fill, h, isNumber, num, setFigure } from '../dom.js';
import { fmt, t, term } from '../i18n.js';

export const sources = ['dlq', 'health'];

const CHECK_STATE = { ok: 'checkOk', fail: 'checkFail', na: 'checkNA' };

function check(name, passed) {
  const status = passed === true ? 'ok' : passed === false ? 'fail' : 'na';
  return h('li', { class: 'check', 'data-check': name, 'data-status': status },
    h('span', { class: 'check-dot' }),
    h('span', { class: 'check-name', text: term('checks', name) }),
    h('span', { class: 'check-state', text: t(CHECK_STATE[status]) }));
}

export function render({ data }) {
  const total = data.dlq && isNumber(data.dlq.total) ? data.dlq.total : null;
  setFigure($('[data-testid="dlq-count"]'), fmt().int(total), total);
  $('[data-testid="dlq-link"]').classList.toggle('has-letters', num(total) > 0);
  const checks = (data.health && data.health.checks) || {};
  fill($('#health-checks'), Object.entries(checks).map(([name, passed]) => check(name, passed)));
}
