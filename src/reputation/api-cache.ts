/**
 * The API cache: live provider answers kept in `REPUTATION` under
 * `api:<provider>:<client key>` (IPv4 address or IPv6 /64), so an IP the table does not know
 * costs one API call per cache lifetime, not one per request or per isolate.
 *
 * Only verdicts are cached (a record the provider gave); failures never are, so a provider
 * outage cannot pin an IP as unknown. The lifetime depends on the risk (API_CACHE_TTL_S): dirty
 * verdicts are kept longest, clean ones and anonymizer flags are asked again sooner. Values are
 * parsed with the record schema on the way back: KV content is a trust boundary.
 */
import { API_CACHE_PREFIX, API_CACHE_TTL_S } from '../constants';
import { clientKey, type IpAddress } from '../ip/parse';
import type { ProviderName } from '../providers/types';
import { isDirty, type ReputationRecord, recordSchema } from './record';

export interface CachedAnswer {
  record: ReputationRecord;
  /** When the provider answered (ISO time). */
  at: string;
}

const ANONYMIZERS = new Set(['vpn', 'anonymous_vpn', 'tor', 'proxy']);

export function apiCacheKey(provider: ProviderName, ip: IpAddress): string {
  return `${API_CACHE_PREFIX}${provider}:${clientKey(ip)}`;
}

/** Seconds a record stays in the API cache. */
export function apiCacheTtl(record: ReputationRecord): number {
  if (isDirty(record.score)) return API_CACHE_TTL_S.dirty;
  if (record.categories.some((c) => ANONYMIZERS.has(c))) return API_CACHE_TTL_S.anonymizer;
  return API_CACHE_TTL_S.clean;
}

/** The record in a cached value, or null for anything that is not one. */
export function parseCachedAnswer(value: unknown): ReputationRecord | null {
  if (typeof value !== 'object' || value === null) return null;
  const parsed = recordSchema.safeParse((value as { record?: unknown }).record);
  return parsed.success ? parsed.data : null;
}

/** Reads the cached record for an IP; null when there is none. KV errors propagate. */
export async function readApiCache(
  kv: Pick<KVNamespace, 'get'>,
  provider: ProviderName,
  ip: IpAddress,
): Promise<ReputationRecord | null> {
  return parseCachedAnswer(await kv.get(apiCacheKey(provider, ip), 'json'));
}

export async function writeApiCache(
  kv: Pick<KVNamespace, 'put'>,
  provider: ProviderName,
  ip: IpAddress,
  record: ReputationRecord,
  now: Date,
): Promise<void> {
  const value: CachedAnswer = { record, at: now.toISOString() };
  await kv.put(apiCacheKey(provider, ip), JSON.stringify(value), {
    expirationTtl: apiCacheTtl(record),
  });
}
