/**
 * The console page: HTML, a stylesheet and a script, served by the console's own routes. No build step and
 * nothing loaded from elsewhere; the script fills the page with `textContent` only (never HTML from data),
 * and the Content-Security-Policy lets no other script run.
 */

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page, for a console whose routes are under `base` (e.g. `/kafka`), with this instance's CSRF token. */
export function consolePage(title: string, token: string, base: string): string {
  const t = escapeHtml(title);
  const b = escapeHtml(base);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="kafka-console-token" content="${escapeHtml(token)}">
<meta name="kafka-console-base" content="${b}">
<title>${t}</title>
<link rel="stylesheet" href="${b}/console.css">
<script src="${b}/console.js" defer></script>
</head>
<body>
<header><h1>${t}</h1><span id="updated"></span><button id="refresh" type="button">Refresh</button></header>
<p id="message" role="status"></p>
<section>
<h2>Listener containers</h2>
<table id="containers"><thead><tr><th>Listener</th><th>Group</th><th>Method</th><th>State</th><th>Assigned</th><th>Actions</th></tr></thead><tbody></tbody></table>
</section>
<section>
<h2>Lag</h2>
<table id="lag"><thead><tr><th>Group</th><th>Topic</th><th class="num">Partition</th><th class="num">Committed</th><th class="num">End offset</th><th class="num">Lag</th></tr></thead><tbody></tbody></table>
</section>
<section>
<h2>Dead letters</h2>
<div class="toolbar">
<label>Topic <select id="dlt-select"></select></label>
<label><input type="checkbox" id="pending-only"> pending only</label>
<button id="dry-run-all" type="button">Dry run: replay all pending</button>
<button id="replay-all" type="button">Replay all pending</button>
<button id="park-all" type="button" class="danger">Park all pending</button>
</div>
<p class="hint" id="dlt-info"></p>
<table id="letters"><thead><tr><th>Partition</th><th>Offset</th><th>Dead-lettered</th><th>Status</th><th class="num">Replays</th><th>Original</th><th>Exception</th><th>Message</th><th>Key</th><th>Value</th><th>Actions</th></tr></thead><tbody></tbody></table>
<pre id="result" hidden></pre>
</section>
</body>
</html>
`;
}

export const CONSOLE_STYLE = `
:root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 14px; color: #1d2733; background: #f5f7fa; }
body { margin: 0 auto; padding: 0 24px 40px; max-width: 1500px; }
header { display: flex; align-items: baseline; gap: 16px; border-bottom: 2px solid #24507a; margin-bottom: 8px; }
h1 { font-size: 20px; margin: 14px 0 8px; color: #24507a; }
h2 { font-size: 16px; margin: 22px 0 8px; }
#updated { color: #667; font-size: 12px; flex: 1; }
table { border-collapse: collapse; width: 100%; background: #fff; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e3e7ee; vertical-align: top; }
th { background: #e9eef5; font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.mono, td.value, td.key { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 12px; }
td.value { max-width: 360px; overflow-wrap: anywhere; }
td.message { max-width: 320px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.running { background: #d8f3dc; color: #1b5e20; } .paused { background: #fff3cd; color: #7a5a00; } .stopped { background: #f1d4d4; color: #8b1a1a; }
.pending { background: #fde2c8; color: #8a3b00; } .done { background: #dfe7f1; color: #394b63; }
button { font: inherit; font-size: 12px; padding: 3px 10px; margin: 0 4px 2px 0; border: 1px solid #24507a; background: #fff; color: #24507a; border-radius: 4px; cursor: pointer; }
button:hover { background: #24507a; color: #fff; }
button.danger { border-color: #a12626; color: #a12626; } button.danger:hover { background: #a12626; color: #fff; }
button:disabled { opacity: .4; cursor: default; }
.toolbar { display: flex; gap: 14px; align-items: center; margin-bottom: 8px; flex-wrap: wrap; }
.hint { color: #556; font-size: 12px; margin: 4px 0 8px; }
#message { min-height: 1.3em; margin: 6px 0; font-weight: 600; }
#message.error { color: #a12626; } #message.ok { color: #1b5e20; }
details summary { cursor: pointer; color: #24507a; font-size: 12px; }
details pre, #result { white-space: pre-wrap; font-size: 11px; background: #f1f3f6; padding: 6px; margin: 4px 0; max-height: 260px; overflow: auto; }
tr.empty td { color: #778; font-style: italic; }
`;

export const CONSOLE_SCRIPT = `'use strict';
(() => {
  const token = document.querySelector('meta[name="kafka-console-token"]').content;
  const base = document.querySelector('meta[name="kafka-console-base"]').content;
  const $ = (id) => document.getElementById(id);
  let letters = [];
  let refreshingState = false;
  let refreshingLetters = false;
  let refreshes = 0;

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else if (k.startsWith('data-')) node.setAttribute(k, String(v));
      else node[k] = v;
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  async function api(method, path, body) {
    const init = { method, credentials: 'same-origin', headers: {} };
    if (method === 'POST') {
      init.headers['Content-Type'] = 'application/json';
      init.headers['X-Kafka-Console-Token'] = token;
      init.body = JSON.stringify(body || {});
    }
    const res = await fetch(base + '/api/' + path, init);
    const text = await res.text();
    let data;
    try { data = JSON.parse(text); } catch { data = text; }
    if (!res.ok) {
      const m = data && data.message;
      throw new Error(Array.isArray(m) ? m.join('; ') : m || res.status + ' ' + res.statusText);
    }
    return data;
  }

  function say(text, kind) {
    const m = $('message');
    m.textContent = text;
    m.className = kind || '';
  }

  function stateOf(c) {
    if (!c.running) return 'stopped';
    return c.paused ? 'paused' : 'running';
  }

  function renderContainers(containers) {
    const body = $('containers').tBodies[0];
    body.replaceChildren(...containers.map((c) => {
      const state = stateOf(c);
      const assigned = c.assigned.map((a) => a.topic + ' [' + a.partitions.join(', ') + ']').join('; ') || '-';
      const action = (name, enabled) => el('button', { type: 'button', text: name, disabled: !enabled, 'data-action': name, onclick: () => containerAction(c.id, name) });
      return el('tr', { 'data-id': c.id },
        el('td', { class: 'mono', text: c.id }),
        el('td', { class: 'mono', text: c.groupId }),
        el('td', { class: 'mono', text: c.listener }),
        el('td', { class: 'state' }, el('span', { class: 'badge ' + state, text: state })),
        el('td', { class: 'mono', text: assigned }),
        el('td', {}, action('start', !c.running), action('stop', c.running), action('pause', c.running && !c.paused), action('resume', c.running && c.paused)));
    }));
    if (!containers.length) body.append(el('tr', { class: 'empty' }, el('td', { colSpan: 6, text: 'no listener containers' })));
  }

  function renderLag(containers) {
    const rows = [];
    for (const c of containers) {
      if (c.lagError) rows.push(el('tr', { class: 'empty' }, el('td', { class: 'mono', text: c.groupId }), el('td', { colSpan: 5, text: 'lag unavailable: ' + c.lagError })));
      for (const p of c.lag) {
        rows.push(el('tr', { 'data-group': c.groupId, 'data-topic': p.topic, 'data-partition': p.partition },
          el('td', { class: 'mono', text: c.groupId }),
          el('td', { class: 'mono', text: p.topic }),
          el('td', { class: 'num', text: String(p.partition) }),
          el('td', { class: 'num', text: p.committed < 0 ? '-' : String(p.committed) }),
          el('td', { class: 'num', text: String(p.endOffset) }),
          el('td', { class: 'num lag', text: String(p.lag) })));
      }
    }
    $('lag').tBodies[0].replaceChildren(...rows);
  }

  function renderTopics(topics) {
    const select = $('dlt-select');
    const current = select.value;
    const names = [...select.options].map((o) => o.value);
    if (names.join('\\n') !== topics.join('\\n')) {
      select.replaceChildren(...topics.map((t) => el('option', { value: t, text: t })));
      if (topics.includes(current)) select.value = current;
      refreshLetters();
    }
  }

  async function refreshState() {
    if (refreshingState) return;
    refreshingState = true;
    try {
      const state = await api('GET', 'state');
      renderContainers(state.containers);
      renderLag(state.containers);
      renderTopics(state.deadLetterTopics);
      $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
      document.body.dataset.refreshes = String(++refreshes);
    } catch (e) {
      say('Could not read the state: ' + e.message, 'error');
    } finally {
      refreshingState = false;
    }
  }

  function valueText(l) {
    if (l.deserializedValue === null) return l.value === null ? 'null' : '<binary>';
    return typeof l.deserializedValue === 'string' ? l.deserializedValue : JSON.stringify(l.deserializedValue);
  }

  function details(l) {
    const lines = [];
    lines.push('original: ' + JSON.stringify(l.original));
    for (const [k, v] of Object.entries(l.headers)) lines.push('header ' + k + ': ' + v);
    if (l.exception.causeClassName) lines.push('root cause: ' + l.exception.causeClassName);
    if (l.keyException) lines.push('key exception: ' + l.keyException.className + ': ' + (l.keyException.message || ''));
    lines.push('', l.exception.stackTrace || '(no stack trace)');
    return el('details', {}, el('summary', { text: 'headers, stack trace' }), el('pre', { text: lines.join('\\n') }));
  }

  function renderLetters() {
    const shown = letters;
    const body = $('letters').tBodies[0];
    body.replaceChildren(...shown.map((l) => {
      const one = { records: [{ partition: l.partition, offset: l.offset }] };
      const pending = l.status === 'pending';
      return el('tr', { 'data-partition': l.partition, 'data-offset': l.offset },
        el('td', { class: 'num', text: String(l.partition) }),
        el('td', { class: 'num', text: String(l.offset) }),
        el('td', { class: 'mono', text: new Date(l.timestamp).toISOString().replace('T', ' ').replace('Z', '') }),
        el('td', { class: 'status' }, el('span', { class: 'badge ' + l.status, text: l.status })),
        el('td', { class: 'num', text: String(l.replayCount) }),
        el('td', { class: 'mono', text: (l.original.topic || '?') + '-' + (l.original.partition ?? '?') + '@' + (l.original.offset ?? '?') }),
        el('td', { class: 'mono exception', text: l.exception.className || '' }),
        el('td', { class: 'message', text: l.exception.message || '' }),
        el('td', { class: 'key', text: l.keyText ?? (l.key === null ? 'null' : '<binary>') }),
        el('td', { class: 'value' }, valueText(l), details(l)),
        el('td', {},
          el('button', { type: 'button', class: 'replay', text: 'Replay', disabled: !pending, onclick: () => letterAction('replay', one, false) }),
          el('button', { type: 'button', class: 'dry-run', text: 'Dry run', disabled: !pending, onclick: () => letterAction('replay', one, true) }),
          el('button', { type: 'button', class: 'park danger', text: 'Park', disabled: !pending, onclick: () => letterAction('park', one, false) })));
    }));
    if (!shown.length) body.append(el('tr', { class: 'empty' }, el('td', { colSpan: 11, text: $('pending-only').checked ? 'no pending dead letters' : 'no dead letters' })));
  }

  async function refreshLetters() {
    const topic = $('dlt-select').value;
    if (!topic) {
      letters = [];
      $('dlt-info').textContent = 'no dead-letter topic found (topics ending in .DLT or -dlt)';
      renderLetters();
      return;
    }
    if (refreshingLetters) return;
    refreshingLetters = true;
    try {
      const pendingOnly = $('pending-only').checked;
      const data = await api('GET', 'dead-letters/' + encodeURIComponent(topic) + '?limit=200' + (pendingOnly ? '&pending=true' : ''));
      if ($('dlt-select').value !== topic) return;
      letters = data.letters;
      const pending = letters.filter((l) => l.status === 'pending').length;
      $('dlt-info').textContent = (pendingOnly ? pending + ' pending dead letter(s) (the first 200 of each partition). ' : letters.length + ' dead letter(s) (the first 200 of each partition), ' + pending + ' pending. ') +
        'Progress group: ' + data.replayGroup +
        '. A record replayed ' + data.maxReplays + ' time(s) already is parked instead of replayed.';
      renderLetters();
    } catch (e) {
      say('Could not list ' + topic + ': ' + e.message, 'error');
    } finally {
      refreshingLetters = false;
    }
  }

  async function containerAction(id, action) {
    try {
      say(action + ' ' + id + '...');
      await api('POST', 'containers/' + encodeURIComponent(id) + '/' + action, {});
      say(id + ': ' + action + ' done', 'ok');
    } catch (e) {
      say(id + ': ' + action + ' failed: ' + e.message, 'error');
    }
    await refreshState();
  }

  async function letterAction(kind, filter, dryRun) {
    const topic = $('dlt-select').value;
    if (!topic) return;
    if (kind === 'park' && !dryRun && !confirm('Park ' + (filter ? 'this record' : 'every pending record') + ' of ' + topic + '?')) return;
    try {
      say((dryRun ? 'dry run of ' : '') + kind + ' on ' + topic + '...');
      const result = await api('POST', 'dead-letters/' + encodeURIComponent(topic) + '/' + kind, { dryRun, ...(filter && { filter }) });
      const verb = dryRun ? 'Dry run: would replay ' : 'Replayed ';
      say(verb + result.replayed + ', ' + (dryRun ? 'would park ' : 'parked ') + result.parked + (result.skipped ? '; ' + result.skipped + ' not selected, still pending' : ''), 'ok');
      const out = $('result');
      out.hidden = result.records.length === 0;
      out.textContent = result.records.filter((r) => r.action !== 'skipped').map((r) =>
        r.partition + '@' + r.offset + ' ' + (dryRun ? 'would be ' : '') + r.action + (r.target ? ' to ' + r.target : '') + (r.reason ? ' (' + r.reason + ')' : '')).join('\\n');
    } catch (e) {
      say(kind + ' failed: ' + e.message, 'error');
    }
    await refreshLetters();
  }

  $('refresh').addEventListener('click', () => { refreshState(); refreshLetters(); });
  $('dlt-select').addEventListener('change', refreshLetters);
  $('pending-only').addEventListener('change', refreshLetters);
  $('dry-run-all').addEventListener('click', () => letterAction('replay', undefined, true));
  $('replay-all').addEventListener('click', () => letterAction('replay', undefined, false));
  $('park-all').addEventListener('click', () => letterAction('park', undefined, false));
  refreshState();
  setInterval(() => { if (document.visibilityState === 'visible') refreshState(); }, 2000);
  setInterval(() => { if (document.visibilityState === 'visible') refreshLetters(); }, 10000);
})();
`;
