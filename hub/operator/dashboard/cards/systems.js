// The inventory of systems serving citizens and businesses, in the API's order (not yet connected first).
import { $, fill, h, isNumber, setText } from '../dom.js';
import { fmt, t, term } from '../i18n.js';

export const sources = ['connectivity'];

function lastSeen(system) {
  if (system.connected !== true) return '';
  if (isNumber(system.last_seen)) return fmt().ago(system.last_seen, t('never'));
  return typeof system.last_seen === 'string' ? fmt().dateTime(system.last_seen) : '';
}

function row(system) {
  const on = system.connected === true;
  const state = t(on ? 'sysConnected' : 'sysNotConnected');
  const seen = lastSeen(system);
  const owner = [system.owner_name || system.owner, system.level && term('levels', system.level)];
  return h('tr', { 'data-system-id': system.id, 'data-connected': String(on) },
    h('td', { class: 'sys-dot-cell' }, h('span', { class: `sys-dot ${on ? 'on' : 'off'}`, title: state })),
    h('td', {}, h('div', { class: 'sys-name', text: system.name || system.id }),
      h('div', { class: 'sys-owner muted', text: owner.filter(Boolean).join(' · ') })),
    h('td', { class: 'sys-state' }, h('span', { class: on ? 'txt-met' : 'muted', text: state }),
      seen ? h('div', { class: 'muted small', text: seen }) : null));
}

export function render({ data }) {
  const c = data.connectivity || {};
  const systems = (c.systems || []).filter(Boolean);
  setText($('#sys-sub'), systems.length
    ? t('sysSub', { connected: fmt().int(c.connected), not: fmt().int(c.total - c.connected) }) : '');
  fill($('#sys-body'), systems.map(row));
}
