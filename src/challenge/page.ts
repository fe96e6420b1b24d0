/**
 * The challenge response: 403 with a Turnstile widget for browsers, JSON for clients that ask
 * for it (they cannot solve the widget, so they learn only that a challenge stands in the way).
 *
 * The page loads one external script, Turnstile's own (it cannot work without it), and posts
 * the token with the return path to CHALLENGE_PATH. Everything placed in the page is escaped:
 * the operator's text, the site key, the reference id and the return path, which is validated
 * to a same-origin path first. As on the block page, the reason for the challenge stays in the
 * sink.
 */
import {
  CHALLENGE_PATH,
  REFERENCE_HEADER,
  TURNSTILE_ACTION,
  TURNSTILE_ORIGIN,
  TURNSTILE_SCRIPT_URL,
} from '../constants';
import { wantsJson } from '../proxy/block';
import { escapeHtml, jsonText } from '../util/html';
import { safeReturnPath } from './return-path';

/** Names of the form fields the page posts (the token field is Turnstile's). */
export const CHALLENGE_FIELDS = { token: 'cf-turnstile-response', returnTo: 'return' } as const;

export interface ChallengeText {
  title: string;
  message: string;
}

export const DEFAULT_CHALLENGE_TEXT: ChallengeText = {
  title: 'Checking your connection',
  message: 'Please confirm you are not a robot to continue to the site.',
};

/** Shown above the widget when the last token was refused. */
const RETRY_MESSAGE = 'The check did not succeed. Please try again.';

export interface ChallengePageOptions {
  /** The Turnstile widget's site key (public). */
  siteKey: string;
  /** Where to go after the challenge; anything but a same-origin path becomes `/`. */
  returnTo: string | null;
  reference: string;
  /** The request's `Accept` header. */
  accept: string | null;
  text?: Partial<ChallengeText>;
  /** The previous token was refused: say so above the widget. */
  retry?: boolean;
}

const CSP = [
  "default-src 'none'",
  `script-src ${TURNSTILE_ORIGIN}`,
  `frame-src ${TURNSTILE_ORIGIN}`,
  "style-src 'unsafe-inline'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function challengeResponse(options: ChallengePageOptions): Response {
  const text = { ...DEFAULT_CHALLENGE_TEXT, ...options.text };
  const headers = new Headers({
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    [REFERENCE_HEADER]: options.reference,
  });
  if (wantsJson(options.accept)) {
    headers.set('content-type', 'application/json; charset=utf-8');
    const body = {
      error: 'challenge_required',
      title: text.title,
      message: text.message,
      reference: options.reference,
    };
    return new Response(jsonText(body), { status: 403, headers });
  }
  headers.set('content-type', 'text/html; charset=utf-8');
  headers.set('content-security-policy', CSP);
  headers.set('x-frame-options', 'DENY');
  return new Response(challengePage(options, text), { status: 403, headers });
}

function challengePage(options: ChallengePageOptions, text: ChallengeText): string {
  const title = escapeHtml(text.title);
  const retry = options.retry
    ? `<p class="retry" role="alert">${escapeHtml(RETRY_MESSAGE)}</p>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${title}</title>
<script src="${escapeHtml(TURNSTILE_SCRIPT_URL)}" async defer></script>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:12vh auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem}code{background:#f2f2f2;padding:.1rem .3rem;border-radius:3px}
.retry{color:#a40000}button{font:inherit;margin-top:1rem;padding:.4rem 1rem}</style></head>
<body><h1>${title}</h1><p>${escapeHtml(text.message)}</p>${retry}
<form method="post" action="${escapeHtml(CHALLENGE_PATH)}">
<input type="hidden" name="${CHALLENGE_FIELDS.returnTo}" value="${escapeHtml(safeReturnPath(options.returnTo))}">
<div class="cf-turnstile" data-sitekey="${escapeHtml(options.siteKey)}" data-action="${escapeHtml(TURNSTILE_ACTION)}"></div>
<button type="submit">Continue</button>
</form>
<noscript><p>This check needs JavaScript.</p></noscript>
<p>Reference: <code>${escapeHtml(options.reference)}</code></p></body></html>
`;
}
