// Small DOM helpers the cards share: build elements, replace children, show a target's verdict.
import { t } from './i18n.js';

export const $ = (selector, root = document) => root.querySelector(selector);

export const isNumber = (v) => typeof v === 'number' && Number.isFinite(v);

/** A number, or 0 for a missing one (for sizes and comparisons, never for what is shown). */
export const num = (v) => (isNumber(v) ? v : 0);

/** An HTML element; attrs skip null/false values, `text` sets the text. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'text') el.textContent = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined && child !== false) el.append(child);
  }
  return el;
}

/** Replaces the element's children. */
export function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** Sets the text only when it changed (no needless layout). */
export function setText(el, text) {
  if (el && el.textContent !== text) el.textContent = text;
}

/** The figure and its raw value (data-value), which tests and tools read. */
export function setFigure(el, text, value) {
  setText(el, text);
  el.dataset.value = isNumber(value) ? value : '';
}

export const metClass = (met) => (met === true ? 'is-met' : met === false ? 'is-notmet' : '');

/** "Met" / "Not met" as the API says it; hidden when there is no verdict. */
export function metPill(el, met) {
  const known = met === true || met === false;
  el.className = 'pill ' + (known ? (met ? 'pill-met' : 'pill-notmet') : 'pill-neutral');
  el.textContent = known ? t(met ? 'met' : 'notMet') : '';
  el.hidden = !known;
  if (known) el.dataset.met = String(met);
  else delete el.dataset.met;
}

/** A share as a bar's width, clamped to 0..100 %. */
export const widthOf = (share) => `width:${(Math.max(0, Math.min(1, num(share))) * 100).toFixed(1)}%`;

/** A legend's colour chip: the series' CSS variable. */
export const swatch = (series, line = false) =>
  h('span', { class: line ? 'swatch line' : 'swatch', style: `background:var(--series-${series})` });

/** The latest values beside a chart's title: [{series, label, value, unit}], values already formatted. */
export function nowValues(el, items) {
  fill(el, items.map(({ series, label, value, unit }) => h('div', { class: 'now', 'data-now': series },
    h('div', { class: 'now-label' }, swatch(series, true), label),
    h('div', { class: 'now-value' }, value, h('span', { class: 'unit', text: ` ${unit}` })))));
}
