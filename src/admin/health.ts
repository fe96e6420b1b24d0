/**
 * `GET /__ipgate/health`: what this isolate serves — table generation and size, policy version
 * and validity, live lookups (provider, whether a key is set, the broker's breaker, budget and
 * queue), whether challenges can be served, sink and origin mode. Public and cheap; it shows
 * whether secrets are set but never their values, no origin address and no client data.
 */
import type { Env, WaitUntil } from '../env';
import { challengeReady } from '../gate/challenge';
import type { Gate } from '../gate/gate';
import { jsonText } from '../util/html';

export async function health(gate: Gate, env: Env, ctx: WaitUntil): Promise<Response> {
  const waitUntil = (p: Promise<unknown>) => ctx.waitUntil(p);
  await gate.policies.current(env.POLICY, waitUntil);
  if (gate.tables.status().state !== 'ready') await gate.tables.loadManifest(env.REPUTATION);
  const origin = gate.origin(env);
  const table = gate.tables.status();
  const policy = gate.policies.status();
  const compiled = await gate.policies.current(env.POLICY, waitUntil);
  const live = compiled.live;
  const body = {
    ok: origin.ok && policy.valid && table.state !== 'failed',
    table,
    policy,
    live: {
      provider: live.provider,
      enabled: gate.live.enabled(env, live),
      broker: await gate.live.brokerStatus(env, live),
    },
    challenge: {
      siteKey: Boolean(compiled.challenge.siteKey),
      secret: Boolean(env.TURNSTILE_SECRET),
      ready: challengeReady(env, compiled),
    },
    sink: gate.sinkFor(env).name,
    origin: origin.ok
      ? { mode: origin.base === null ? 'route' : 'origin_url', valid: true }
      : { mode: 'origin_url', valid: false, error: origin.error },
  };
  return new Response(jsonText(body), {
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });
}
