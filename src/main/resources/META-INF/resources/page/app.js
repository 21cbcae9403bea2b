// pgvigil's page: reads /api/v1 only, builds every element with the DOM API (text from the database is
// always a text node, never markup), refreshes at the poll interval without reloading.

const SECTIONS = ['overview', 'statements', 'relations', 'connections', 'replication', 'status'];
const SEVERITIES = ['critical', 'warning', 'info'];
const STATEMENT_CHECKS = new Set(['slow_query', 'n_plus_one', 'query_regression', 'temp_spill']);
const RELATION_CHECKS = new Set(['duplicate_index', 'unused_index', 'invalid_index', 'seq_scan_heavy', 'vacuum_lag',
  'index_hit_rate']);
const TOKEN_KEY = 'pgvigil.api.token';

let data = {};
let timer = null;
let refreshing = false;
let shownStatement = null;
let shownRunbook = null;

let historyAt = 0;

class Unauthorized extends Error {}

/**
 * The hour of history is up to a few hundred kB (720 polls of 100 findings): asked for at most every
 * 30 s, not at every poll; the sparklines lag by that much at most.
 */
function historyDue() {
  return !data.history || Date.now() - historyAt >= 30000;
}

// ---------------------------------------------------------------- DOM helpers

/** An element; children are nodes or strings (strings become text nodes, never markup). */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'onclick') e.addEventListener('click', v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  append(e, children);
  return e;
}

