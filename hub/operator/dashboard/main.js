// The operator dashboard: polls the hub's JSON endpoints (api.js) and redraws the cards each answer
// feeds. A card module says which endpoints it reads (`sources`) and draws them (`render(feed)`).
import { feed, pollAll } from './api.js';
import * as connectivity from './cards/connectivity.js';
import * as agreements from './cards/agreements.js';
import * as connectors from './cards/connectors.js';
import * as daily from './cards/daily.js';
import * as documents from './cards/documents.js';
import * as dossierTiles from './cards/dossier-tiles.js';
import * as lateAgencies from './cards/late-agencies.js';
import * as logIndexer from './cards/log-indexer.js';
import * as latency from './cards/latency.js';
import * as platform from './cards/platform.js';
import * as routerBehind from './cards/router-behind.js';
import * as services from './cards/services.js';
import * as systems from './cards/systems.js';
import * as throughput from './cards/throughput.js';
import * as topbar from './cards/topbar.js';
import { onSwitch, translatePage } from './i18n.js';

const CARDS = { topbar, connectivity, dossierTiles, daily, documents, throughput, routerBehind, logIndexer, latency, platform,
  connectors, services, agreements, lateAgencies, systems };
const RESIZE_SETTLE_MS = 150;

/** Draws each card; one card's error never keeps the others from drawing. */
function draw(names) {
  for (const name of names) {
    try {
      CARDS[name].render(feed);
    } catch (err) {
      console.warn('dashboard:', name, err);
    }
  }
}

const drawAll = () => draw(Object.keys(CARDS));

/** After an answer: the cards fed by it, or by nothing yet (so they show their empty state). */
function answered(key, usable) {
  draw(Object.keys(CARDS).filter((name) => {
    const { sources } = CARDS[name];
    return sources === '*' || (sources.includes(key) && (usable || !feed.data[key]));
  }));
}

function start() {
  translatePage();
  onSwitch(() => {
    translatePage();
    drawAll();
  });
  drawAll();
  setInterval(topbar.tick, 1000);
  let settle = null;
  window.addEventListener('resize', () => {
    clearTimeout(settle);
    settle = setTimeout(drawAll, RESIZE_SETTLE_MS);
  });
  pollAll(answered);
}

start(); // a module runs once the document is parsed
