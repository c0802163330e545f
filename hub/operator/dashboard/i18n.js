// The page's language: its words (i18n/*.js), its number and date formats, the switch between them.
import { formatter } from './format.js';
import en from './i18n/en.js';
import vi from './i18n/vi.js';

const WORDS = { vi, en };
const DEFAULT = 'vi';
const STORAGE_KEY = 'lgsp.dashboard.lang';

let current = stored();
let formats = formatter(WORDS[current].locale);

function stored() {
  try {
    const lang = window.localStorage.getItem(STORAGE_KEY);
    return Object.hasOwn(WORDS, lang) ? lang : DEFAULT;
  } catch (_) {
    return DEFAULT; // storage refused (private mode): the default language
  }
}

/** The formatters of the current language. */
export const fmt = () => formats;

function setLang(next) {
  current = Object.hasOwn(WORDS, next) ? next : DEFAULT;
  formats = formatter(WORDS[current].locale);
  try { window.localStorage.setItem(STORAGE_KEY, current); } catch (_) { /* kept for this visit only */ }
}

/** The word for `key`, its {placeholders} filled; a table of words (levels, states) as it is. */
export function t(key, vars) {
  const word = WORDS[current][key] ?? WORDS[DEFAULT][key] ?? key;
  if (typeof word !== 'string' || !vars) return word;
  return word.replace(/\{(\w+)\}/g, (hole, name) => (vars[name] == null ? hole : String(vars[name])));
}

/** One entry of a table of words, or the code itself when the table lacks it. */
export const term = (table, code) => (t(table) || {})[code] || code;

/** The fixed labels (data-i18n) and the switch itself, in the current language. */
export function translatePage() {
  document.documentElement.lang = current;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  const toggle = document.querySelector('[data-testid="lang-switch"]');
  toggle.dataset.lang = current;
  toggle.title = t('langSwitch');
  toggle.setAttribute('aria-label', t('langSwitch'));
  for (const opt of toggle.querySelectorAll('.lang-opt')) opt.classList.toggle('active', opt.dataset.opt === current);
}

/** Clicking a language picks it; clicking elsewhere on the switch goes to the other one. */
export function onSwitch(changed) {
  const toggle = document.querySelector('[data-testid="lang-switch"]');
  toggle.addEventListener('click', (event) => {
    const opt = event.target.closest('.lang-opt');
    setLang(opt && opt.dataset.opt !== current ? opt.dataset.opt : current === 'vi' ? 'en' : 'vi');
    changed();
  });
}
