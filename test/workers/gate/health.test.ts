/** The reserved prefix: health answers, nothing under it is ever proxied. */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  clearPolicy,
  from,
  harness,
  originSaw,
  putPolicy,
  SAMPLE_CSV,
  seedTable,
} from '../helpers';

let generation = '';
beforeAll(async () => {
  generation = await seedTable(SAMPLE_CSV);
});

describe('/__ipgate/health', () => {
  it('reports table generation and size, policy version and validity', async () => {
    await clearPolicy();
    const h = harness();
    const { id, headers } = from('203.0.113.7');
    const res = await h.fetch('/__ipgate/health', { headers });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      ok: boolean;
      table: { generation: string; entries: number; state: string };
      policy: { version: string; valid: boolean; source: string };
      origin: { mode: string; valid: boolean };
    };
    expect(body.ok).toBe(true);
    expect(body.table).toMatchObject({ generation, state: 'ready' });
    expect(body.table.entries).toBeGreaterThanOrEqual(10);
    expect(body.policy).toMatchObject({ source: 'default', valid: true });
    expect(body.policy.version).toMatch(/^default-[0-9a-f]{12}$/);
    expect(body.origin).toEqual({ mode: 'origin_url', valid: true });
    expect(JSON.stringify(body)).not.toContain('127.0.0.1');
    expect(await originSaw(id)).toHaveLength(0);
    expect(h.events).toHaveLength(0);
  });

  it('reports a refused policy with its problems', async () => {
    await putPolicy({ mode: 'sometimes' });
    const h = harness();
    const body = (await (await h.fetch('/__ipgate/health')).json()) as {
      ok: boolean;
      policy: { valid: boolean; issues: { path: string }[] };
    };
    expect(body.ok).toBe(false);
    expect(body.policy.valid).toBe(false);
    expect(body.policy.issues.map((i) => i.path)).toEqual(['mode']);
    await clearPolicy();
  });

  it.each(['/__IPGATE/health', '/__ipgate//health/', '/%5f_ipgate/health'])(
    'answers %s itself',
    async (path) => {
      const h = harness();
      const { id, headers } = from('203.0.113.10');
      const res = await h.fetch(path, { headers });
      expect(res.status).toBe(200);
      expect(await originSaw(id)).toHaveLength(0);
    },
  );

  it.each(['/__ipgate/nothing-here', '/__ipgate/api/nothing-here'])(
    'never proxies %s',
    async (path) => {
      const h = harness();
      const { id, headers } = from('203.0.113.10');
      const res = await h.fetch(path, { headers });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: 'not_found' });
      expect(await originSaw(id)).toHaveLength(0);
    },
  );

  it.each(['/__ipgate', '/__ipgate/'])(
    'never proxies %s (the dashboard, disabled without ADMIN_TOKEN)',
    async (path) => {
      const h = harness();
      const { id, headers } = from('203.0.113.10');
      const res = await h.fetch(path, { headers });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('The dashboard is disabled');
      expect(await originSaw(id)).toHaveLength(0);
    },
  );
});