function append(parent, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    parent.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

function body(section) {
  return document.querySelector('#' + section + ' .body');
}

const FOCUSABLE = 'a[href], button, input, [tabindex]';

/**
 * Replaces a section's content; a refresh must not take the keyboard's place away, so when the focus
 * was inside, it goes back to the element at the same position among the section's focusable ones.
 */
function fill(section, ...children) {
  const b = body(section);
  const focused = b.contains(document.activeElement) ? [...b.querySelectorAll(FOCUSABLE)].indexOf(document.activeElement) : -1;
  b.replaceChildren();
  append(b, children);
  if (focused >= 0) {
    const again = b.querySelectorAll(FOCUSABLE)[focused];
    if (again) again.focus({ preventScroll: true });
  }
}

// ---------------------------------------------------------------- formats

function fmtNumber(v, digits = 2) {
  if (v === null || v === undefined) return '–';
  if (Number.isInteger(v)) return v.toLocaleString('en');
  return v.toLocaleString('en', { maximumFractionDigits: digits });
}

function fmtSeconds(s) {
  if (s === null || s === undefined) return '–';
  if (s < 0.001) return (s * 1e6).toFixed(0) + ' µs';
  if (s < 1) return (s * 1000).toFixed(s < 0.01 ? 2 : 1) + ' ms';
  if (s < 120) return s.toFixed(s < 10 ? 2 : 1) + ' s';
  if (s < 7200) return (s / 60).toFixed(1) + ' min';
  return (s / 3600).toFixed(1) + ' h';
}

function fmtBytes(b) {
  if (b === null || b === undefined) return '–';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = b;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return (i === 0 ? v.toFixed(0) : v.toFixed(1)) + ' ' + units[i];
}

function fmtAgo(iso) {
  if (!iso) return '–';
  const s = (Date.now() - Date.parse(iso)) / 1000;
  if (s < 1) return 'just now';
  return fmtSeconds(s) + ' ago';
}

function time(iso) {
  return iso ? el('time', { datetime: iso, title: iso }, fmtAgo(iso)) : '–';
}

function fmtValue(check, v) {
  if (v === null || v === undefined) return '–';
  const unit = data.config && data.config.units ? data.config.units[check] : undefined;
  switch (unit) {
    case 'ratio': return (v * 100).toFixed(1) + '%';
    case 'seconds': return fmtSeconds(v);
    case 'bytes': return fmtBytes(v);
    case 'factor': return fmtNumber(v, 1) + '× baseline';
    case 'intervals': return fmtNumber(v, 0) + ' interval' + (v === 1 ? '' : 's');
    case 'transactions': return fmtNumber(v, 0) + ' xacts';
    case 'trigger_multiple': return fmtNumber(v, 1) + '× trigger';
    default: break;
  }
  if (/slow_query|long_transaction|lock_wait|replication_lag|pooler_saturation/.test(check)) return fmtSeconds(v);
  if (/^(rollback_rate|index_hit_rate|pool_saturation|xid_wraparound|checkpoint_pressure|seq_scan_heavy)$/.test(check)) {
    return (v * 100).toFixed(1) + '%';
  }
  if (check === 'query_regression') return fmtNumber(v) + '×';
  if (/temp_spill|replication_slot|invalid_index|duplicate_index/.test(check)) return fmtBytes(v);
  return fmtNumber(v);
}

// ---------------------------------------------------------------- links

function isQueryId(s) {
  return typeof s === 'string' && /^-?\d{1,20}$/.test(s);
}

function statementLink(queryId, label) {
  return el('a', { href: '#statement/' + encodeURIComponent(queryId), class: 'qid' }, label || queryId);
}

/** A link to a row: #section/key selects the element of the section whose data-key is key, and scrolls to it. */
function rowHref(section, key) {
  return '#' + section + '/' + encodeURIComponent(key);
}

/** Where a finding's subject has its row: [section, key], or [section] when it has none. */
function subjectRow(f) {
  if (STATEMENT_CHECKS.has(f.check) && isQueryId(f.subject)) return ['statements', f.subject];
  if (['unused_index', 'duplicate_index', 'invalid_index'].includes(f.check)) return ['relations', 'index:' + f.subject];
  if (['seq_scan_heavy', 'vacuum_lag'].includes(f.check)) return ['relations', 'table:' + f.subject];
  if (f.check === 'index_hit_rate') return ['relations'];
  if (f.check === 'lock_wait') return ['connections', 'locks:' + f.subject];
  if (f.check === 'pool_saturation') return ['connections', 'slots'];
  if (f.check === 'long_transaction') return ['connections'];
  if (f.check === 'pooler_saturation') return ['connections', 'pool:' + f.subject];
  // On a standby its own lag has the subject "self": no row of the standbys table (a primary's) is it.
  if (f.check === 'replication_lag') return f.subject === 'self' ? ['replication'] : ['replication', 'standby:' + f.subject];
  if (f.check === 'replication_slot') return ['replication', 'slot:' + f.subject];
  if (f.check === 'xmin_horizon') return ['replication'];
  return null;
}

function subjectLink(f) {
  const row = subjectRow(f);
  if (!row) return f.subject;
  return el('a', { href: row.length > 1 ? rowHref(row[0], row[1]) : '#' + row[0], class: 'subject-link' }, f.subject);
}

/** The finding's message with every queryid of a known statement made a link (text nodes only). */
function messageWithLinks(message, known) {
  const out = [];
  const re = /-?\d{6,20}/g;
  let last = 0;
  let m;
  while ((m = re.exec(message)) !== null) {
    if (!known.has(m[0])) continue;
    out.push(message.slice(last, m.index), statementLink(m[0]));
    last = m.index + m[0].length;
  }
  out.push(message.slice(last));
  return el('p', { class: 'message' }, out);
}

// ---------------------------------------------------------------- tables

/**
 * A table whose column headers sort it (click, Enter or Space on the header's button; on a phone the
 * headers become a row of sort buttons above the stacked rows). key(row), when given, names each row for
 * links (#section/key).
 * columns: [{label, value: row => sortable, render: row => node|string, num: bool}]
 */
function sortable(id, columns, rows, initial, key) {
  const table = el('table', { class: 'data', id });
  const thead = el('thead');
  const tbody = el('tbody');
  const headRow = el('tr');
  let sortBy = initial ? initial.column : -1;
  let desc = initial ? initial.desc : false;
  const saved = sortState.get(id);
  if (saved) ({ sortBy, desc } = saved);
  const draw = () => {
    const sorted = rows.slice();
    if (sortBy >= 0) {
      const get = columns[sortBy].value;
      sorted.sort((a, b) => {
        const x = get(a);
        const y = get(b);
        if (x === y) return 0;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        const c = x < y ? -1 : 1;
        return desc ? -c : c;
      });
    }
    tbody.replaceChildren(...sorted.map(r => el('tr', { 'data-key': key ? key(r) : null }, columns.map(c =>
      el('td', { class: c.num ? 'num' : null, 'data-label': c.label }, c.render ? c.render(r) : fmt(c.value(r)))))));
    headRow.querySelectorAll('th').forEach((th, i) => {
      th.setAttribute('aria-sort', i === sortBy ? (desc ? 'descending' : 'ascending') : 'none');
    });
  };
  columns.forEach((c, i) => {
    const button = el('button', { type: 'button', class: 'sort', 'aria-label': 'sort by ' + c.label }, c.label);
    button.addEventListener('click', () => {
      desc = sortBy === i ? !desc : !!c.num;
      sortBy = i;
      sortState.set(id, { sortBy, desc });
      draw();
    });
    headRow.append(el('th', { scope: 'col', class: c.num ? 'num' : null }, button));
  });
  thead.append(headRow);
  table.append(thead, tbody);
  draw();
  return el('div', { class: 'scroll' }, table);
}
const sortState = new Map();

function fmt(v) {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return fmtNumber(v);
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}

// ---------------------------------------------------------------- sparkline

const SVG = 'http://www.w3.org/2000/svg';

/** An inline SVG line of the values (nulls break the line); numbers only reach the markup. */
function sparkline(values, label) {
  const w = 120;
  const h = 28;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('width', w);
  svg.setAttribute('height', h);
  svg.setAttribute('class', 'spark');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const nums = values.filter(v => typeof v === 'number' && Number.isFinite(v));
  if (nums.length === 0 || values.length < 2) return svg;
  const min = Math.min(...nums, 0);
  const max = Math.max(...nums);
  // A value that did not move is drawn across the middle: at the top edge a flat line read as an underline.
  const flat = max === min;
  const span = flat ? 1 : max - min;
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      pen = false;
      return;
    }
    const x = (i / (values.length - 1)) * (w - 4) + 1;
    const y = flat ? h / 2 : h - 3 - ((v - min) / span) * (h - 6);
    d += (pen ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1);
    pen = true;
  });
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', d);
  svg.append(path);
  // The latest value as a dot: the line is a chart, not a rule.
  const last = values.length - 1;
  if (typeof values[last] === 'number' && Number.isFinite(values[last])) {
    const dot = document.createElementNS(SVG, 'circle');
    dot.setAttribute('cx', (w - 3).toFixed(1));
    dot.setAttribute('cy', (flat ? h / 2 : h - 3 - ((values[last] - min) / span) * (h - 6)).toFixed(1));
    dot.setAttribute('r', '2');
    dot.setAttribute('class', 'spark-dot');
    svg.append(dot);
  }
  return svg;
}

// ---------------------------------------------------------------- API

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(path) {
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t && unsendable(t) !== null) throw new Unauthorized();
  if (t) headers.Authorization = 'Bearer ' + t;
  const r = await fetch(path, { headers, cache: 'no-store', credentials: 'omit' });
  if (r.status === 401) throw new Unauthorized();
  const json = await r.json().catch(() => null);
  if (!r.ok) return { problem: json || { status: r.status, detail: r.statusText } };
  return json;
}

function problemNote(answer) {
  const p = answer && answer.problem;
  return el('p', { class: 'note' }, p ? (p.detail || p.title || 'no data') : 'no data');
}

// ---------------------------------------------------------------- refresh

