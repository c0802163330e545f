// The "behind" badge on the throughput card: the router's lag grew over the last window (the API says so).
import { $ } from '../dom.js';
import { fmt, t } from '../i18n.js';

export const sources = ['throughput'];

export function render({ data }) {
  const stats = data.throughput || {};
  const badge = $('[data-testid="router-behind"]');
  badge.hidden = stats.behind !== true;
  badge.dataset.lag = stats.router_lag ?? '';
  badge.title = t('routerBehindHelp', { lag: fmt().int(stats.router_lag) });
}
