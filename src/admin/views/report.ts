/**
 * The dashboard's home: the report of a time window (the case's tables with charts: score
 * distribution, categories with dirty counts, top countries, top ISPs, actions over time,
 * reasons), its filters and the recent blocks, each IP linking to its drill-down. The charts
 * are drawn in the browser from a JSON data block; the tables carry the same numbers.
 */
import { ADMIN_REPORT_WINDOWS } from '../../constants';
import type { DecisionRow, Report } from '../../report/types';
import { SCORE_LEVELS } from '../../reputation/record';
import type { Loaded } from '../data';
import { html, jsonBlock, type SafeHtml } from '../html';
import { REPORT_ACTIONS } from '../query';
import { ADMIN_ROOT, ipLink, notice, page, type Shell } from './layout';

export interface ReportParams {
  since: string;
  routeClass: string;
  action: string;
  country: string;
  category: string;
}

export interface ReportView {
  shell: Shell;
  params: ReportParams;
  /** Route class names of the serving policy, for the filter. */
  classNames: string[];
  queryError: string | null;
  report: Loaded<Report> | null;
  blocks: Loaded<DecisionRow[]> | null;
}

const n = (v: number) => v.toLocaleString('en-US');

function select(name: string, label: string, value: string, options: readonly string[]) {
  return html`<label>${label}<select name="${name}"><option value="">any</option>${options.map(
    (o) => html`<option value="${o}"${o === value ? html` selected` : ''}>${o}</option>`,
  )}</select></label>`;
}

function filters(v: ReportView): SafeHtml {
  const p = v.params;
  const windows: readonly string[] = ADMIN_REPORT_WINDOWS;
  const since = windows.includes(p.since) ? p.since : '';
  return html`<form method="get" action="${ADMIN_ROOT}" class="filters">
<label>Window<select name="since">${windows.map(
    (w) =>
      html`<option value="${w}"${w === (since || '24h') ? html` selected` : ''}>last ${w}</option>`,
  )}</select></label>
${select('routeClass', 'Route class', p.routeClass, [...v.classNames, 'site'])}
${select('action', 'Action', p.action, REPORT_ACTIONS)}
<label>Country<input type="text" name="country" value="${p.country}" size="4" maxlength="2" placeholder="NL"></label>
<label>Category<input type="text" name="category" value="${p.category}" size="10" maxlength="32" placeholder="vpn"></label>
<button type="submit">Apply</button>
</form>`;
}

function table(head: string[], rows: (string | number | SafeHtml)[][], numeric: number[] = []) {
  return html`<table><thead><tr>${head.map(
    (h, i) => html`<th class="${numeric.includes(i) ? 'num' : ''}">${h}</th>`,
  )}</tr></thead><tbody>${rows.map(
    (r) =>
      html`<tr>${r.map((c, i) => html`<td class="${numeric.includes(i) ? 'num' : ''}">${typeof c === 'number' ? n(c) : c}</td>`)}</tr>`,
  )}</tbody></table>`;
}

function chart(name: string, title: string, body: SafeHtml, open = false): SafeHtml {
  return html`<figure class="chart"><figcaption>${title}</figcaption><div data-chart="${name}"></div>
<details${open ? html` open` : ''}><summary>Table</summary>${body}</details></figure>`;
}

function reportBody(r: Report): SafeHtml {
  const scores = [...SCORE_LEVELS, 'unknown' as const].map((s) => [s, r.scores[s] ?? 0]);
  const categories = Object.entries(r.categories).sort((a, b) => b[1].ips - a[1].ips);
  const reasons = Object.entries(r.reasons).sort((a, b) => b[1].requests - a[1].requests);
  const actions = Object.entries(r.actions);
  return html`<div class="totals"><div>${n(r.totals.requests)}<span>requests</span></div><div>${n(r.totals.ips)}<span>distinct IPs</span></div>${actions.map(
    ([a, c]) => html`<div>${n(c?.requests ?? 0)}<span>${a}</span></div>`,
  )}</div>
<p class="muted">${r.window.since} – ${r.window.until}</p>
<div class="grid">
${chart('scores', 'Score distribution (distinct IPs, highest score in the window)', table(['score', 'IPs'], scores, [1]))}
${chart(
  'categories',
  'Categories (IPs, and how many of them are dirty)',
  table(
    ['category', 'IPs', 'dirty'],
    categories.map(([c, v]) => [c, v.ips, v.dirty]),
    [1, 2],
  ),
)}
${chart(
  'countries',
  'Top countries',
  table(
    ['country', 'IPs'],
    r.countries.map((c) => [c.country || '(unknown)', c.ips]),
    [1],
  ),
)}
${chart(
  'isps',
  'Top ISPs / ASNs',
  table(
    ['organisation', 'ASN', 'IPs'],
    r.isps.map((i) => [i.org || '(unknown)', i.asn ? `AS${i.asn}` : '', i.ips]),
    [2],
  ),
)}
${chart(
  'timeline',
  'Actions over time (requests)',
  table(
    ['bucket', 'action', 'requests', 'IPs'],
    r.timeline.map((t) => [t.bucket, t.action, t.requests, t.ips]),
    [2, 3],
  ),
)}
${chart(
  'reasons',
  'Reasons',
  table(
    ['reason', 'requests', 'IPs'],
    reasons.map(([k, v]) => [k, v.requests, v.ips]),
    [1, 2],
  ),
)}
</div>
<h2>Top paths</h2>
${table(
  ['path', 'requests', 'blocked'],
  r.paths.map((p) => [p.path, p.requests, p.blocked]),
  [1, 2],
)}
${jsonBlock('ipgate-report', {
  window: r.window,
  scores: r.scores,
  categories: r.categories,
  countries: r.countries,
  isps: r.isps,
  timeline: r.timeline,
  reasons: r.reasons,
})}`;
}

/** A table of decisions (recent blocks here, an IP's decisions on its page). */
export function decisionsTable(rows: DecisionRow[], withIp: boolean): SafeHtml {
  if (rows.length === 0) return html`<p class="muted">None in this window.</p>`;
  const head = [
    'time',
    ...(withIp ? ['IP'] : []),
    'request',
    'class',
    'action',
    'reason',
    'rule',
    'score',
    'categories',
    'country',
    'ISP',
    'source',
    'ref',
  ];
  return table(
    head,
    rows.map((d) => [
      d.time,
      ...(withIp ? [ipLink(d.ip)] : []),
      html`<code>${d.method} ${d.path}</code>`,
      d.routeClass,
      d.action,
      d.reason,
      d.rule,
      d.score,
      d.categories.join(', '),
      d.country,
      d.asn ? `${d.org} (AS${d.asn})` : d.org,
      d.source,
      html`<code>${d.ref}</code>`,
    ]),
  );
}

export function reportPage(v: ReportView): string {
  let body: SafeHtml;
  if (v.queryError !== null) body = notice('error', v.queryError);
  else if (v.report && !v.report.ok) body = notice('error', v.report.error.detail);
  else if (v.report?.ok) body = reportBody(v.report.value);
  else body = html``;
  const blocks =
    v.blocks === null
      ? ''
      : v.blocks.ok
        ? decisionsTable(v.blocks.value, true)
        : notice('error', v.blocks.error.detail);
  return page(
    { ...v.shell, charts: Boolean(v.report?.ok) },
    html`<h1>Report</h1>${filters(v)}${body}<h2>Recent blocks and challenges</h2>${blocks}`,
  );
}