async function refresh() {
  if (refreshing) return;
  refreshing = true;
  clearTimeout(timer);
  let interval = 15;
  try {
    const status = await api('/api/v1/status');
    document.getElementById('token-form').hidden = true;
    interval = status.poll ? status.poll.intervalSeconds : 15;
    const [findings, statements, hour, activity, history, indexes, tables, config] = await Promise.all([
      api('/api/v1/findings'),
      api('/api/v1/statements?order=total_time&limit=50'),
      api('/api/v1/statements/hour?order=total_time&limit=50'),
      api('/api/v1/activity'),
      historyDue() ? api('/api/v1/history') : Promise.resolve(data.history),
      api('/api/v1/indexes?findings=true&limit=1000'),
      api('/api/v1/tables?limit=1000'),
      data.config && Object.keys(data.config.thresholds || {}).length ? Promise.resolve(data.config) : api('/api/v1/config'),
    ]);
    if (history !== data.history) historyAt = Date.now();
    data = { status, findings, statements, hour, activity, history, indexes, tables, config, at: new Date() };
    render();
  } catch (e) {
    if (e instanceof Unauthorized) {
      askForToken();
      refreshing = false;
      return; // no data without the token: nothing is polled until it is given
    }
    banner('pgvigil itself cannot be reached (' + e.message + '); retrying.', 'down');
  } finally {
    refreshing = false;
  }
  timer = setTimeout(refresh, Math.min(60, Math.max(1, interval)) * 1000);
}

function banner(text, kind) {
  const b = document.getElementById('banner');
  if (!text) {
    b.hidden = true;
    b.replaceChildren();
    return;
  }
  b.className = 'banner ' + (kind || '');
  b.replaceChildren(document.createTextNode(text));
  b.hidden = false;
}

function askForToken() {
  data = {};
  for (const s of document.querySelectorAll('main section .body')) s.replaceChildren();
  document.getElementById('target-line').replaceChildren();
  document.getElementById('footer').replaceChildren();
  banner(null);
  const form = document.getElementById('token-form');
  const error = document.getElementById('token-error');
  if (token()) {
    error.textContent = 'That token was refused.';
    // (a token kept from before that cannot be sent at all is dropped the same way)
    error.hidden = false;
    sessionStorage.removeItem(TOKEN_KEY);
  }
  form.hidden = false;
  document.getElementById('token-input').focus();
}

/** The first character a header value cannot carry, described; null when every one can. */
function unsendable(t) {
  for (const ch of t) {
    const code = ch.codePointAt(0);
    if (code > 0xff || code < 0x20 || code === 0x7f) {
      const hex = 'U+' + code.toString(16).toUpperCase().padStart(4, '0');
      return code < 0x20 || code === 0x7f ? 'a control character (' + hex + ')' : '\u201c' + ch + '\u201d (' + hex + ')';
    }
  }
  return null;
}

function setupTokenForm() {
  const form = document.getElementById('token-form');
  form.addEventListener('submit', ev => {
    ev.preventDefault();
    const input = document.getElementById('token-input');
    const t = input.value.trim();
    if (!t) return;
    const bad = unsendable(t);
    if (bad !== null) {
      // fetch() refuses a header with such a character (a TypeError): say so rather than fail later.
      const error = document.getElementById('token-error');
      error.textContent = 'That token cannot be sent: it contains ' + bad + ', and an HTTP header carries only '
        + 'ISO-8859-1 (Latin-1) characters. pgvigil.api.token must be made of such characters (ASCII is safest).';
      error.hidden = false;
      input.focus();
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, t);
    input.value = '';
    document.getElementById('token-error').hidden = true;
    form.hidden = true;
    refresh();
  });
}

// ---------------------------------------------------------------- render

function render() {
  const { status } = data;
  const t = status.target;
  const line = document.getElementById('target-line');
  line.replaceChildren(
    el('span', { class: 'pill ' + (t.up ? 'up' : 'down'), id: 'target-up' }, t.up ? 'up' : 'down'),
    ' ', el('span', { class: 'url' }, t.url), ' ',
    t.version ? el('span', {}, 'PostgreSQL ' + t.version + ' · ' + t.role) : '');
  if (!t.up) {
    banner('The target is down: ' + (t.error || 'no poll has reached it') + (status.poll.lastSuccessAt
      ? ' — last reached ' + fmtAgo(status.poll.lastSuccessAt) : '') + '. pgvigil retries every poll.', 'down');
  } else {
    banner(null);
  }
  renderOverview();
  renderStatements();
  renderRelations();
  renderConnections();
  renderReplication();
  renderStatus();
  document.getElementById('footer').replaceChildren(
    'Refreshed ' + data.at.toLocaleTimeString('en') + ' · every ' + fmtSeconds(status.poll.intervalSeconds)
    + ' (the poll interval) · read-only');
  route(false);
}

function knownQueryIds() {
  const known = new Set();
  for (const s of [data.statements, data.hour]) {
    if (s && s.items) s.items.forEach(i => known.add(i.queryId));
  }
  if (data.findings && data.findings.items) {
    data.findings.items.filter(f => STATEMENT_CHECKS.has(f.check) && isQueryId(f.subject))
      .forEach(f => known.add(f.subject));
  }
  return known;
}

function seriesOf(f) {
  const h = data.history;
  if (!h || !h.series) return null;
  const s = h.series.find(x => x.check === f.check && x.subject === f.subject);
  return s ? s.values : null;
}

function runbookLink(check) {
  return el('a', { href: '#runbook/' + encodeURIComponent(check), class: 'runbook' }, 'runbook');
}

