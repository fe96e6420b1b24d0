/**
 * Where a command reads and writes: `--local` (the KV state `npm start` serves, through
 * wrangler) or `--remote` (the account's KV through the REST API, namespace ids from
 * wrangler.toml, credentials from CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID). Local is the
 * default, so nothing reaches an account unless asked.
 */
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { CliError } from './errors';
import { localKv } from './kv/local';
import { remoteKv } from './kv/remote';
import type { KvStore } from './kv/store';

export interface TargetFlags {
  local?: boolean | undefined;
  remote?: boolean | undefined;
  'persist-to'?: string | undefined;
  'wrangler-config'?: string | undefined;
}

export const TARGET_OPTIONS = {
  local: { type: 'boolean' },
  remote: { type: 'boolean' },
  'persist-to': { type: 'string' },
  'wrangler-config': { type: 'string' },
} as const;

export type Binding = 'REPUTATION' | 'POLICY';

/** The namespace id bound as `binding` in the wrangler config. */
export function namespaceId(configFile: string, binding: Binding): string {
  let config: unknown;
  try {
    config = parseToml(readFileSync(configFile, 'utf8'));
  } catch (e) {
    throw new CliError(`cannot read ${configFile}: ${e instanceof Error ? e.message : e}`);
  }
  const namespaces =
    (config as { kv_namespaces?: { binding?: string; id?: string }[] }).kv_namespaces ?? [];
  const ns = namespaces.find((n) => n.binding === binding);
  if (!ns?.id)
    throw new CliError(
      `${configFile} has no kv_namespaces entry for ${binding}`,
      `add one with the id from "npx wrangler kv namespace create ${binding}"`,
    );
  return ns.id;
}

export function describeTarget(flags: TargetFlags): 'local' | 'remote' {
  if (flags.local && flags.remote) throw new CliError('choose one of --local and --remote');
  return flags.remote ? 'remote' : 'local';
}

export function kvFor(
  binding: Binding,
  flags: TargetFlags,
  onRetry?: (m: string) => void,
): KvStore {
  const config = flags['wrangler-config'] ?? 'wrangler.toml';
  if (describeTarget(flags) === 'local')
    return localKv(binding, { persistTo: flags['persist-to'], config });
  const apiToken = process.env.CLOUDFLARE_API_TOKEN;
  const accountId = process.env.CLOUDFLARE_ACCOUNT_ID;
  if (!apiToken || !accountId)
    throw new CliError(
      '--remote needs CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID in the environment',
      'create a token with "Workers KV Storage: Edit" in the Cloudflare dashboard',
    );
  return remoteKv({
    accountId,
    apiToken,
    namespaceId: namespaceId(config, binding),
    binding,
    apiBase: process.env.CLOUDFLARE_API_BASE_URL || undefined,
    onRetry,
  });
}
