/**
 * KV fault injection for the load test, outside ipgate's code: a Miniflare wrapped binding
 * (`KV_FAULTS_WORKER`) stands where the Worker expects a KV namespace, with KV's shape, and
 * forwards every call to the real local namespace. Before each `get` and `getWithMetadata` it
 * asks the Node side (`kvFaultPlan`, reached through a function-valued service binding) what to
 * do with this call: pass it, throw the kind of error a failing KV read throws, or hold it past
 * the policy's deadlines and then read (a slow read). Writes, lists and deletes always pass.
 *
 * The decisions come from one seeded PRNG (scripts/seeded-random.ts) in call order, so the
 * n-th read of a run always meets the same fate; which key that is depends on timing.
 */
import { mulberry32 } from '../../scripts/seeded-random';

/** The service binding through which the wrapper asks the plan. */
export const KV_FAULTS_SERVICE = 'KV_FAULTS';

/**
 * The wrapper module. Inner bindings: the real namespace under the name in `INNER`, the
 * binding's name in `NAME` (for the plan's counts), and the plan's service binding.
 */
export const KV_FAULTS_WORKER = `
export default function wrapKv(env) {
  const inner = env[env.INNER];
  const ask = async (method, key) => {
    const res = await env.${KV_FAULTS_SERVICE}.fetch('http://kv-faults/decide', {
      method: 'POST',
      body: JSON.stringify({ binding: env.NAME, method, key: String(key) }),
    });
    return res.json();
  };
  const read = (method) => async (key, options) => {
    const plan = await ask(method, key);
    if (plan.action === 'throw') throw new Error(plan.message);
    if (plan.action === 'hang') await new Promise((resolve) => setTimeout(resolve, plan.ms));
    return inner[method](key, options);
  };
  return {
    get: read('get'),
    getWithMetadata: read('getWithMetadata'),
    put: (...args) => inner.put(...args),
    delete: (...args) => inner.delete(...args),
    list: (...args) => inner.list(...args),
  };
}
`;

export interface KvFaultOptions {
  /** Share of reads that fail, 0–1. */
  rate: number;
  /** Share of the failing reads that hang (then read) instead of throwing, 0–1. */
  hangShare: number;
  /** How long a hanging read is held, in ms. */
  hangMs: number;
  seed: number;
}

export interface KvFaultStats {
  reads: number;
  thrown: number;
  hung: number;
  /** Reads per binding and key kind (`table:manifest`, `table:chunk`, `api`, `policy:current`). */
  readsByKey: Record<string, number>;
  faultsByKey: Record<string, number>;
}

export type Plan =
  | { action: 'pass' }
  | { action: 'throw'; message: string }
  | { action: 'hang'; ms: number };

/** `table:chunk:4:ab12…` → `table:chunk`; `api:criminalip:45.1.2.3` → `api`. */
function keyKind(binding: string, key: string): string {
  const parts = key.split(':');
  const kind =
    parts[0] === 'table' ? parts.slice(0, 2).join(':') : key.startsWith('api:') ? 'api' : key;
  return `${binding} ${kind}`;
}

/** The Node side: decides each read's fate and counts what it did. */
export function kvFaultPlan(options: KvFaultOptions) {
  const next = mulberry32(options.seed);
  const stats: KvFaultStats = { reads: 0, thrown: 0, hung: 0, readsByKey: {}, faultsByKey: {} };
  const bump = (m: Record<string, number>, k: string) => {
    m[k] = (m[k] ?? 0) + 1;
  };

  function decide(binding: string, method: string, key: string): Plan {
    stats.reads += 1;
    const kind = keyKind(binding, key);
    bump(stats.readsByKey, kind);
    if (next() / 2 ** 32 >= options.rate) return { action: 'pass' };
    bump(stats.faultsByKey, kind);
    if (next() / 2 ** 32 < options.hangShare) {
      stats.hung += 1;
      return { action: 'hang', ms: options.hangMs };
    }
    stats.thrown += 1;
    return {
      action: 'throw',
      message: `KV ${method.toUpperCase()} failed: 503 Service Unavailable (injected fault ${stats.thrown})`,
    };
  }

  return {
    decide,
    stats: () => structuredClone(stats),
    /** The function-valued service binding the wrapper calls. */
    async service(request: Request): Promise<Response> {
      const body = (await request.json()) as { binding: string; method: string; key: string };
      return Response.json(decide(body.binding, body.method, body.key));
    },
  };
}

/**
 * The Miniflare worker that implements the wrapped bindings: the real namespaces as inner
 * bindings (`<NAME>_INNER`) and the plan's service binding.
 */
export function kvFaultsWorker(
  namespaces: Record<string, string>,
  service: (request: Request) => Promise<Response>,
): Record<string, unknown> & { name: string } {
  return {
    name: 'kv-faults',
    modules: true,
    script: KV_FAULTS_WORKER,
    kvNamespaces: Object.fromEntries(
      Object.entries(namespaces).map(([binding, id]) => [`${binding}_INNER`, id]),
    ),
    serviceBindings: { [KV_FAULTS_SERVICE]: service },
  };
}

/** The `wrappedBindings` entries that put the faulty wrapper in place of each namespace. */
export function wrappedKv(bindings: string[]): Record<string, unknown> {
  return Object.fromEntries(
    bindings.map((name) => [
      name,
      { scriptName: 'kv-faults', bindings: { NAME: name, INNER: `${name}_INNER` } },
    ]),
  );
}