function findingCard(f, known) {
  const values = seriesOf(f);
  return el('li', { class: 'finding ' + f.severity, 'data-check': f.check, 'data-subject': f.subject },
    el('div', { class: 'finding-head' },
      el('span', { class: 'sev ' + f.severity }, f.severity),
      el('strong', { class: 'check' }, f.check), ' ',
      el('span', { class: 'subject' }, subjectLink(f)),
      el('span', { class: 'value', title: 'threshold ' + fmtValue(f.check, f.threshold) },
        fmtValue(f.check, f.value)),
      values ? sparkline(values, f.check + ' ' + f.subject + ' over the last hour') : null),
    messageWithLinks(f.message, known),
    f.advice ? adviceBlock(f.advice) : null,
    el('div', { class: 'finding-foot' }, 'since ', time(f.since), ' · ', runbookLink(f.check)));
}

function adviceBlock(a) {
  return el('div', { class: 'advice' },
    el('pre', { class: 'sql' }, el('code', {}, a.sql)),
    el('p', { class: 'how' }, (a.verified ? 'verified: ' : '') + a.how));
}

function renderOverview() {
  const { status, findings, history } = data;
  const t = status.target;
  const facts = el('dl', { class: 'facts' },
    el('dt', {}, 'Target'), el('dd', {}, t.url),
    el('dt', {}, 'Version'), el('dd', {}, t.version || '–'),
    el('dt', {}, 'Role'), el('dd', {}, t.role || '–'),
    el('dt', {}, 'Up'), el('dd', {}, el('span', { class: 'pill ' + (t.up ? 'up' : 'down') }, t.up ? 'yes' : 'no')),
    el('dt', {}, 'Last poll'), el('dd', {}, time(status.poll.lastStartedAt),
      status.poll.lastDurationSeconds !== null ? ' (took ' + fmtSeconds(status.poll.lastDurationSeconds) + ')' : ''),
    el('dt', {}, 'Open findings'), el('dd', {}, t.up ? String(status.findingsOpen) : '– (not judged while the target is down)'));
  const parts = [facts];
  if (history && history.points && history.points.length > 1) {
    const conns = history.points.map(p => p.clientBackends);
    parts.push(el('p', { class: 'trend' }, 'Client connections, last hour ', sparkline(conns, 'client connections')));
  }
  if (!findings || findings.problem) {
    parts.push(el('h2', {}, 'Findings'), problemNote(findings));
  } else {
    const known = knownQueryIds();
    if (findings.items.length === 0) {
      parts.push(el('h2', {}, 'Findings'), el('p', { class: 'ok' }, 'Nothing is wrong: every check judged the latest poll.'));
    }
    for (const sev of SEVERITIES) {
      const items = findings.items.filter(f => f.severity === sev);
      if (items.length === 0) continue;
      parts.push(el('h2', { id: 'findings-' + sev }, sev[0].toUpperCase() + sev.slice(1) + ' (' + items.length + ')'),
        el('ul', { class: 'findings' }, items.map(f => findingCard(f, known))));
    }
    if (findings.truncated) parts.push(el('p', { class: 'note' }, findings.total + ' open in all; pgvigil.findings.max lists fewer.'));
    if (findings.notEvaluated.length) {
      parts.push(el('p', { class: 'note' }, 'Not judged in the latest poll (inputs not collected): ' + findings.notEvaluated.join(', ')));
    }
  }
  fill('overview', parts);
}

function statementText(q) {
  return q === null || q === undefined ? el('em', {}, 'text no longer in pg_stat_statements') : el('code', { class: 'query' }, q);
}

function renderStatements() {
  const { statements, hour, findings } = data;
  const parts = [];
  const known = knownQueryIds();
  const byId = new Map();
  // The interval's reading first: the hour's text is the same statement's, perhaps older.
  if (hour && hour.items) hour.items.forEach(s => byId.set(s.queryId, s));
  if (statements && statements.items) statements.items.forEach(s => byId.set(s.queryId, s));
  const n1 = findings && findings.items ? findings.items.filter(f => f.check === 'n_plus_one') : [];
  if (n1.length) {
    parts.push(el('h2', {}, 'N+1 patterns'));
    for (const f of n1) {
      // The finding's subject is the child statement. The parents have no field of their own yet: the
      // statements the message names by queryid (other than the child) are shown beside it.
      const named = [...new Set((f.message.match(/-?\d{6,20}/g) || []).filter(id => id !== f.subject && known.has(id)))];
      const child = byId.get(f.subject);
      parts.push(el('div', { class: 'pair', 'data-child': f.subject },
        el('div', { class: 'side' }, el('h3', {}, 'Child ', statementLink(f.subject)),
          child ? statementText(child.query) : el('p', { class: 'note' }, 'not among the top statements of the interval or the hour')),
        el('div', { class: 'side' }, el('h3', {}, 'Parent'), named.length ? named.map(id => el('div', {},
          statementLink(id), byId.get(id) ? statementText(byId.get(id).query) : null)) : el('p', { class: 'note' }, 'see the message')),
        messageWithLinks(f.message, known)));
    }
  }
  const stmtFindings = findings && findings.items ? findings.items.filter(f => STATEMENT_CHECKS.has(f.check) && f.check !== 'n_plus_one') : [];
  if (stmtFindings.length) {
    parts.push(el('h2', {}, 'Statement findings'), el('ul', { class: 'findings' }, stmtFindings.map(f => findingCard(f, known))));
  }
  parts.push(el('h2', {}, 'Top statements of the last interval'));
  if (!statements || statements.problem) {
    parts.push(problemNote(statements));
  } else {
    parts.push(el('p', { class: 'note' }, statements.total + ' statements ran in the last ' + fmtSeconds(statements.intervalSeconds)
      + (statements.truncated ? '; the 50 with the most execution time:' : ':')));
    parts.push(sortable('statements-table', statementColumns(), statements.items, { column: 4, desc: true }, s => s.queryId));
  }
  parts.push(el('h2', {}, 'Top statements of the last hour'));
  if (!hour || hour.problem) {
    parts.push(problemNote(hour));
  } else if (!hour.since && statements && statements.problem && statements.problem.reason !== 'no-interval-yet') {
    // Why nothing is counted: the collector's problem (off, failed) or the target's, as the interval's answer says.
    parts.push(problemNote(statements));
  } else if (!hour.since) {
    parts.push(el('p', { class: 'note' }, 'Nothing counted yet: the hour begins with the second poll that reaches the target.'));
  } else {
    parts.push(el('p', { class: 'note', id: 'hour-note' }, hourNote(hour)));
    parts.push(sortable('statements-hour-table', statementColumns(true), hour.items, { column: 4, desc: true }, s => s.queryId));
  }
  fill('statements', parts);
}

