/**
 * Local KV through wrangler: the same state `wrangler dev` reads (`.wrangler/state`), written
 * with `wrangler kv bulk put --local`, so a running dev server sees changes without a restart.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KvPair } from '../cli/table-writer';

function wrangler(args: string[]): string {
  const r = spawnSync('npx', ['wrangler', ...args], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`wrangler ${args.join(' ')} failed:\n${r.stderr || r.stdout}`);
  return r.stdout;
}

export function localKeys(binding: string, prefix = ''): string[] {
  const out = wrangler(['kv', 'key', 'list', '--binding', binding, '--local', '--prefix', prefix]);
  const parsed = JSON.parse(out.slice(out.indexOf('['))) as { name: string }[];
  return parsed.map((k) => k.name);
}

/** Writes pairs in the given order, one bulk call per group (chunks before manifest). */
export function putLocal(binding: string, groups: KvPair[][]): void {
  const dir = mkdtempSync(join(tmpdir(), 'ipgate-kv-'));
  try {
    groups.forEach((pairs, i) => {
      if (pairs.length === 0) return;
      const file = join(dir, `bulk-${i}.json`);
      const body = pairs.map((p) => ({
        key: p.key,
        value: Buffer.from(p.value).toString('base64'),
        base64: true,
      }));
      writeFileSync(file, JSON.stringify(body));
      wrangler(['kv', 'bulk', 'put', file, '--binding', binding, '--local']);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
