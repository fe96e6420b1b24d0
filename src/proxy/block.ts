/**
 * The block response: 403, as HTML for browsers and JSON for clients that ask for it. It
 * shows the operator's text and a reference id, and nothing from the request; the reason
 * stays in the sink, so an attacker learns nothing about which rule caught them.
 */
import { REFERENCE_HEADER } from '../constants';
import type { CompiledPolicy } from '../policy/compile';
import { escapeHtml, jsonText } from '../util/html';

export type BlockText = CompiledPolicy['document']['blockResponse'];

/** True when the client prefers JSON over HTML (API clients, fetch from scripts). */
export function wantsJson(accept: string | null): boolean {
  if (!accept) return false;
  const a = accept.toLowerCase();
  if (!a.includes('json')) return false;
  return !a.includes('text/html') || a.indexOf('json') < a.indexOf('text/html');
}

export function blockResponse(text: BlockText, ref: string, accept: string | null): Response {
  const headers = new Headers({
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    [REFERENCE_HEADER]: ref,
  });
  if (wantsJson(accept)) {
    headers.set('content-type', 'application/json; charset=utf-8');
    const body = { error: 'blocked', title: text.title, message: text.message, reference: ref };
    return new Response(jsonText(body), { status: 403, headers });
  }
  headers.set('content-type', 'text/html; charset=utf-8');
  headers.set('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'");
  return new Response(blockPage(text, ref), { status: 403, headers });
}

function blockPage(text: BlockText, ref: string): string {
  const title = escapeHtml(text.title);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:12vh auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem}code{background:#f2f2f2;padding:.1rem .3rem;border-radius:3px}</style></head>
<body><h1>${title}</h1><p>${escapeHtml(text.message)}</p>
<p>Reference: <code>${escapeHtml(ref)}</code></p></body></html>
`;
}