function statementColumns(hour) {
  return [
    { label: 'queryid', value: s => s.queryId, render: s => statementLink(s.queryId) },
    { label: 'database', value: s => s.database },
    { label: 'calls', value: s => s.calls, num: true },
    { label: 'mean', value: s => s.meanExecSeconds, render: s => fmtSeconds(s.meanExecSeconds), num: true },
    { label: 'total', value: s => s.totalExecSeconds, render: s => fmtSeconds(s.totalExecSeconds), num: true },
    { label: 'rows/call', value: s => s.rowsPerCall, num: true },
    { label: 'temp', value: s => s.tempBytes, render: s => fmtBytes(s.tempBytes), num: true },
    { label: 'query', value: s => s.query, render: s => hour && !s.inPgStatStatements
      ? [statementText(s.query), el('span', { class: 'note' }, 'since left pg_stat_statements')] : statementText(s.query) },
  ];
}

/** What "the last hour" covers: at most 60 minutes (55 to 60 in 5-minute slices), less when pgvigil has counted less. */
function hourNote(hour) {
  const span = hour.spanSeconds;
  let text = hour.total + ' statements ran in the ' + (span >= 3300 ? 'last hour' : 'last ' + fmtSeconds(span)
    + ' (pgvigil has counted for less than an hour)') + ', from ' + new Date(hour.since).toLocaleTimeString('en');
  if (hour.countedSeconds < span - 1) {
    text += '; ' + fmtSeconds(span - hour.countedSeconds) + ' of it not counted (the target was down and restarted, '
      + 'or pg_stat_statements was reset or not read)';
  }
  if (hour.held) text += '; ' + hour.held + ' readings held (reset or evicted entries)';
  if (hour.otherStatements) {
    text += '; ' + fmtSeconds(hour.otherExecSeconds) + ' of execution time by statements outside a 5-minute slice\'s top 100 is not in the rows';
  }
  return text + (hour.truncated ? '. The 50 with the most execution time:' : ':');
}

async function renderStatement(queryId) {
  fill('statement', el('p', { class: 'note' }, 'Loading statement ' + queryId + '…'));
  let s;
  try {
    s = await api('/api/v1/statements/' + encodeURIComponent(queryId));
  } catch (e) {
    if (e instanceof Unauthorized) {
      askForToken();
    } else {
      fill('statement', el('p', { class: 'note' }, 'Statement ' + queryId + ' could not be loaded: '
          + (e && e.message ? e.message : 'pgvigil did not answer') + '.'));
    }
    return;
  }
  const parts = [el('p', {}, el('a', { href: '#statements' }, '← Statements'))];
  parts.push(el('h2', {}, 'queryid ', el('span', { class: 'qid' }, queryId)));
  if (s.problem) {
    parts.push(problemNote(s));
  } else {
    for (const e of s.entries) {
      parts.push(el('div', { class: 'entry' }, el('pre', { class: 'sql' }, el('code', {}, e.query === null ? '(text not kept)' : e.query)),
        el('p', { class: 'note' }, `database ${e.database ?? '–'} · user ${e.user ?? '–'} · ${fmtNumber(e.calls)} calls · mean `
          + `${fmtSeconds(e.meanExecSeconds)} · total ${fmtSeconds(e.totalExecSeconds)} · ${fmtNumber(e.rows)} rows (cumulative)`)));
    }
    const fs = data.findings && data.findings.items ? data.findings.items.filter(f => f.subject === queryId || f.message.includes(queryId)) : [];
    if (fs.length) parts.push(el('h2', {}, 'Findings'), el('ul', { class: 'findings' }, fs.map(f => findingCard(f, knownQueryIds()))));
    parts.push(el('h2', {}, 'Plans'));
    if (!s.plansEnabled) parts.push(el('p', { class: 'note' }, 'Plans are off (pgvigil.plans.enabled).'));
    if (s.plansProblem) parts.push(el('p', { class: 'note' }, s.plansProblem));
    for (const p of s.plans) {
      parts.push(el('h3', {}, 'In ' + p.database + ' (' + p.method + ', ' + fmtAgo(p.obtainedAt) + ')'),
        el('pre', { class: 'plan' }, p.text));
      for (const a of p.indexAdvice) {
        parts.push(el('div', { class: 'advice' }, el('p', {}, a.table + ': ' + a.filter),
          a.sql ? el('pre', { class: 'sql' }, el('code', {}, a.sql)) : null, el('p', { class: 'how' }, a.sql ? a.how : a.reason)));
      }
    }
    for (const pf of s.planFailures) parts.push(el('p', { class: 'note' }, 'No plan in ' + pf.database + ': ' + pf.reason));
    if (s.plansEnabled && s.plans.length === 0 && s.planFailures.length === 0) {
      parts.push(el('p', { class: 'note' }, 'No plan yet: statements are planned when a finding points at them.'));
    }
  }
  fill('statement', parts);
}

