/**
 * The reads ipgate makes from KV. Workers' KVNamespace satisfies it; the CLI serves the same
 * modules (policy loader, table store) from its local or remote stores through it. Kept free
 * of Workers types so Node code can use those modules too.
 */
export interface KvReader {
  get(key: string, type: 'text'): Promise<string | null>;
  get(key: string, type: 'json'): Promise<unknown>;
  get(
    key: string,
    options: { type: 'arrayBuffer'; cacheTtl?: number },
  ): Promise<ArrayBuffer | null>;
}
