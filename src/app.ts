/**
 * The Worker's HTTP surface: reserved routes under RESERVED_PREFIX (matched on the canonical
 * path, so `/__IPGATE/health` is never proxied either) — health, the challenge form, the
 * dashboard and admin API (src/admin/) — and the gate for everything else.
 * `createApp` builds one isolate's worth of state; tests build their own.
 */
import { Hono } from 'hono';
import { type AdminOptions, dashboard } from './admin';
import { health } from './admin/health';
import { CHALLENGE_PATH, RESERVED_PREFIX } from './constants';
import type { Env } from './env';
import { submitChallenge } from './gate/challenge';
import { clientIp } from './gate/client';
import { createGate, type GateOptions, newReference } from './gate/gate';
import { canonicalPath } from './policy/paths';

export interface AppOptions extends GateOptions {
  /** The dashboard and admin API (decision store, Access key fetch, sign-in limits). */
  admin?: AdminOptions;
}

export function createApp(options: AppOptions = {}) {
  const gate = createGate(options);

  const admin = new Hono<{ Bindings: Env }>();
  admin.get('/health', (c) => health(gate, c.env, c.executionCtx));
  admin.all(CHALLENGE_PATH.slice(RESERVED_PREFIX.length), async (c) => {
    const policy = await gate.policies.current(c.env.POLICY, (p) => c.executionCtx.waitUntil(p));
    const ip = clientIp(c.req.raw.headers);
    return submitChallenge(c.req.raw, c.env, policy, ip, newReference, gate.now);
  });
  admin.route('/', dashboard(gate, options.admin));
  admin.notFound((c) => c.json({ error: 'not_found' }, 404));
  admin.onError((_e, c) => c.json({ error: 'internal_error' }, 500));

  // The outer dispatch is a plain function, not a Hono app: it runs on every proxied request,
  // and Hono's routing and context cost measurable CPU there (bench:profile) for one branch.
  const app = {
    async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
      try {
        const url = new URL(request.url);
        const path = canonicalPath(url.pathname);
        if (path === RESERVED_PREFIX || path.startsWith(`${RESERVED_PREFIX}/`)) {
          const inner = new URL(path.slice(RESERVED_PREFIX.length) || '/', url);
          inner.search = url.search;
          return await admin.fetch(new Request(inner, request), env, ctx);
        }
        return await gate.handle(request, env, ctx, url, path);
      } catch {
        // The gate never throws; this only guards the routing itself. No detail reaches the
        // client.
        return new Response('Internal error', {
          status: 500,
          headers: { 'content-type': 'text/plain; charset=UTF-8' },
        });
      }
    },
  };
  return { app, gate };
}