function renderRelations() {
  const { findings, indexes, tables } = data;
  const parts = [];
  const known = knownQueryIds();
  const rf = findings && findings.items ? findings.items.filter(f => RELATION_CHECKS.has(f.check)) : [];
  parts.push(el('h2', {}, 'Findings'));
  if (rf.length) parts.push(el('ul', { class: 'findings' }, rf.map(f => findingCard(f, known))));
  else parts.push(el('p', { class: 'ok' }, findings && !findings.problem ? 'No index or table finding is open.' : ''), findings && findings.problem ? problemNote(findings) : null);
  parts.push(el('h2', {}, 'Indexes in a finding'));
  if (!indexes || indexes.problem) parts.push(problemNote(indexes));
  else {
    parts.push(sortable('indexes-table', [
      { label: 'database', value: i => i.database },
      { label: 'index', value: i => i.schema + '.' + i.name },
      { label: 'table', value: i => i.table },
      { label: 'columns', value: i => i.expressions || i.columns.join(', ') },
      { label: 'size', value: i => i.sizeBytes, render: i => fmtBytes(i.sizeBytes), num: true },
      { label: 'scans', value: i => i.scans, num: true },
      { label: 'findings', value: i => i.findings.map(f => f.check).join(', ') },
    ], indexes.items, { column: 4, desc: true }, i => 'index:' + i.database + '.' + i.schema + '.' + i.name));
  }
  parts.push(el('h2', {}, 'Largest tables'));
  if (!tables || tables.problem) parts.push(problemNote(tables));
  else {
    // The 25 largest, and every table in a finding (its finding links to its row).
    const top = tables.items.slice().sort((a, b) => (b.sizeBytes || 0) - (a.sizeBytes || 0))
      .filter((t, i) => i < 25 || t.findings.length > 0);
    parts.push(sortable('tables-table', [
      { label: 'database', value: t => t.database },
      { label: 'table', value: t => t.schema + '.' + t.name },
      { label: 'size', value: t => t.sizeBytes, render: t => fmtBytes(t.sizeBytes), num: true },
      { label: 'live rows', value: t => t.liveRows, num: true },
      { label: 'dead rows', value: t => t.deadRows, num: true },
      { label: 'seq scans', value: t => t.seqScans, num: true },
      { label: 'index scans', value: t => t.indexScans, num: true },
      { label: 'last autovacuum', value: t => t.lastAutovacuumAt, render: t => time(t.lastAutovacuumAt) },
      { label: 'findings', value: t => t.findings.map(f => f.check).join(', ') },
    ], top, { column: 2, desc: true }, t => 'table:' + t.database + '.' + t.schema + '.' + t.name));
  }
  fill('relations', parts);
}

function renderConnections() {
  const { activity, findings } = data;
  const parts = [];
  const known = knownQueryIds();
  const cf = findings && findings.items ? findings.items.filter(f => ['pool_saturation', 'lock_wait', 'long_transaction', 'pooler_saturation'].includes(f.check)) : [];
  if (cf.length) parts.push(el('ul', { class: 'findings' }, cf.map(f => findingCard(f, known))));
  if (!activity || activity.problem) {
    fill('connections', parts, problemNote(activity));
    return;
  }
  const c = activity.connections;
  if (c) {
    const used = c.usableSlots ? c.clientBackends / c.usableSlots : null;
    parts.push(el('p', { class: 'gauge-line', 'data-key': 'slots' }, c.clientBackends + ' client connections of ' + (c.usableSlots ?? '–') + ' usable slots'
      + (c.maxConnections ? ' (max_connections ' + c.maxConnections + ')' : '')));
    if (used !== null) {
      const meter = el('meter', { min: 0, max: 1, low: 0.8, high: 0.9, optimum: 0, value: Math.min(1, used).toFixed(3), 'aria-label': 'connection slots used' });
      parts.push(meter);
    }
    parts.push(el('h2', {}, 'By database and state'), sortable('connections-table', [
      { label: 'database', value: r => r.database },
      { label: 'state', value: r => r.state },
      { label: 'connections', value: r => r.count, num: true },
    ], c.byState, { column: 2, desc: true }));
  }
  parts.push(el('h2', {}, 'Blocking chains'));
  if (!activity.lockChains) parts.push(el('p', { class: 'note' }, 'pg_stat_activity was not read in the latest poll.'));
  else if (activity.lockChains.length === 0) parts.push(el('p', { class: 'ok' }, 'Nothing waits on a lock.'));
  else {
    for (const ch of activity.lockChains) {
      // lock_wait's subject is the database of the waiting sessions (the root blocker may be in another):
      // its link selects every chain with a waiter there.
      const keys = [...new Set(ch.waiters.map(w => w.database).filter(d => d))].map(d => 'locks:' + d);
      parts.push(el('div', { class: 'chain', 'data-keys': keys.length ? JSON.stringify(keys) : null },
        el('p', {}, el('strong', {}, 'Root blocker ', backendName(ch.root)), ' blocks ' + ch.blockedDirectly + ' directly, '
          + ch.blockedInTotal + ' in all (depth ' + ch.depth + ')'),
        ch.root.query ? el('pre', { class: 'sql' }, el('code', {}, ch.root.query)) : null,
        el('ul', {}, ch.waiters.map(w => el('li', {}, backendName(w) + (w.lockWaitSeconds !== null ? ', waiting ' + fmtSeconds(w.lockWaitSeconds) : ''),
          w.query ? el('code', { class: 'query' }, w.query) : null)))));
    }
  }
  if (activity.poolers.length) {
    parts.push(el('h2', {}, 'PgBouncer'));
    for (const p of activity.poolers) {
      parts.push(el('h3', {}, p.name + ' (' + p.address + ') ', el('span', { class: 'pill ' + (p.up ? 'up' : 'down') }, p.up ? 'up' : 'down')));
      if (!p.up) parts.push(el('p', { class: 'error' }, p.error));
      parts.push(sortable('pools-' + p.name, [
        { label: 'database', value: x => x.database },
        { label: 'user', value: x => x.user },
        { label: 'mode', value: x => x.poolMode },
        { label: 'clients active', value: x => x.clientsActive, num: true },
        { label: 'clients waiting', value: x => x.clientsWaiting, num: true },
        { label: 'servers active', value: x => x.serversActive, num: true },
        { label: 'servers idle', value: x => x.serversIdle, num: true },
        { label: 'longest wait', value: x => x.maxWaitSeconds, render: x => fmtSeconds(x.maxWaitSeconds), num: true },
      ], p.pools, { column: 4, desc: true }, x => 'pool:' + p.name + '/' + x.database + '/' + x.user));
    }
  }
  fill('connections', parts);
}

