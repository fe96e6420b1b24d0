/**
 * `npm run bench` end to end, briefly: the HTTP benchmark (bench/http.ts) bundles the Worker,
 * starts both workerd processes and runs two scenarios for a second each. Checks the output's
 * shape (one JSON object per line, the same lines in the results file), not its numbers: those
 * belong to a quiet machine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('prints well-formed JSON lines for bare, the ballast baseline, a warm path and memory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ipgate-bench-smoke-'));
  const out = join(dir, 'http.jsonl');
  try {
    const r = spawnSync(
      'npx',
      [
        'tsx',
        'bench/http.ts',
        '--duration',
        '1',
        '--warmup',
        '0',
        '--scenarios',
        'auth-warm-hit,memory,bare-ballast',
        '--table-intervals',
        '10000',
        '--out',
        out,
      ],
      {
        encoding: 'utf8',
        timeout: 110_000,
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
      },
    );
    expect(r.status, r.stderr || r.stdout).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((p) => p.scenario)).toEqual([
      'setup',
      'memory',
      'bare',
      'bare-ballast',
      'auth-warm-hit',
    ]);
    for (const p of parsed) {
      expect(p.bench).toBe('http');
      expect(p.run).toBe(parsed[0]?.run);
    }
    for (const p of parsed.filter((x) => x.scenario !== 'setup' && x.scenario !== 'memory')) {
      for (const key of ['rps', 'p50Ms', 'p99Ms', 'ratioToBare', 'cpuMsPerRequest', 'requests'])
        expect(Number.isFinite(p[key]), `${p.scenario}.${key}`).toBe(true);
      expect(p).toMatchObject({
        connections: expect.any(Number),
        durationS: expect.any(Number),
        non2xx: expect.any(Number),
        originRequests: expect.any(Number),
        errors: {
          connect: expect.any(Number),
          read: expect.any(Number),
          write: expect.any(Number),
          timeout: expect.any(Number),
        },
      });
    }
    expect(parsed[4]).toMatchObject({
      targetRatioToBare: 0.9,
      withinTargets: expect.any(Boolean),
      ratioToBallast: expect.any(Number),
      addedP99OverBallastMs: expect.any(Number),
    });
    // The ballast holds about what the table took (it is sized from the memory line).
    const memory = parsed[1] as { tableMB: number };
    const ballast = parsed[3] as { heldHeapMB: number; heldArrayBuffersMB: number };
    expect(ballast.heldHeapMB + ballast.heldArrayBuffersMB).toBeGreaterThan(memory.tableMB * 0.8);
    expect(parsed[1]).toMatchObject({
      isolateMB: expect.any(Number),
      targetIsolateMB: 64,
      withinTarget: expect.any(Boolean),
    });
    expect(readFileSync(out, 'utf8').trim().split('\n')).toEqual(lines);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
