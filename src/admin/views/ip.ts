/**
 * An IP's drill-down: its record in the table (with the feed that said so), live answers in
 * the API cache, what the serving policy would decide for it on each route class, and the
 * decisions recorded for it with their reasons.
 */
import { REASON_DESCRIPTIONS } from '../../policy/reasons';
import type { ReputationRecord } from '../../reputation/record';
import type { IpDetails } from '../data';
import { html, type SafeHtml } from '../html';
import { notice, page, type Shell } from './layout';
import { decisionsTable } from './report';

function record(r: ReputationRecord): SafeHtml {
  const rows: [string, string][] = [
    ['score', r.score],
    ['categories', r.categories.join(', ') || '(none)'],
    ['country', r.country ?? ''],
    ['ASN', r.asn === undefined ? '' : `AS${r.asn}`],
    ['organisation', r.org ?? ''],
    ['source', r.source ?? ''],
    ['observed', r.observedAt ?? ''],
  ];
  return html`<table>${rows.map(([k, v]) => html`<tr><th>${k}</th><td>${v}</td></tr>`)}</table>`;
}

export function ipPage(shell: Shell, d: IpDetails, window: string): string {
  const t = d.table;
  const tableSection =
    t.record !== null
      ? record(t.record)
      : t.status === 'error'
        ? notice('error', `The table could not be read: ${t.error ?? 'unknown error'}`)
        : html`<p class="muted">${t.status === 'miss' ? 'Not in the table.' : `No answer from the table (${t.status}).`}</p>`;
  const cache = d.apiCacheError
    ? notice('error', `The API cache could not be read: ${d.apiCacheError}`)
    : d.apiCache.length === 0
      ? html`<p class="muted">No cached live answer.</p>`
      : d.apiCache.map(
          (c) =>
            html`<h3>${c.provider}${c.at ? html` <span class="muted">answered ${c.at}</span>` : ''}</h3>${record(c.record)}`,
        );
  const decide = html`<table><thead><tr><th>route class</th><th>judged on</th><th>action</th><th>reason</th><th>rule</th></tr></thead><tbody>${d.wouldDecide.map(
    (w) =>
      html`<tr><td>${w.routeClass}</td><td><code>${w.path || '(any other path)'}</code></td><td>${w.decision.action}${w.decision.monitorOnly ? ' (monitor only)' : ''}</td><td title="${REASON_DESCRIPTIONS[w.decision.reason]}">${w.decision.reason}</td><td>${w.decision.rule}</td></tr>`,
  )}</tbody></table>`;
  const decisions = d.decisions.ok
    ? decisionsTable(d.decisions.value, false)
    : notice('error', d.decisions.error.detail);
  return page(
    { ...shell, title: d.ip, active: 'ip' },
    html`<h1>IP ${d.ip}</h1>
<h2>Table record <span class="muted">(generation ${t.generation || 'none'})</span></h2>${tableSection}
<h2>API cache</h2>${cache}
<h2>What policy ${d.policyVersion} decides now</h2>${decide}
<h2>Recorded decisions <span class="muted">(${window})</span></h2>${decisions}`,
  );
}
