// The hub's JSON endpoints, each polled on its own loop: a slow one (the connector statuses) never
// holds the others back. `feed` keeps the last good answer of each and which ones failed.
export const ENDPOINTS = {
  connectivity: '/v1/kpi/connectivity',
  dossiers: '/v1/kpi/dossiers',
  documents: '/v1/kpi/documents',
  throughput: '/v1/stats/throughput',
  status: '/v1/connectors?expand=status',
  info: '/v1/connectors?expand=info',
  dlq: '/v1/dlq/summary',
  services: '/v1/services',
  agreements: '/v1/stats/agreements',
  health: '/v1/health',
};

const POLL_MS = 2000;
const TIMEOUT_MS = 10000;

export const feed = {
  data: {}, // endpoint key → last good body
  failed: {}, // endpoint key → true when the last attempt failed
  lastOk: null, // Date of the last good answer
};

async function getJSON(url) {
  const response = await fetch(url, {
    headers: { accept: 'application/json' }, cache: 'no-store', signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const body = await response.json().catch(() => null);
  return { ok: response.ok, status: response.status, body };
}

/** One endpoint, read once: its answer kept, or the failure noted. True when there is an answer. */
async function readOnce(key) {
  const answer = await getJSON(ENDPOINTS[key]).catch(() => null);
  // /v1/health answers 503 with a body when degraded: that is an answer, not a failure
  const usable = Boolean(answer && answer.body && typeof answer.body === 'object'
    && (answer.ok || (key === 'health' && answer.status === 503)));
  feed.failed[key] = !usable;
  if (usable) {
    feed.data[key] = answer.body;
    feed.lastOk = new Date();
  }
  return usable;
}

/** Polls every endpoint; `answered(key, usable)` after each attempt. */
export function pollAll(answered) {
  const loop = (key) => readOnce(key)
    .then((usable) => answered(key, usable))
    .catch((err) => console.warn('dashboard: poll', key, err))
    .finally(() => setTimeout(() => loop(key), POLL_MS));
  for (const key of Object.keys(ENDPOINTS)) loop(key);
}
