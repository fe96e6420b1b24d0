/**
 * One interface over the two places a table or policy can live: the local KV state that
 * `npm start` serves (through wrangler) and a Cloudflare account's KV (through the REST API).
 * Commands are written once against it.
 */

export interface KvPair {
  key: string;
  value: Uint8Array;
  /** Seconds until KV deletes the pair (at least 60); none means it never expires. */
  expirationTtl?: number;
}

export interface KvStore {
  /** Human-readable name for messages: "local REPUTATION", "remote POLICY (id …)". */
  readonly label: string;
  get(key: string): Promise<Uint8Array | null>;
  /** Writes pairs in order; a failure throws and leaves the later pairs unwritten. */
  put(pairs: KvPair[], progress?: (done: number) => void): Promise<void>;
  delete(keys: string[]): Promise<void>;
  list(prefix: string): Promise<string[]>;
}

export async function getText(store: KvStore, key: string): Promise<string | null> {
  const bytes = await store.get(key);
  return bytes === null ? null : new TextDecoder().decode(bytes);
}

export function textPair(key: string, text: string): KvPair {
  return { key, value: new TextEncoder().encode(text) };
}
