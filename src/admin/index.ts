/**
 * The dashboard and the JSON admin API under RESERVED_PREFIX (never proxied):
 *
 *   GET  /                      report of a window with charts, filters, recent blocks
 *   GET  /ip/<ip>               an IP's drill-down
 *   GET  /policy                the policy, its form, its versions
 *   POST /policy/preview        the diff (and any problems) of a change, nothing saved
 *   POST /policy/save           save as a new version, apply
 *   POST /policy/rollback       make a saved version current again
 *   GET|POST /login, POST /logout
 *   GET  /assets/<name>         chart library, page script, style (public)
 *   GET  /api/report · /api/blocks · /api/ip/<ip> · /api/policy
 *   PUT  /api/policy · POST /api/policy/rollback
 *
 * One factory per isolate (`dashboard(gate, options)`): options are checked once, handlers do
 * the per-request work. Every response is `no-store` with a strict CSP (no inline script) and
 * `frame-ancestors 'none'`; errors are `{error, detail}` (JSON) or a message page, never a
 * stack, and no secret is ever written into a response.
 */
import { type Context, Hono } from 'hono';
import { readTextCapped } from '../challenge/read';
import {
  ADMIN_BLOCKS_DEFAULT_LIMIT,
  ADMIN_CSRF_COOKIE,
  ADMIN_IP_DECISIONS_LIMIT,
  ADMIN_MAX_BODY_BYTES,
  ADMIN_SIGNIN_FAILURE_DELAY_MS,
  POLICY_MAX_BYTES,
  REPORT_MAX_ROWS,
} from '../constants';
import type { Env } from '../env';
import type { Gate } from '../gate/gate';
import { type IpAddress, parseIp } from '../ip/parse';
import { type PolicyIssue, parsePolicyText } from '../policy/schema';
import { rollbackPolicy, savePolicy } from '../policy/versions';
import { decisionStoreFor } from '../report';
import type { DecisionStore } from '../report/types';
import { errorMessage } from '../util/deadline';
import { jsonText } from '../util/html';
import { isObject } from '../util/json';
import { AccessVerifier } from './access';
import { serveAsset } from './assets';
import { AdminAuth, type AuthFailure, type Principal, sameOrigin } from './auth';
import { adminConfig } from './config';
import {
  type AdminError,
  ipDetails,
  loadBlocks,
  loadReport,
  type PolicyState,
  policyState,
  workerPolicyKv,
} from './data';
import { changed, lineDiff, withContext } from './diff';
import { applyPolicyForm, policyText } from './policy-form';
import { parseLimit, parseReportQuery } from './query';
import { adminCookie, clearSessionCookie } from './session';
import { SignInLimiter, type SignInLimiterOptions } from './signin-limit';
import { ipPage } from './views/ip';
import { ADMIN_ROOT, adminPath, messagePage, type Shell, signInPage } from './views/layout';
import { type Flash, policyPage, previewPage } from './views/policy';
import { reportPage } from './views/report';

export interface AdminOptions {
  /**
   * The decision store for a request's env; default `decisionStoreFor` (D1 when bound, else
   * Analytics Engine through the SQL API when its secrets are set, else none: the report pages
   * and API then say so with 503, and the rest works).
   */
  decisions?: (env: Env) => DecisionStore | null;
  /** Fetch for the Access signing keys; tests pass a fake standing for Cloudflare. */
  fetch?: typeof fetch;
  /** Pause before answering a failed sign-in, ms (default ADMIN_SIGNIN_FAILURE_DELAY_MS). */
  failureDelayMs?: number;
  signInLimits?: Omit<SignInLimiterOptions, 'now'>;
}

