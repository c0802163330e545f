// The AsyncAPI page: fetches /v1/asyncapi.json and lists its channels, operations and messages.
// Every string from the document goes in as text, never as markup.

const $ = (selector) => document.querySelector(selector);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === 'text') el.textContent = value;
    else if (value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined));
  return el;
}

/** The last segment of a local `$ref` ("#/channels/ingress/messages/x" → "x"). */
const refName = (ref) => decodeURIComponent(String(ref?.$ref ?? '').split('/').pop());

const names = (refs) => h('div', { class: 'names code' }, (refs || []).map((ref) => h('span', { text: refName(ref) })));

function channelCell(doc, ref) {
  const id = refName(ref);
  return h('td', null, h('span', { class: 'code nowrap', text: doc.channels?.[id]?.address ?? id }));
}

function renderServers(doc) {
  $('#info-description').textContent = doc.info?.description ?? '';
  $('#servers').replaceChildren(...Object.entries(doc.servers || {}).map(([id, server]) =>
    h('li', null, h('span', { class: 'code', text: `${server.protocol}://${server.host}` }),
      h('span', { class: 'muted', text: ` (${id})` }))));
}

function renderChannels(doc) {
  const rows = Object.entries(doc.channels || {}).map(([id, channel]) => h('tr', { 'data-channel': id },
    h('td', null, h('div', { class: 'strong', text: channel.title ?? id }), h('div', { class: 'muted small', text: channel.description ?? '' })),
    h('td', null, h('span', { class: 'code nowrap', text: channel.address ?? '(dynamic)' })),
    h('td', null, names(Object.keys(channel.messages || {}).map((name) => ({ $ref: name })))),
  ));
  $('[data-testid=channels] tbody').replaceChildren(...rows);
}

function renderOperations(doc) {
  const rows = Object.entries(doc.operations || {}).map(([id, op]) => h('tr', { 'data-operation': id },
    h('td', null, h('div', { class: 'strong', text: op.title ?? id }), h('div', { class: 'muted small', text: op.summary ?? '' })),
    h('td', null, h('span', { class: `action-${op.action}`, text: op.action })),
    channelCell(doc, op.channel),
    h('td', null, names(op.messages)),
    op.reply
      ? h('td', { 'data-reply': '' }, h('div', { class: 'code', text: `→ ${doc.channels?.[refName(op.reply.channel)]?.address ?? ''}` }), names(op.reply.messages))
      : h('td', { class: 'muted', text: '—' }),
  ));
  $('[data-testid=operations] tbody').replaceChildren(...rows);
}

/** What to show of a message: its type's schema when the payload is an envelope around one, else the payload. */
function schemaOf(doc, message) {
  const inner = message.payload?.allOf?.[1]?.properties?.payload;
  return inner?.$ref ? doc.components?.schemas?.[refName(inner)] : message.payload;
}

function contract(title, summary, schema, testid) {
  return h('details', { class: 'contract', 'data-message': testid },
    h('summary', null, h('span', { class: 'strong code', text: title }), h('span', { class: 'muted small', text: summary ?? '' })),
    h('pre', { text: JSON.stringify(schema, null, 2) }));
}

function renderMessages(doc) {
  const messages = Object.entries(doc.components?.messages || {}).map(([name, message]) =>
    contract(message.title ?? name, message.summary, schemaOf(doc, message), name));
  const envelope = contract('Envelope', 'Around every payload: routing metadata', doc.components?.schemas?.Envelope, 'Envelope');
  $('#messages').replaceChildren(envelope, ...messages);
}

async function load() {
  try {
    const response = await fetch('/v1/asyncapi.json', { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`GET /v1/asyncapi.json: HTTP ${response.status}`);
    const doc = await response.json();
    $('#spec-version').textContent = doc.asyncapi;
    renderServers(doc);
    renderChannels(doc);
    renderOperations(doc);
    renderMessages(doc);
  } catch (error) {
    const box = $('[data-testid=load-error]');
    box.textContent = String(error.message || error);
    box.hidden = false;
  }
}

load();
