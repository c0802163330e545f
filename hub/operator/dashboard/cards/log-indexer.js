// The message log's lag beside the throughput: decisions on the decisions topic not in the store yet.
import { $, setFigure } from '../dom.js';
import { fmt, t } from '../i18n.js';

export const sources = ['throughput'];

export function render({ data }) {
  const indexer = (data.throughput && data.throughput.log_indexer) || {};
  const lag = indexer.running ? indexer.lag : null;
  setFigure($('[data-testid="log-lag"]'), fmt().int(lag), lag);
  $('[data-testid="log-lag-box"]').title = t(indexer.running ? 'logLagHelp' : 'logLagOff');
}
