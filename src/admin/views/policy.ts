/**
 * The policy page: what is stored and what this isolate serves, a form for the common changes
 * (mode, each rule's score levels, categories and action per route class, protected paths,
 * unknown-IP action, allow and deny lists), the whole document as JSON for everything else, and
 * the saved versions with a roll-back button each. Every change goes through a preview that
 * shows the line diff and the schema's problems, each with its path, before anything is saved.
 */
import { ACTIONS, type ClassBehaviour, type PolicyIssue } from '../../policy/schema';
import type { PolicyVersion } from '../../policy/versions';
import { SCORE_LEVELS } from '../../reputation/record';
import type { PolicyState } from '../data';
import type { DiffLine } from '../diff';
import { html, type SafeHtml } from '../html';
import { policyText, RULE_CATEGORIES } from '../policy-form';
import { adminPath, notice, page, type Shell } from './layout';

export interface Flash {
  kind: 'ok' | 'error' | 'info';
  text: string;
}

function hidden(csrf: string, base: string): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="base" value="${base}">`;
}

function actionSelect(name: string, value: string, choices: readonly string[]): SafeHtml {
  return html`<select name="${name}">${choices.map(
    (a) => html`<option value="${a}"${a === value ? html` selected` : ''}>${a}</option>`,
  )}</select>`;
}

function checks(name: string, options: readonly string[], checked: readonly string[]): SafeHtml {
  return html`<span class="checks">${options.map(
    (o) =>
      html`<label><input type="checkbox" name="${name}" value="${o}"${checked.includes(o) ? html` checked` : ''}> ${o}</label>`,
  )}</span>`;
}

function behaviour(prefix: string, b: ClassBehaviour): SafeHtml {
  const rules =
    b.rules.length === 0
      ? html`<p class="muted">No rules: every IP passes (and is recorded). Add rules in the JSON editor.</p>`
      : html`<table><thead><tr><th>rule</th><th>scores</th><th>categories</th><th>action</th></tr></thead><tbody>${b.rules.map(
          (r, j) => {
            const at = `${prefix}.rule.${j}`;
            const cats = [
              ...RULE_CATEGORIES,
              ...(r.categories ?? []).filter(
                (c) => !(RULE_CATEGORIES as readonly string[]).includes(c),
              ),
            ];
            return html`<tr><td>${r.name}<input type="hidden" name="${at}.present" value="1"></td>
<td>${checks(`${at}.scores`, SCORE_LEVELS, r.scores ?? [])}</td>
<td>${checks(`${at}.categories`, cats, r.categories ?? [])}</td>
<td>${actionSelect(`${at}.action`, r.action, ACTIONS)}</td></tr>`;
          },
        )}</tbody></table>`;
  return html`${rules}<label>IPs with no record (unknown): ${actionSelect(`${prefix}.unknown`, b.unknown, ACTIONS)}</label>`;
}

function listFields(
  name: 'allow' | 'deny',
  list: { ips: string[]; asns: number[]; countries: string[] },
) {
  const title = name === 'allow' ? 'Allow list (always passes)' : 'Deny list (always blocked)';
  return html`<fieldset><legend>${title}</legend><div class="lists">
<label>IPs and CIDRs<textarea name="${name}.ips" rows="5">${list.ips.join('\n')}</textarea></label>
<label>ASNs<textarea name="${name}.asns" rows="5">${list.asns.join('\n')}</textarea></label>
<label>Countries<textarea name="${name}.countries" rows="5">${list.countries.join('\n')}</textarea></label>
</div></fieldset>`;
}

function editForm(state: PolicyState, csrf: string): SafeHtml {
  if (!state.parsed.ok)
    return notice(
      'error',
      'The stored document is not a valid policy, so only the JSON editor below can change it.',
    );
  const p = state.parsed.policy;
  return html`<form method="post" action="${adminPath('/policy/preview')}">${hidden(csrf, state.version)}