function backendName(b) {
  if (b.gid !== null || b.pid === null) return 'prepared transaction ' + (b.gid ?? '(unknown)');
  return 'pid ' + b.pid + (b.user ? ' (' + b.user + (b.database ? '@' + b.database : '') + ')' : '')
    + (b.state ? ', ' + b.state : '') + (b.xactAgeSeconds !== null && b.xactAgeSeconds !== undefined ? ', transaction ' + fmtSeconds(b.xactAgeSeconds) : '');
}

function renderReplication() {
  const { activity, findings, status } = data;
  const parts = [el('p', {}, 'This server is a ' + (status.target.role || 'server of unknown role') + '.')];
  const known = knownQueryIds();
  const rf = findings && findings.items ? findings.items.filter(f => f.check.startsWith('replication') || f.check === 'xmin_horizon') : [];
  if (rf.length) parts.push(el('ul', { class: 'findings' }, rf.map(f => findingCard(f, known))));
  if (!activity || activity.problem) {
    fill('replication', parts, problemNote(activity));
    return;
  }
  parts.push(el('h2', {}, 'Standbys'));
  if (!activity.standbys) parts.push(el('p', { class: 'note' }, 'Not read on this server.'));
  else if (!activity.standbys.length) parts.push(el('p', { class: 'note' }, 'No standby is connected.'));
  else {
    parts.push(sortable('standbys-table', [
      { label: 'name', value: s => s.applicationName },
      { label: 'address', value: s => s.clientAddr },
      { label: 'state', value: s => s.state },
      { label: 'sync', value: s => s.syncState },
      { label: 'replay lag', value: s => s.replayLagSeconds, render: s => fmtSeconds(s.replayLagSeconds), num: true },
      { label: 'replay lag (bytes)', value: s => s.replayLagBytes, render: s => fmtBytes(s.replayLagBytes), num: true },
    ], activity.standbys, null, s => 'standby:' + s.applicationName));
  }
  parts.push(el('h2', {}, 'Slots'));
  if (!activity.slots) parts.push(el('p', { class: 'note' }, 'Not read on this server.'));
  else if (!activity.slots.length) parts.push(el('p', { class: 'note' }, 'No replication slot.'));
  else {
    parts.push(sortable('slots-table', [
      { label: 'slot', value: s => s.slotName },
      { label: 'type', value: s => s.slotType },
      { label: 'database', value: s => s.database },
      { label: 'active', value: s => s.active },
      { label: 'wal status', value: s => s.walStatus },
      { label: 'retained', value: s => s.retainedBytes, render: s => fmtBytes(s.retainedBytes), num: true },
    ], activity.slots, { column: 5, desc: true }, s => 'slot:' + s.slotName));
  }
  fill('replication', parts);
}

function renderStatus() {
  const { status } = data;
  const p = status.poll;
  const parts = [el('dl', { class: 'facts' },
    el('dt', {}, 'Target'), el('dd', {}, status.target.url),
    el('dt', {}, 'Poll interval'), el('dd', {}, fmtSeconds(p.intervalSeconds)),
    el('dt', {}, 'Last poll'), el('dd', {}, time(p.lastStartedAt)),
    el('dt', {}, 'Last reached the target'), el('dd', {}, time(p.lastSuccessAt)),
    el('dt', {}, 'Polls'), el('dd', {}, p.total + ' (' + p.failed + ' could not reach the target)'),
    el('dt', {}, 'History kept'), el('dd', {}, data.history && data.history.capacity ? data.history.capacity + ' polls' : '–'))];
  if (status.target.error) parts.push(el('p', { class: 'error' }, status.target.error));
  parts.push(el('h2', {}, 'Collectors'), sortable('collectors-table', [
    { label: 'collector', value: c => c.collector },
    { label: 'state', value: c => (!c.enabled ? 'off' : c.success ? 'ok' : 'failed') },
    { label: 'duration', value: c => c.durationSeconds, render: c => fmtSeconds(c.durationSeconds), num: true },
    { label: 'why', value: c => c.reason || c.error },
  ], status.collectors));
  const c = data.config;
  if (c && !c.problem) {
    parts.push(el('h2', {}, 'Configuration'), el('dl', { class: 'facts', id: 'config' },
      el('dt', {}, 'Databases visited'), el('dd', {}, c.indexesEnabled ? 'every ' + fmtSeconds(c.indexesIntervalSeconds)
        + ': ' + c.databasesInclude.join(', ') + (c.databasesExclude.length ? ' except ' + c.databasesExclude.join(', ') : '') : 'off'),
      el('dt', {}, 'Plans'), el('dd', {}, c.plansEnabled ? 'on' : 'off'),
      el('dt', {}, 'PgBouncer'), el('dd', {}, c.pgbouncer ? 'watched' : 'none'),
      el('dt', {}, 'Findings listed'), el('dd', {}, 'at most ' + c.findingsMax),
      el('dt', {}, 'API token'), el('dd', {}, c.apiToken ? 'required' : 'not set'),
      el('dt', {}, 'Metrics token'), el('dd', {}, c.metricsToken ? 'required' : 'not set')));
    const rows = Object.entries(c.thresholds).map(([check, t]) => ({ check, warning: t.warning, critical: t.critical, info: t.info }));
    parts.push(el('h3', {}, 'Enabled checks and thresholds'), sortable('thresholds-table', [
      { label: 'check', value: r => r.check, render: r => el('a', { href: '#runbook/' + encodeURIComponent(r.check) }, r.check) },
      { label: 'info', value: r => r.info, render: r => r.info === undefined ? '–' : fmtValue(r.check, r.info), num: true },
      { label: 'warning', value: r => r.warning, render: r => r.warning === undefined ? '–' : fmtValue(r.check, r.warning), num: true },
      { label: 'critical', value: r => r.critical, render: r => r.critical === undefined ? '–' : fmtValue(r.check, r.critical), num: true },
    ], rows, { column: 0, desc: false }));
  }
  parts.push(el('h2', {}, 'Database visits'), sortable('visits-table', [
    { label: 'database', value: v => v.database },
    { label: 'visited', value: v => v.visitedAt, render: v => time(v.visitedAt) },
    { label: 'ok', value: v => v.success },
    { label: 'indexes', value: v => v.indexes, num: true },
    { label: 'tables', value: v => v.tables, num: true },
    { label: 'error', value: v => v.error },
  ], status.databases));
  fill('status', parts);
}

