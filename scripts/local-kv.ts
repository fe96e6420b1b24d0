/**
 * Local KV through wrangler: the same state `wrangler dev` reads (`.wrangler/state`), written
 * with `wrangler kv key put --local`, so a running dev server sees changes without a restart.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KvPair } from '../cli/table-writer';

export interface LocalState {
  /** Directory of the local state (wrangler's --persist-to); default .wrangler/state. */
  persistTo?: string | undefined;
}

function wrangler(args: string[], state: LocalState): string {
  if (state.persistTo) args.push('--persist-to', state.persistTo);
  const r = spawnSync('npx', ['wrangler', ...args], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`wrangler ${args.join(' ')} failed:\n${r.stderr || r.stdout}`);
  return r.stdout;
}

export function localKeys(binding: string, prefix: string, state: LocalState = {}): string[] {
  const out = wrangler(
    ['kv', 'key', 'list', '--binding', binding, '--local', '--prefix', prefix],
    state,
  );
  const parsed = JSON.parse(out.slice(out.indexOf('['))) as { name: string }[];
  return parsed.map((k) => k.name);
}

/**
 * Writes pairs in the given order (chunks before manifest), one `kv key put --path` per key:
 * `kv bulk put` runs base64 values through a text decoding here and corrupts binary chunks.
 */
export function putLocal(binding: string, groups: KvPair[][], state: LocalState = {}): void {
  const dir = mkdtempSync(join(tmpdir(), 'ipgate-kv-'));
  try {
    for (const pair of groups.flat()) {
      const file = join(dir, 'value.bin');
      writeFileSync(file, pair.value);
      wrangler(
        ['kv', 'key', 'put', pair.key, '--path', file, '--binding', binding, '--local'],
        state,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
