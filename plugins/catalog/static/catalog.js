// SkyDNS catalog page: plain DOM, no framework, no build step.
// Follows GET /catalog/watch (Server-Sent Events; the browser's EventSource
// reconnects by itself with Last-Event-ID), keeps the services in a Map and
// redraws the list when it changes; TTLs count down once a second.
'use strict';

const ORDER = ['uuid', 'host', 'region', 'version', 'name', 'environment'];
const ANY = new Set(['any', '*']);
const services = new Map(); // UUID (lowercased) -> service JSON
const openAnswers = new Set(); // "name.environment" of the open answer panels
const answerCache = new Map(); // "name.environment" -> the last answer body, shown while asking again
const answerAsked = new Map(); // "name.environment" -> when it was last asked (ms)
let zone = 'skydns.local';
let secretNeeded = false;
let drawPending = false;

const $ = (id) => document.getElementById(id);

/** A value as it appears in a DNS label (as the server's toLabel). */
function toLabel(v) {
  return String(v).toLowerCase().replace(/[.:]/g, '-');
}

function labelsOf(s) {
  return { uuid: toLabel(s.UUID), host: toLabel(s.Host), region: toLabel(s.Region), version: toLabel(s.Version), name: toLabel(s.Name), environment: toLabel(s.Environment) };
}

/** The filter as a pattern: labels right-aligned to the field order; null when it cannot match. */
function parseFilter(text) {
  const t = text.trim().replace(/\.$/, '').toLowerCase();
  if (t === '') return {};
  const labels = t.split('.');
  if (labels.length > ORDER.length || labels.some((l) => l === '')) return null;
  const p = {};
  const off = ORDER.length - labels.length;
  labels.forEach((l, i) => { if (!ANY.has(l)) p[ORDER[off + i]] = l; });
  return p;
}

function matches(p, s) {
  const l = labelsOf(s);
  return Object.keys(p).every((k) => l[k] === p[k]);
}

function remaining(s) {
  if (!s.Expires) return null; // NoExpire
  return Math.max(0, Math.ceil((Date.parse(s.Expires) - Date.now()) / 1000));
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function say(text, kind) {
  const m = $('message');
  m.textContent = text;
  if (kind) m.dataset.kind = kind; else delete m.dataset.kind;
}

function schedule() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => { drawPending = false; draw(); });
}

function draw() {
  const box = $('services');
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : undefined;
  const pattern = parseFilter($('filter').value);
  $('filter').setAttribute('aria-invalid', pattern === null ? 'true' : 'false');
  const shown = pattern === null ? [] : [...services.values()].filter((s) => matches(pattern, s));
  const byEnv = new Map();
  for (const s of shown) {
    const env = toLabel(s.Environment);
    const name = toLabel(s.Name);
    if (!byEnv.has(env)) byEnv.set(env, new Map());
    const names = byEnv.get(env);
    if (!names.has(name)) names.set(name, []);
    names.get(name).push(s);
  }
  const out = [];
  for (const env of [...byEnv.keys()].sort()) {
    const section = el('section', { 'aria-labelledby': `env-${env}` }, el('h2', { id: `env-${env}`, text: `Environment ${env}` }));
    const names = byEnv.get(env);
    for (const name of [...names.keys()].sort()) section.append(serviceBox(env, name, names.get(name).sort((a, b) => (a.UUID < b.UUID ? -1 : 1))));
    out.push(section);
  }
  if (out.length === 0) out.push(el('p', { class: 'empty', text: pattern === null ? 'The filter is not a valid DNS-style pattern.' : services.size === 0 ? 'No services are registered.' : 'No service matches the filter.' }));
  box.replaceChildren(...out);
  $('summary').textContent = `${shown.length} of ${services.size} instance${services.size === 1 ? '' : 's'} shown`;
  if (focused) {
    const again = box.querySelector(`[data-key="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
  for (const key of openAnswers) loadAnswers(key);
}

function serviceBox(env, name, list) {
  const key = `${name}.${env}`;
  const fq = `${key}.${zone}.`;
  const rows = list.map((s) => {
    const ttl = remaining(s);
    return el('tr', { 'data-uuid': s.UUID },
      el('td', { class: 'mono', text: s.UUID }),
      el('td', { text: s.Region }),
      el('td', { text: s.Version }),
      el('td', { class: 'mono', text: s.Host }),
      el('td', { text: String(s.Port) }),
      el('td', { class: 'ttl', 'data-expires': s.Expires || null, 'data-low': ttl !== null && ttl <= 5, text: ttl === null ? 'never expires' : `${ttl} s` }),
      el('td', {}, el('button', { type: 'button', class: 'danger', 'data-key': `del-${s.UUID}`, 'aria-label': `Deregister ${s.UUID}`, onclick: () => deregister(s.UUID), text: 'Deregister' })));
  });
  const head = el('tr', {}, ...['UUID', 'Region', 'Version', 'Host', 'Port', 'TTL left', 'Action'].map((h) => el('th', { scope: 'col', text: h })));
  const details = el('details', { 'data-answers': key, open: openAnswers.has(key), ontoggle: (e) => {
    if (e.target.open) { openAnswers.add(key); loadAnswers(key, true); } else openAnswers.delete(key);
  } }, el('summary', { 'data-key': `ans-${key}`, text: 'What SkyDNS answers now' }), el('div', { class: 'answers', 'aria-live': 'polite' }, ...answerNodes(answerCache.get(key))));
  return el('article', { class: 'service', 'aria-labelledby': `svc-${key}` },
    el('h3', { id: `svc-${key}`, text: `${name} (${list.length} instance${list.length === 1 ? '' : 's'})` }),
    el('ul', { class: 'names', 'aria-label': 'DNS names to query' },
      el('li', {}, 'SRV ', el('code', { text: fq }), ' (instances in one region: ', el('code', { text: `<region>.*.${fq}` }), ')'),
      el('li', {}, 'A/AAAA ', el('code', { text: fq }))),
    el('table', {}, el('caption', { class: 'vh', text: `Instances of ${key}` }), el('thead', {}, head), el('tbody', {}, ...rows)),
    details);
}

function answerNodes(body) {
  if (!body) return ['Asking…'];
  const parts = [];
  for (const q of body.queries) {
    const lines = [...q.answers, ...q.additionals.map((a) => `${a}   ; additional`)];
    parts.push(el('p', {}, el('strong', { text: `${q.type} ${q.name}` }), ` ${q.rcode}`), el('pre', { class: 'mono', text: lines.length ? lines.join('\n') : '(no records)' }));
  }
  return parts;
}

/** Asks the server what DNS answers for a service now (at most once a second per service while its panel is open). */
async function loadAnswers(key, force) {
  const last = answerAsked.get(key) || 0;
  if (!force && Date.now() - last < 1000) {
    if (!answerAsked.has(`${key}#later`)) {
      answerAsked.set(`${key}#later`, 1);
      setTimeout(() => { answerAsked.delete(`${key}#later`); if (openAnswers.has(key)) loadAnswers(key, true); }, 1000);
    }
    return;
  }
  answerAsked.set(key, Date.now());
  const box = () => document.querySelector(`details[data-answers="${CSS.escape(key)}"] .answers`);
  try {
    const res = await fetch(`/catalog/answers?name=${encodeURIComponent(key)}`, { headers: { accept: 'application/json' } });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
    answerCache.set(key, body);
    const now = box();
    if (now) now.replaceChildren(...answerNodes(body));
  } catch (e) {
    const now = box();
    if (now) now.textContent = `Could not ask the DNS server: ${e.message}`;
  }
}