<fieldset><legend>Mode</legend><span class="checks">
<label><input type="radio" name="mode" value="enforce"${p.mode === 'enforce' ? html` checked` : ''}> enforce (blocks and challenges apply)</label>
<label><input type="radio" name="mode" value="monitor"${p.mode === 'monitor' ? html` checked` : ''}> monitor (recorded only, everything passes)</label>
</span></fieldset>
<label>Comment <input type="text" name="comment" value="${p.comment ?? ''}" size="60" maxlength="1000"></label>
${p.routeClasses.map(
  (
    rc,
    i,
  ) => html`<fieldset><legend>Route class ${rc.name}${rc.methods ? ` (${rc.methods.join(', ')})` : ''}</legend>
<label>Protected paths, one per line (<code>/login</code> exactly, <code>/api/auth/*</code> and below)<textarea name="rc.${String(i)}.paths" rows="${String(Math.min(12, rc.paths.length + 1))}">${rc.paths.join('\n')}</textarea></label>
${behaviour(`rc.${i}`, rc)}</fieldset>`,
)}
<fieldset><legend>Every other path (site)</legend>${behaviour('site', p.site)}</fieldset>
${listFields('allow', p.allow)}${listFields('deny', p.deny)}
<button type="submit">Preview changes</button>
</form>`;
}

function versionsTable(versions: PolicyVersion[], current: string, csrf: string): SafeHtml {
  if (versions.length === 0)
    return html`<p class="muted">No saved versions yet: the first save makes one.</p>`;
  return html`<table><thead><tr><th>version</th><th>saved</th><th>content</th><th></th></tr></thead><tbody>${versions.map(
    (
      v,
    ) => html`<tr><td><code>${v.id}</code></td><td>${v.savedAt}</td><td><code>${v.hash}</code>${v.hash === current ? html` <strong>(current)</strong>` : ''}</td>
<td>${
      v.hash === current
        ? ''
        : html`<form method="post" action="${adminPath('/policy/rollback')}" class="inline"><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="version" value="${v.id}"><button type="submit" class="secondary">Roll back to this</button></form>`
    }</td></tr>`,
  )}</tbody></table>`;
}

function issuesList(issues: PolicyIssue[]): SafeHtml {
  return html`<ul>${issues.map((i) => html`<li><code>${i.path || '(document)'}</code>: ${i.message}</li>`)}</ul>`;
}

export function policyPage(
  shell: Shell,
  csrf: string,
  state: PolicyState,
  flash: Flash | null,
): string {
  const s = state.serving;
  const status = html`<table>
<tr><th>stored</th><td>${state.text === null ? 'none: the built-in defaults apply' : html`<code>${state.version}</code>`}</td></tr>
<tr><th>this isolate serves</th><td><code>${s.version}</code> (${s.source})${s.valid ? '' : html` — <strong>the stored document was refused; the last good policy keeps serving</strong>`}</td></tr>
</table>
${s.valid ? '' : issuesList(s.issues)}
${state.parsed.ok ? '' : html`${notice('error', 'The stored document has problems:')}${issuesList(state.parsed.issues)}`}
<p class="muted">A saved policy applies in this isolate at once and everywhere within about a minute (KV propagation and the 30 s / 60 s policy cache).</p>`;
  // Pretty-printed when it is JSON (a one-line document is hard to edit); as stored otherwise.
  const json = state.document === null ? (state.text ?? '') : policyText(state.document);
  return page(
    { ...shell, title: 'Policy', active: 'policy' },
    html`<h1>Policy</h1>${flash ? notice(flash.kind, flash.text) : ''}${status}
<h2>Edit</h2>${editForm(state, csrf)}
<h2>Edit as JSON</h2>
<form method="post" action="${adminPath('/policy/preview')}">${hidden(csrf, state.version)}
<textarea name="json" rows="24" spellcheck="false">${json}</textarea>
<button type="submit">Preview changes</button></form>
<h2>Saved versions</h2>${versionsTable(state.versions, state.version, csrf)}`,
  );
}

export interface PreviewView {
  shell: Shell;
  csrf: string;
  base: string;
  text: string;
  issues: PolicyIssue[] | null;
  diff: DiffLine[];
  changed: boolean;
}

function diffBlock(lines: DiffLine[]): SafeHtml {
  return html`<pre class="diff">${lines.map((l) =>
    l.op === 'skip'
      ? html`<span class="skip">… ${String(l.count)} unchanged lines</span>`
      : l.op === 'same'
        ? html`  ${l.text}\n`
        : html`<span class="${l.op}">${l.op === 'add' ? '+ ' : '- '}${l.text}</span>`,
  )}</pre>`;
}

export function previewPage(v: PreviewView): string {
  let body: SafeHtml;
  if (v.issues !== null) {
    body = html`${notice('error', `The new document is not a valid policy (${v.issues.length} problem(s)); nothing was saved.`)}
${issuesList(v.issues)}
<h2>Changes</h2>${diffBlock(v.diff)}
<h2>Fix it</h2>
<form method="post" action="${adminPath('/policy/preview')}">${hidden(v.csrf, v.base)}
<textarea name="json" rows="24" spellcheck="false">${v.text}</textarea>
<button type="submit">Preview again</button></form>`;
  } else if (!v.changed) {
    body = notice('info', 'No changes: the new document is the one stored.');
  } else {
    body = html`<p>Lines starting with <code>-</code> are removed, <code>+</code> added.</p>${diffBlock(v.diff)}
<form method="post" action="${adminPath('/policy/save')}">${hidden(v.csrf, v.base)}
<input type="hidden" name="json" value="${v.text}">
<button type="submit">Save as a new version and apply</button></form>`;
  }
  return page(
    { ...v.shell, title: 'Policy preview', active: 'policy' },
    html`<h1>Policy preview</h1>${body}<p><a href="${adminPath('/policy')}">Back to the policy</a></p>`,
  );
}
