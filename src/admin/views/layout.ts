/**
 * The dashboard's page shell (header, navigation, sign-out form), the sign-in page and the
 * message pages. Every value goes through `html`, which escapes it.
 */
import { RESERVED_PREFIX } from '../../constants';
import { html, type SafeHtml } from '../html';

export const ADMIN_ROOT = `${RESERVED_PREFIX}/`;

/** A dashboard URL: `adminPath('/policy')` is `/__ipgate/policy`. */
export function adminPath(path: string): string {
  return `${RESERVED_PREFIX}${path}`;
}

export function ipLink(ip: string): SafeHtml {
  if (!ip) return html`<span class="muted">(none)</span>`;
  return html`<a href="${adminPath(`/ip/${encodeURIComponent(ip)}`)}">${ip}</a>`;
}

export interface Shell {
  title: string;
  /** Who is signed in, for the header; null on pages before sign-in. */
  who: string | null;
  /** CSRF token for the sign-out form; null when there is no session to end. */
  signOutCsrf: string | null;
  active?: 'report' | 'policy' | 'ip';
  /** Load the chart library and the page script. */
  charts?: boolean;
}

export function page(shell: Shell, body: SafeHtml): string {
  const nav = (key: Shell['active'], href: string, label: string) =>
    html`<a href="${href}" class="${shell.active === key ? 'active' : ''}">${label}</a>`;
  const header =
    shell.who === null
      ? html`<header class="top"><span class="brand">ipgate</span></header>`
      : html`<header class="top"><span class="brand">ipgate</span>
<nav>${nav('report', ADMIN_ROOT, 'Report')}${nav('policy', adminPath('/policy'), 'Policy')}<a href="${adminPath('/health')}">Health</a></nav>
<span class="who">${shell.who}${
          shell.signOutCsrf === null
            ? ''
            : html`<form method="post" action="${adminPath('/logout')}" class="inline"><input type="hidden" name="csrf" value="${shell.signOutCsrf}"><button type="submit" class="secondary">Sign out</button></form>`
        }</span></header>`;
  const scripts = shell.charts
    ? html`<link rel="stylesheet" href="${adminPath('/assets/uplot.css')}">
<script src="${adminPath('/assets/uplot.js')}" defer></script>
<script src="${adminPath('/assets/dashboard.js')}" defer></script>`
    : '';
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow"><meta name="referrer" content="same-origin">
<link rel="icon" href="data:,">
<title>${shell.title} · ipgate</title>
<link rel="stylesheet" href="${adminPath('/assets/dashboard.css')}">
${scripts}
</head><body>
${header}
<main>
${body}
</main>
</body></html>
`.value;
}

export function notice(kind: 'info' | 'error' | 'ok', text: SafeHtml | string): SafeHtml {
  return html`<div class="notice ${kind === 'info' ? '' : kind}">${text}</div>`;
}

/** A page with one message (errors, the disabled dashboard, refusals). */
export function messagePage(title: string, message: string, who: string | null = null): string {
  return page(
    { title, who, signOutCsrf: null },
    html`<h1>${title}</h1>${notice('error', message)}<p><a href="${ADMIN_ROOT}">Back to the dashboard</a></p>`,
  );
}

export function signInPage(error: string | null): string {
  return page(
    { title: 'Sign in', who: null, signOutCsrf: null },
    html`<div class="login"><h1>Sign in to ipgate</h1>
${error === null ? '' : notice('error', error)}
<form method="post" action="${adminPath('/login')}">
<input type="text" name="username" value="admin" autocomplete="username" hidden>
<label for="token">Admin token</label>
<input type="password" id="token" name="token" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
<p class="muted">The token is the Worker's ADMIN_TOKEN secret. Scripts can send it as <code>Authorization: Bearer …</code> to the JSON API under <code>${adminPath('/api/')}</code>.</p></div>`,
  );
}