async function renderRunbook(check) {
  fill('runbook', el('p', { class: 'note' }, 'Loading…'));
  let text;
  try {
    const r = await fetch('/page/runbooks/' + encodeURIComponent(check) + '.md', { cache: 'no-store' });
    text = r.ok ? await r.text() : 'There is no runbook for ' + check + '.';
  } catch (e) {
    text = 'The runbook for ' + check + ' could not be loaded: pgvigil did not answer.';
  }
  fill('runbook', el('p', {}, el('a', { href: '#overview' }, '← Overview')), el('pre', { class: 'runbook-text' }, text));
}

// ---------------------------------------------------------------- routing

function route(focus) {
  let hash;
  try {
    hash = decodeURIComponent(location.hash.replace(/^#/, '')) || 'overview';
  } catch (e) {
    hash = 'overview'; // a malformed link (#%) opens the overview rather than a blank page
  }
  let section = hash;
  let row = null;
  if (hash.startsWith('statement/')) {
    section = 'statement';
    const id = hash.slice('statement/'.length);
    if (focus || shownStatement !== id) {
      shownStatement = id;
      renderStatement(id);
    }
  } else if (hash.startsWith('runbook/')) {
    section = 'runbook';
    const check = hash.slice('runbook/'.length);
    // Also when the page is opened at a runbook's link (a bookmark, a reload), not only on navigation.
    if (focus || shownRunbook !== check) {
      shownRunbook = check;
      renderRunbook(check);
    }
  } else if (hash.includes('/') && SECTIONS.includes(hash.slice(0, hash.indexOf('/')))) {
    section = hash.slice(0, hash.indexOf('/'));
    row = hash.slice(section.length + 1);
  } else if (!SECTIONS.includes(hash)) {
    section = 'overview';
  }
  if (section !== 'statement') shownStatement = null;
  if (section !== 'runbook') shownRunbook = null;
  for (const s of document.querySelectorAll('main > section')) s.hidden = s.id !== section;
  for (const a of document.querySelectorAll('nav a')) {
    const current = a.dataset.section === section || (section === 'statement' && a.dataset.section === 'statements');
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (focus) document.getElementById('main').focus({ preventScroll: true });
  selectRow(section, row, focus);
}

let scrolledTo = null;

/** The keys an element answers to: its data-key, or the JSON list of its data-keys (a chain in several databases). */
function keysOf(e) {
  if (e.dataset.keys) {
    try {
      return JSON.parse(e.dataset.keys);
    } catch (err) {
      return [];
    }
  }
  return [e.dataset.key];
}

/**
 * Marks the rows of #section/key (data-key = key, or key among data-keys) as selected and, once per
 * navigation, scrolls to the first. Called again after every refresh (rows are redrawn): before the data
 * has come, nothing yet; a key with no row says so, and a statement outside the top lists opens its own
 * page instead, only when the link is followed (the first data after it), never because a row it showed
 * has since left the lists.
 */
function selectRow(section, key, navigated) {
  if (navigated) scrolledTo = null;
  for (const e of document.querySelectorAll('.selected')) {
    e.classList.remove('selected');
    e.removeAttribute('aria-current');
  }
  for (const e of document.querySelectorAll('.row-missing')) e.remove();
  if (key === null || !data.status) return;
  const rows = [...document.querySelectorAll('#' + section + ' [data-key], #' + section + ' [data-keys]')]
    .filter(e => keysOf(e).includes(key));
  for (const e of rows) {
    e.classList.add('selected');
    e.setAttribute('aria-current', 'true');
  }
  if (rows.length) {
    if (scrolledTo !== location.hash) {
      scrolledTo = location.hash;
      rows[0].scrollIntoView({ block: 'center' });
    }
    return;
  }
  if (section === 'statements' && isQueryId(key) && data.statements && !data.statements.problem
      && scrolledTo !== location.hash) {
    scrolledTo = location.hash;
    location.replace('#statement/' + encodeURIComponent(key));
    return;
  }
  // (The key is not echoed: a crafted link would put any sentence on the page.)
  const note = el('p', { class: 'note row-missing', role: 'status' }, 'The row this link points at is not listed here (any more).');
  body(section).prepend(note);
}

window.addEventListener('hashchange', () => route(true));
for (const a of document.querySelectorAll('nav a')) {
  // The section already shown: no hashchange, but the link still takes the focus to the content.
  a.addEventListener('click', () => {
    if (location.hash === a.getAttribute('href')) route(true);
  });
}
document.querySelector('.skip').addEventListener('click', ev => {
  ev.preventDefault();
  document.getElementById('main').focus();
});
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && document.getElementById('token-form').hidden) refresh();
});

setupTokenForm();
route(false);
refresh();