async function deregister(uuid) {
  const headers = {};
  const secret = $('secret').value;
  if (secret) headers.authorization = `Bearer ${secret}`;
  if (secretNeeded && !secret) {
    say(`Enter the secret to deregister ${uuid}.`);
    $('secret').focus();
    return;
  }
  const res = await fetch(`/catalog/services/${encodeURIComponent(uuid)}`, { method: 'DELETE', headers });
  if (res.ok) return say(`Deregistered ${uuid}.`, 'ok');
  const body = await res.json().catch(() => ({}));
  say(`Could not deregister ${uuid}: ${body.error || `HTTP ${res.status}`}`);
  if (res.status === 401) $('secret').focus();
}

function tick() {
  for (const td of document.querySelectorAll('td.ttl[data-expires]')) {
    const left = Math.max(0, Math.ceil((Date.parse(td.dataset.expires) - Date.now()) / 1000));
    const text = `${left} s`;
    if (td.textContent !== text) td.textContent = text;
    if (left <= 5) td.setAttribute('data-low', ''); else td.removeAttribute('data-low');
  }
}

function connect() {
  const status = $('status');
  const es = new EventSource('/catalog/watch');
  const apply = (fn) => (e) => { fn(JSON.parse(e.data)); schedule(); };
  es.addEventListener('reset', apply((d) => {
    services.clear();
    for (const s of d.services) services.set(s.UUID.toLowerCase(), s);
  }));
  for (const type of ['registered', 'updated']) es.addEventListener(type, apply((d) => services.set(d.service.UUID.toLowerCase(), d.service)));
  for (const type of ['expired', 'deleted']) es.addEventListener(type, apply((d) => services.delete(d.service.UUID.toLowerCase())));
  es.onopen = () => { status.textContent = 'Live'; status.dataset.state = 'live'; };
  es.onerror = () => {
    status.dataset.state = 'down';
    if (es.readyState !== EventSource.CLOSED) { status.textContent = 'Reconnecting…'; return; }
    // Refused outright (e.g. 429: too many pages open): the browser gives up, so start over later.
    status.textContent = 'Disconnected; trying again in 5 s…';
    setTimeout(connect, 5000);
  };
}

async function start() {
  try {
    const res = await fetch('/catalog/config', { headers: { accept: 'application/json' } });
    const cfg = await res.json();
    zone = cfg.zone;
    secretNeeded = cfg.secret;
  } catch {
    // keep the defaults; the stream below says whether the server is there
  }
  $('secret-field').hidden = !secretNeeded;
  $('controls').addEventListener('submit', (e) => e.preventDefault());
  $('filter').addEventListener('input', schedule);
  connect();
  setInterval(tick, 1000);
  draw();
}

document.addEventListener('DOMContentLoaded', start);