type AdminContext = Context<{ Bindings: Env }>;

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The headers every dashboard and admin API response carries, and any cookies to set. */
function secured(res: Response, cookies: (string | null)[] = []): Response {
  const headers = new Headers(res.headers);
  headers.set('cache-control', 'no-store');
  headers.set('content-security-policy', CSP);
  headers.set('x-content-type-options', 'nosniff');
  headers.set('x-frame-options', 'DENY');
  headers.set('referrer-policy', 'same-origin');
  headers.set('cross-origin-opener-policy', 'same-origin');
  headers.set('cross-origin-resource-policy', 'same-origin');
  for (const c of cookies) if (c) headers.append('set-cookie', c);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

function htmlResponse(body: string, status = 200): Response {
  return new Response(body, { status, headers: { 'content-type': 'text/html; charset=utf-8' } });
}

function jsonResponse(body: unknown, status = 200): Response {
  return new Response(jsonText(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
}

function apiError(e: AdminError & { issues?: unknown }): Response {
  const { status, ...body } = e;
  return jsonResponse(body, status);
}

function redirect(location: string): Response {
  return new Response(null, { status: 303, headers: { location } });
}

function identity(p: Principal): string {
  return p.kind === 'access' ? p.identity : p.kind === 'session' ? 'Signed in' : p.identity;
}

function shellFor(p: Principal, title: string): Shell {
  return {
    title,
    who: identity(p),
    signOutCsrf: p.kind === 'bearer' ? null : p.csrf,
  };
}

function csrfOf(p: Principal): string {
  return p.kind === 'bearer' ? '' : p.csrf;
}

/** An IP from the rest of a path: an address, or an IPv6 /64 key as listed in events. */
function ipFromPath(rest: string): IpAddress | null {
  let text = rest;
  try {
    text = decodeURIComponent(rest);
  } catch {
    return null;
  }
  if (text.includes(':') && text.endsWith('/64')) text = text.slice(0, -3);
  return parseIp(text);
}

async function readForm(request: Request): Promise<URLSearchParams | null> {
  const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return null;
  const text = await readTextCapped(request.body, ADMIN_MAX_BODY_BYTES).catch(() => null);
  return text === null ? null : new URLSearchParams(text);
}

export function dashboard(gate: Gate, options: AdminOptions = {}): Hono<{ Bindings: Env }> {
  const now = () => gate.now();
  const storeFor = options.decisions ?? ((env: Env) => decisionStoreFor(env));
  const auth = new AdminAuth({
    limiter: new SignInLimiter({ ...options.signInLimits, now }),
    access: new AccessVerifier({ fetch: options.fetch, now }),
    now,
    failureDelayMs: options.failureDelayMs ?? ADMIN_SIGNIN_FAILURE_DELAY_MS,
  });
  const app = new Hono<{ Bindings: Env }>();

  function refusal(c: AdminContext, f: AuthFailure, api: boolean): Response {
    const cookies = f.clearSession ? [clearSessionCookie()] : [];
    if (api) {
      const res = jsonResponse({ error: f.error, detail: f.detail }, f.status);
      if (f.retryAfter) res.headers.set('retry-after', String(f.retryAfter));
      if (f.status === 401) res.headers.set('www-authenticate', 'Bearer realm="ipgate"');
      return secured(res, cookies);
    }
    if (f.error === 'unauthorized' && f.signIn && c.req.method === 'GET')
      return secured(redirect(adminPath('/login')), cookies);
    const res = htmlResponse(
      f.signIn && f.status === 401 ? signInPage(f.detail) : messagePage('ipgate', f.detail),
      f.status,
    );
    if (f.retryAfter) res.headers.set('retry-after', String(f.retryAfter));
    return secured(res, cookies);
  }

  type Handler = (c: AdminContext, p: Principal) => Promise<Response>;

  /**
   * Authenticates, checks origin and CSRF on anything but GET, answers with the secured
   * response. `api` handlers answer JSON (errors included), page handlers HTML.
   */
  function guarded(api: boolean, handler: Handler) {
    return async (c: AdminContext): Promise<Response> => {
      const result = await auth.authenticate(c.req.raw, c.env);
      if (!result.ok) return refusal(c, result.failure, api);
      const p = result.principal;
      const extra = p.kind === 'access' ? [p.setCookie] : [];
      const fail = (status: number, error: string, detail: string) =>
        secured(
          api
            ? jsonResponse({ error, detail }, status)
            : htmlResponse(messagePage('ipgate', detail, identity(p)), status),
          extra,
        );
      if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
        if (!sameOrigin(c.req.raw, p))
          return fail(
            403,
            'forbidden_origin',
            'This request did not come from the dashboard (Origin check).',
          );
        if (api && !(await auth.csrfValid(p, c.req.header('X-CSRF-Token') ?? null)))
          return fail(403, 'csrf', 'Missing or wrong X-CSRF-Token header (or use a bearer token).');
      }
      try {
        return secured(await handler(c, p), extra);
      } catch (e) {
        return fail(500, 'internal_error', `ipgate failed: ${errorMessage(e)}`);
      }
    };
  }

  /** A page POST: the form, once its CSRF token is checked; else the refusal to send. */
  async function postedForm(
    c: AdminContext,
    p: Principal,
  ): Promise<{ form: URLSearchParams } | { refused: Response }> {
    const form = await readForm(c.req.raw);
    if (form === null)
      return {
        refused: htmlResponse(
          messagePage('ipgate', 'Expected a form (URL-encoded, at most 1 MiB).', identity(p)),
          400,
        ),
      };
    if (!(await auth.csrfValid(p, form.get('csrf'))))
      return {
        refused: htmlResponse(
          messagePage(
            'ipgate',
            'The form has expired or did not come from this dashboard: reload the page and try again.',
            identity(p),
          ),
          403,
        ),
      };
    return { form };
  }
  /**
   * A policy edit POST (preview, save): the checked form, the policy state, and the version the
   * edit was based on; refused when that is no longer the stored version (a concurrent edit).
   */
  async function postedPolicyEdit(
    c: AdminContext,
    p: Principal,
  ): Promise<
    | { form: URLSearchParams; state: Awaited<ReturnType<typeof policyState>>; base: string }
    | { refused: Response }
  > {
    const posted = await postedForm(c, p);
    if ('refused' in posted) return posted;
    const state = await policyState(gate, c.env, c.executionCtx);
    const base = posted.form.get('base') ?? '';
    if (base !== state.version) return { refused: conflict(p, base, state.version) };
    return { form: posted.form, state, base };
  }

  // ── Public: assets, sign-in ───────────────────────────────────────────────────────────────

  app.get(
    '/assets/:name',
    (c) => serveAsset(c.req.param('name')) ?? c.json({ error: 'not_found' }, 404),
  );

  app.get('/login', (c) => {
    const config = adminConfig(c.env);
    if (!config.enabled) return secured(htmlResponse(messagePage('ipgate', config.reason), 403));
    if (config.token === null)
      return secured(
        htmlResponse(
          messagePage(
            'ipgate',
            'This dashboard is behind Cloudflare Access: open it through the Access application.',
          ),
          403,
        ),
      );
    return secured(htmlResponse(signInPage(null)));
  });

  app.post('/login', async (c) => {
    if (!sameOrigin(c.req.raw, null))
      return secured(
        htmlResponse(
          messagePage('ipgate', 'This sign-in did not come from the sign-in page (Origin check).'),
          403,
        ),
      );
    const form = await readForm(c.req.raw);
    const token = form?.get('token') ?? '';
    const result = await auth.signIn(c.req.raw, c.env, token);
    if (!result.ok) return refusal(c, result.failure, false);
    return secured(redirect(ADMIN_ROOT), [result.setCookie]);
  });

  // ── Pages ───────────────────────────────────────────────────────────────────────────────

  app.post(
    '/logout',
    guarded(false, async (c, p) => {
      const posted = await postedForm(c, p);
      if ('refused' in posted) return posted.refused;
      if (p.kind === 'access') {
        const res = redirect('/cdn-cgi/access/logout');
        res.headers.append('set-cookie', adminCookie(ADMIN_CSRF_COOKIE, '', 0));
        return res;
      }
      const res = redirect(adminPath('/login'));
      res.headers.append('set-cookie', clearSessionCookie());
      return res;
    }),
  );

  app.get(
    '/',
    guarded(false, async (c, p) => {
      const params = new URL(c.req.url).searchParams;
      const policy = await gate.policies.current(c.env.POLICY, (x) => c.executionCtx.waitUntil(x));
      const q = parseReportQuery(params, now());
      const store = storeFor(c.env);
      const [report, blocks] = q.ok
        ? await Promise.all([
            loadReport(store, q.value),
            loadBlocks(store, q.value, ADMIN_BLOCKS_DEFAULT_LIMIT),
          ])
        : [null, null];
      const get = (k: string) => params.get(k) ?? '';
      return htmlResponse(
        reportPage({
          shell: { ...shellFor(p, 'Report'), active: 'report' },
          params: {
            since: get('since'),
            routeClass: get('routeClass'),
            action: get('action'),
            country: get('country'),
            category: get('category'),
          },
          classNames: policy.document.routeClasses.map((r) => r.name),
          queryError: q.ok ? null : q.detail,
          report,
          blocks,
        }),
        q.ok ? 200 : 400,
      );
    }),
  );

  app.get(
    '/ip/*',
    guarded(false, async (c, p) => {
      const ip = ipFromPath(c.req.path.slice('/ip/'.length));
      if (ip === null)
        return htmlResponse(messagePage('ipgate', 'Not an IP address.', identity(p)), 400);
      const params = new URLSearchParams(new URL(c.req.url).searchParams);
      if (!params.get('since')) params.set('since', '7d');
      const q = parseReportQuery(params, now());
      if (!q.ok) return htmlResponse(messagePage('ipgate', q.detail, identity(p)), 400);
      const details = await ipDetails(
        gate,
        c.env,
        c.executionCtx,
        ip,
        storeFor(c.env),
        q.value,
        ADMIN_IP_DECISIONS_LIMIT,
      );
      return htmlResponse(ipPage(shellFor(p, details.ip), details, `since ${params.get('since')}`));
    }),
  );

  app.get(
    '/policy',
    guarded(false, async (c, p) => {
      const state = await policyState(gate, c.env, c.executionCtx);
      const q = new URL(c.req.url).searchParams;
      const id = (k: string) => {
        const v = q.get(k);
        return v !== null && /^[0-9TZ-]{1,40}[0-9a-f]{12}$/.test(v) ? v : null;
      };
      const saved = id('saved');
      const rolledBack = id('rolledBack');
      const flash: Flash | null = saved
        ? {
            kind: 'ok',
            text: `Saved as version ${saved}. This isolate applies it now; every other within about a minute.`,
          }
        : rolledBack
          ? {
              kind: 'ok',
              text: `Rolled back to version ${rolledBack}. This isolate applies it now; every other within about a minute.`,
            }
          : null;
      return htmlResponse(policyPage(shellFor(p, 'Policy'), csrfOf(p), state, flash));
    }),
  );

  app.post(
    '/policy/preview',
    guarded(false, async (c, p) => {
      const posted = await postedPolicyEdit(c, p);
      if ('refused' in posted) return posted.refused;
      const { form, state, base } = posted;
      let text = form.get('json');
      if (text === null) {
        if (!state.parsed.ok || !isObject(state.document))
          return htmlResponse(
            messagePage(
              'ipgate',
              'The stored policy is not valid: use the JSON editor.',
              identity(p),
            ),
            400,
          );
        text = policyText(applyPolicyForm(state.document, state.parsed.policy, form));
      }
      const parsed = parsePolicyText(text);
      return preview(p, state, base, text, parsed.ok ? null : parsed.issues);
    }),
  );

  app.post(
    '/policy/save',
    guarded(false, async (c, p) => {
      const posted = await postedPolicyEdit(c, p);
      if ('refused' in posted) return posted.refused;
      const { form, state, base } = posted;
      const text = form.get('json') ?? '';
      const saved = await savePolicy(workerPolicyKv(c.env.POLICY), text, new Date(now()));
      if (!saved.ok) return preview(p, state, base, text, saved.issues);
      await gate.policies.adopt(text);
      return redirect(`${adminPath('/policy')}?saved=${encodeURIComponent(saved.id)}`);
    }),
  );

  app.post(
    '/policy/rollback',
    guarded(false, async (c, p) => {
      const posted = await postedForm(c, p);
      if ('refused' in posted) return posted.refused;
      const version = posted.form.get('version') || undefined;
      const rolled = await rollbackPolicy(workerPolicyKv(c.env.POLICY), version);
      if (!rolled.ok) {
        const state = await policyState(gate, c.env, c.executionCtx);
        return htmlResponse(
          policyPage(shellFor(p, 'Policy'), csrfOf(p), state, {
            kind: 'error',
            text: rolled.detail,
          }),
          rolled.problem === 'no_such_version' ? 404 : 400,
        );
      }
      await gate.policies.adopt(rolled.text);
      return redirect(`${adminPath('/policy')}?rolledBack=${encodeURIComponent(rolled.id)}`);
    }),
  );

  // ── JSON API ────────────────────────────────────────────────────────────────────────────

  app.get(
    '/api/report',
    guarded(true, async (c) => {
      const q = parseReportQuery(new URL(c.req.url).searchParams, now());
      if (!q.ok) return apiError({ status: 400, error: 'bad_request', detail: q.detail });
      const report = await loadReport(storeFor(c.env), q.value);
      return report.ok ? jsonResponse(report.value) : apiError(report.error);
    }),
  );

  app.get(
    '/api/blocks',
    guarded(true, async (c) => {
      const params = new URL(c.req.url).searchParams;
      const q = parseReportQuery(params, now());
      if (!q.ok) return apiError({ status: 400, error: 'bad_request', detail: q.detail });
      const limit = parseLimit(params, ADMIN_BLOCKS_DEFAULT_LIMIT, REPORT_MAX_ROWS);
      if (!limit.ok) return apiError({ status: 400, error: 'bad_request', detail: limit.detail });
      const blocks = await loadBlocks(storeFor(c.env), q.value, limit.value);
      return blocks.ok ? jsonResponse({ blocks: blocks.value }) : apiError(blocks.error);
    }),
  );

  app.get(
    '/api/ip/*',
    guarded(true, async (c) => {
      const ip = ipFromPath(c.req.path.slice('/api/ip/'.length));
      if (ip === null)
        return apiError({
          status: 400,
          error: 'bad_request',
          detail: 'ip: not an IPv4 or IPv6 address',
        });
      const params = new URLSearchParams(new URL(c.req.url).searchParams);
      if (!params.get('since')) params.set('since', '7d');
      const q = parseReportQuery(params, now());
      if (!q.ok) return apiError({ status: 400, error: 'bad_request', detail: q.detail });
      const limit = parseLimit(params, ADMIN_IP_DECISIONS_LIMIT, REPORT_MAX_ROWS);
      if (!limit.ok) return apiError({ status: 400, error: 'bad_request', detail: limit.detail });
      const d = await ipDetails(
        gate,
        c.env,
        c.executionCtx,
        ip,
        storeFor(c.env),
        q.value,
        limit.value,
      );
      return jsonResponse({
        ...d,
        decisions: d.decisions.ok ? d.decisions.value : null,
        decisionsError: d.decisions.ok
          ? null
          : { error: d.decisions.error.error, detail: d.decisions.error.detail },
      });
    }),
  );

  app.get(
    '/api/policy',
    guarded(true, async (c) => {
      const state = await policyState(gate, c.env, c.executionCtx);
      return jsonResponse({
        stored: state.text !== null,
        version: state.version,
        document: state.document,
        valid: state.parsed.ok,
        issues: state.parsed.ok ? [] : state.parsed.issues,
        serving: state.serving,
        versions: state.versions.map((v) => ({ ...v, current: v.hash === state.version })),
      });
    }),
  );

  app.put(
    '/api/policy',
    guarded(true, async (c) => {
      const text = await readTextCapped(c.req.raw.body, POLICY_MAX_BYTES + 1).catch(() => null);
      if (text === null)
        return apiError({
          status: 413,
          error: 'bad_request',
          detail: `the body must be a UTF-8 policy document of at most ${POLICY_MAX_BYTES} bytes`,
        });
      const ifMatch = c.req.header('If-Match');
      if (ifMatch !== undefined) {
        const state = await policyState(gate, c.env, c.executionCtx);
        if (ifMatch.replace(/"/g, '') !== state.version)
          return apiError({
            status: 412,
            error: 'version_mismatch',
            detail: `the stored policy is ${state.version}, not ${ifMatch}`,
          });
      }
      const saved = await savePolicy(workerPolicyKv(c.env.POLICY), text, new Date(now()));
      if (!saved.ok)
        return apiError({
          status: 400,
          error: 'invalid_policy',
          detail: `the document is not a valid policy (${saved.issues.length} problem(s)); nothing was saved`,
          issues: saved.issues,
        });
      await gate.policies.adopt(text);
      return jsonResponse({ id: saved.id, version: saved.version, applied: true });
    }),
  );

  app.post(
    '/api/policy/rollback',
    guarded(true, async (c) => {
      const text = await readTextCapped(c.req.raw.body, 4096).catch(() => null);
      let version: string | undefined;
      if (text) {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = null;
        }
        if (!isObject(body) || (body.version !== undefined && typeof body.version !== 'string'))
          return apiError({
            status: 400,
            error: 'bad_request',
            detail:
              'expected a JSON body {"version": "<saved version id>"} (or none for the previous one)',
          });
        version = typeof body.version === 'string' ? body.version : undefined;
      }
      const rolled = await rollbackPolicy(workerPolicyKv(c.env.POLICY), version);
      if (!rolled.ok) {
        const status = {
          no_such_version: 404,
          no_earlier_version: 409,
          unreadable: 500,
          invalid: 400,
        }[rolled.problem];
        return apiError({
          status,
          error: rolled.problem,
          detail: rolled.detail,
          ...('issues' in rolled ? { issues: rolled.issues } : {}),
        });
      }
      await gate.policies.adopt(rolled.text);
      return jsonResponse({ id: rolled.id, version: rolled.version, applied: true });
    }),
  );

  return app;
}

/** A stale form (the policy changed since the page was loaded) is refused, not merged. */
function conflict(p: Principal, base: string, current: string): Response {
  return htmlResponse(
    messagePage(
      'ipgate',
      `The policy changed since this page was loaded (it was ${base || 'unknown'}, it is now ${current}): open the policy page again and redo the change.`,
      identity(p),
    ),
    409,
  );
}

/** The preview page: `text` against what is stored, with the problems (null when valid). */
function preview(
  p: Principal,
  state: PolicyState,
  base: string,
  text: string,
  issues: PolicyIssue[] | null,
): Response {
  const lines = lineDiff(comparable(state.text ?? policyText(state.document)), comparable(text));
  return htmlResponse(
    previewPage({
      shell: shellFor(p, 'Policy preview'),
      csrf: csrfOf(p),
      base,
      text,
      issues,
      diff: withContext(lines),
      changed: changed(lines),
    }),
    issues === null ? 200 : 400,
  );
}

/** JSON text normalised for the diff (pretty-printed), or the text itself when it is not JSON. */
function comparable(text: string): string {
  try {
    return policyText(JSON.parse(text));
  } catch {
    return text;
  }
}
