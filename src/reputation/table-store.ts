/**
 * The reputation table in isolate memory, loaded from `REPUTATION`.
 *
 * - Cold: the first lookup that needs the table reads the manifest and the one chunk that
 *   covers the address, within the policy's deadline; what is not there in time is `timeout`
 *   (the load goes on in the background, so the next request is warm).
 * - Warm: lookups are synchronous binary searches; no KV read per request.
 * - Refresh: every TABLE_REFRESH_INTERVAL_MS a request triggers a background manifest check.
 *   A new generation is loaded whole beside the old one and swapped in at once; until then the
 *   old one keeps serving. Chunks are content-addressed, so the chunks the new manifest shares
 *   with the old one are taken over as they are and only the others are read.
 * - Integrity: a generation only ever holds chunks its own manifest names, each checked
 *   against its entry (size, SHA-256) before decoding and against its key range after, so two
 *   generations can never mix.
 * - Failure: a KV error, a missing or corrupt chunk is `error` (the policy's onError decides)
 *   and is retried after TABLE_RETRY_AFTER_MS, not on every request. A new generation that
 *   cannot be loaded whole is kept aside with the chunks it did load: a retry reads only the
 *   chunks still missing, and each failure doubles the wait before the next, up to
 *   TABLE_PENDING_RETRY_MAX_MS, so a corrupt or half-written table is not re-read every few
 *   seconds while it stays published.
 */
import {
  TABLE_CHUNK_CACHE_TTL_S,
  TABLE_MANIFEST_KEY,
  TABLE_PENDING_RETRY_MAX_MS,
  TABLE_REFRESH_INTERVAL_MS,
  TABLE_RETRY_AFTER_MS,
} from '../constants';
import type { IpAddress } from '../ip/parse';
import type { Reputation } from '../policy/decide';
import type { TableChunk } from '../table/lookup';
import { decodeEntryChunk, type ManifestChunk, parseManifest } from '../table/manifest';
import { RecordStore } from '../table/record-store';
import { CHUNK_NOT_LOADED, type TableLookup, TableSet } from '../table/set';
import { errorMessage, TIMED_OUT, withDeadline } from '../util/deadline';
import type { KvReader } from '../util/kv-reader';

/** One generation: its manifest with the chunks loaded so far, and the loads in flight. */
interface Generation {
  set: TableSet;
  /** The distinct records of this generation's chunks, each held once. */
  records: RecordStore;
  loading: Map<string, Promise<TableChunk | Error>>;
  failedAt: Map<string, number>;
}

export interface TableStatus {
  state: 'cold' | 'empty' | 'ready' | 'failed';
  generation: string;
  createdAt: string;
  /** Intervals in the table (all chunks), from the manifest. */
  entries: number;
  chunks: number;
  loadedChunks: number;
  /** Epoch ms of the last manifest check. */
  checkedAt: number;
  lastError: string | null;
}

export interface LookupOptions {
  deadlineMs: number;
  waitUntil: (p: Promise<unknown>) => void;
}

export interface TableStoreOptions {
  now?: () => number;
  refreshIntervalMs?: number;
  retryAfterMs?: number;
}

export class TableStore {
  /** null: never loaded; 'empty': KV holds no table. */
  private current: Generation | 'empty' | null = null;
  /** A newer generation that could not be loaded whole yet, with what it did load. */
  private pending: { generation: Generation; chunkKeys: string; failures: number } | null = null;
  private manifestLoad: Promise<void> | null = null;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private failedAt = Number.NEGATIVE_INFINITY;
  private lastError: string | null = null;
  private readonly now: () => number;
  private readonly refreshInterval: number;
  private readonly retryAfter: number;

  constructor(options: TableStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.refreshInterval = options.refreshIntervalMs ?? TABLE_REFRESH_INTERVAL_MS;
    this.retryAfter = options.retryAfterMs ?? TABLE_RETRY_AFTER_MS;
  }

  generation(): string {
    return typeof this.current === 'object' && this.current
      ? this.current.set.manifest.generation
      : '';
  }

  status(): TableStatus {
    const g = typeof this.current === 'object' ? this.current : null;
    return {
      state: g ? 'ready' : this.current === 'empty' ? 'empty' : this.lastError ? 'failed' : 'cold',
      generation: g?.set.manifest.generation ?? '',
      createdAt: g?.set.manifest.createdAt ?? '',
      entries: g ? g.set.manifest.counts.v4 + g.set.manifest.counts.v6 : 0,
      chunks: g?.set.manifest.chunks.length ?? 0,
      loadedChunks: g?.set.loadedCount() ?? 0,
      checkedAt: Number.isFinite(this.checkedAt) ? this.checkedAt : 0,
      lastError: this.lastError,
    };
  }

  /** Looks up only what is already in memory: never reads KV, never waits. */
  peek(ip: IpAddress): Reputation {
    const g = this.current;
    if (g === 'empty') return { status: 'miss' };
    if (g === null) return { status: 'skipped' };
    return asReputation(g.set.lookup(ip));
  }

