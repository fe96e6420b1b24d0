/**
 * Local KV through wrangler: the same state `wrangler dev` (and so `npm start`) reads, by
 * default `.wrangler/state`. Values go through files (`kv key put --path`): `kv bulk put`
 * passes base64 values through a text decoding here and corrupts binary chunks. A running
 * dev server sees the writes without a restart.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../errors';
import type { KvStore } from './store';

const NOT_FOUND = 'Value not found\n';

export interface LocalState {
  /** Directory of the local state (wrangler's --persist-to); default .wrangler/state. */
  persistTo?: string | undefined;
  /** wrangler config file; default ./wrangler.toml. */
  config?: string | undefined;
}

/** Runs `npx wrangler ARGS --local` (with --persist-to and --config from `state`); stdout. */
export function wrangler(args: string[], state: LocalState): Buffer {
  const full = ['wrangler', ...args, '--local'];
  if (state.persistTo) full.push('--persist-to', state.persistTo);
  if (state.config) full.push('--config', state.config);
  const r = spawnSync('npx', full, {
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    maxBuffer: 512 * 1024 * 1024,
  });
  if (r.status !== 0) {
    const err = (r.stderr.toString() || r.stdout.toString())
      .trim()
      .split('\n')
      .slice(-5)
      .join('\n');
    throw new CliError(
      `wrangler ${args.slice(0, 3).join(' ')} failed: ${err}`,
      'is wrangler installed (npm install) and wrangler.toml valid?',
    );
  }
  return r.stdout;
}

export function localKv(binding: string, state: LocalState = {}): KvStore {
  return {
    label: `local ${binding}`,
    async get(key) {
      const out = wrangler(['kv', 'key', 'get', key, '--binding', binding], state);
      // wrangler prints this text (exit 0) for an absent key; no ipgate value is ever that text.
      return out.toString() === NOT_FOUND ? null : new Uint8Array(out);
    },
    async put(pairs, progress) {
      const dir = mkdtempSync(join(tmpdir(), 'ipgate-kv-'));
      try {
        let done = 0;
        for (const pair of pairs) {
          const file = join(dir, 'value.bin');
          writeFileSync(file, pair.value);
          const args = ['kv', 'key', 'put', pair.key, '--path', file, '--binding', binding];
          if (pair.expirationTtl) args.push('--ttl', String(pair.expirationTtl));
          wrangler(args, state);
          done += 1;
          progress?.(done);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    async delete(keys) {
      for (const key of keys) wrangler(['kv', 'key', 'delete', key, '--binding', binding], state);
    },
    async list(prefix) {
      const out = wrangler(
        ['kv', 'key', 'list', '--binding', binding, '--prefix', prefix],
        state,
      ).toString();
      const parsed = JSON.parse(out.slice(out.indexOf('['))) as { name: string }[];
      return parsed.map((k) => k.name);
    },
  };
}