  /** Looks up the address, loading what is missing within the deadline. */
  async lookup(ip: IpAddress, kv: KvReader, options: LookupOptions): Promise<Reputation> {
    const deadlineAt = this.now() + options.deadlineMs;
    if (this.current === null) {
      if (this.now() - this.failedAt < this.retryAfter)
        return { status: 'error', error: this.lastError ?? 'table unavailable' };
      const load = this.loadManifest(kv);
      const done = await withDeadline(load, deadlineAt - this.now());
      if (done === TIMED_OUT) {
        options.waitUntil(load);
        return { status: 'timeout' };
      }
      if (this.current === null)
        return { status: 'error', error: this.lastError ?? 'table unavailable' };
    }
    const g = this.current;
    if (g === 'empty') return { status: 'miss' };
    const found = g.set.lookup(ip);
    if (found !== CHUNK_NOT_LOADED) return asReputation(found);
    const entry = g.set.chunkFor(ip);
    if (!entry) return { status: 'miss' };
    if (this.now() - (g.failedAt.get(entry.key) ?? Number.NEGATIVE_INFINITY) < this.retryAfter)
      return { status: 'error', error: this.lastError ?? `chunk ${entry.key} unavailable` };
    const load = this.loadChunk(g, entry, kv);
    const chunk = await withDeadline(load, deadlineAt - this.now());
    if (chunk === TIMED_OUT) {
      options.waitUntil(load);
      return { status: 'timeout' };
    }
    if (chunk instanceof Error) return { status: 'error', error: chunk.message };
    return asReputation(g.set.lookup(ip));
  }

  /** Starts a background check for a new generation when one is due. */
  refreshIfDue(kv: KvReader, waitUntil: (p: Promise<unknown>) => void): void {
    if (this.current === null || this.manifestLoad) return;
    if (this.now() - this.checkedAt < this.refreshInterval) return;
    waitUntil(this.loadManifest(kv));
  }

  /** Reads the manifest now (deduplicated) and installs a new generation if there is one. */
  loadManifest(kv: KvReader): Promise<void> {
    this.manifestLoad ??= this.readManifest(kv).finally(() => {
      this.manifestLoad = null;
    });
    return this.manifestLoad;
  }

  private fail(error: string): void {
    this.lastError = error;
    this.failedAt = this.now();
  }

  private async readManifest(kv: KvReader): Promise<void> {
    // Read as text: parseManifest names a syntax error as a refused manifest, where a 'json'
    // read would throw it as if KV had failed.
    let raw: string | null;
    try {
      raw = await kv.get(TABLE_MANIFEST_KEY, 'text');
    } catch (e) {
      this.checkedAt = this.now() - this.refreshInterval + this.retryAfter;
      return this.fail(`manifest read failed: ${errorMessage(e)}`);
    }
    this.checkedAt = this.now();
    if (raw === null) {
      this.current = 'empty';
      this.lastError = null;
      return;
    }
    const parsed = parseManifest(raw);
    if (!parsed.ok) return this.fail(`manifest refused: ${parsed.error}`);
    const manifest = parsed.manifest;
    const cur = this.current;
    if (cur !== null && cur !== 'empty' && cur.set.manifest.generation === manifest.generation)
      return;
    const chunkKeys = manifest.chunks.map((c) => c.key).join(',');
    const resumed =
      this.pending?.generation.set.manifest.generation === manifest.generation &&
      this.pending.chunkKeys === chunkKeys
        ? this.pending
        : null;
    let next: Generation;
    if (resumed) next = resumed.generation;
    else {
      const created = TableSet.create(manifest);
      if (!created.ok) return this.fail(`manifest refused: ${created.error}`);
      next = {
        set: created.set,
        records: new RecordStore(),
        loading: new Map(),
        failedAt: new Map(),
      };
    }
    if (cur === null || cur === 'empty') {
      // Cold start: chunks load on demand.
      this.current = next;
      this.pending = null;
      this.lastError = null;
      return;
    }
    // A new generation while serving: load it whole beside the old one, then swap.
    for (const c of manifest.chunks) {
      const shared = cur.set.get(c.key);
      if (shared && !next.set.get(c.key)) next.set.add(c.key, shared);
    }
    const results = await Promise.all(
      manifest.chunks.map((c) => next.set.get(c.key) ?? this.loadChunk(next, c, kv)),
    );
    const failure = results.find((r): r is Error => r instanceof Error);
    if (failure) {
      const failures = (resumed?.failures ?? 0) + 1;
      this.pending = { generation: next, chunkKeys, failures };
      const wait = Math.min(this.retryAfter * 2 ** (failures - 1), TABLE_PENDING_RETRY_MAX_MS);
      this.checkedAt = this.now() - this.refreshInterval + wait;
      return this.fail(`generation ${manifest.generation} not loaded: ${failure.message}`);
    }
    this.current = next;
    this.pending = null;
    this.lastError = null;
  }

  private loadChunk(
    g: Generation,
    entry: ManifestChunk,
    kv: KvReader,
  ): Promise<TableChunk | Error> {
    let p = g.loading.get(entry.key);
    if (!p) {
      p = this.readChunk(entry, kv, g.records).then((r) => {
        g.loading.delete(entry.key);
        const problem = r instanceof Error ? r.message : g.set.add(entry.key, r);
        if (problem === null) return r;
        g.failedAt.set(entry.key, this.now());
        this.fail(problem);
        return r instanceof Error ? r : new Error(problem);
      });
      g.loading.set(entry.key, p);
    }
    return p;
  }

  private async readChunk(
    entry: ManifestChunk,
    kv: KvReader,
    records: RecordStore,
  ): Promise<TableChunk | Error> {
    let buf: ArrayBuffer | null;
    try {
      buf = await kv.get(entry.key, { type: 'arrayBuffer', cacheTtl: TABLE_CHUNK_CACHE_TTL_S });
    } catch (e) {
      return new Error(`chunk ${entry.key} read failed: ${errorMessage(e)}`);
    }
    if (buf === null) return new Error(`chunk ${entry.key} is missing`);
    const decoded = await decodeEntryChunk(entry, buf, records);
    return decoded.ok ? decoded.chunk : new Error(decoded.error);
  }
}

/** A table answer as a reputation; a chunk not in memory yet was not looked at (`skipped`). */
function asReputation(found: TableLookup): Reputation {
  if (found === CHUNK_NOT_LOADED) return { status: 'skipped' };
  return found ? { status: 'hit', record: found } : { status: 'miss' };
}
