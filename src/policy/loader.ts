/**
 * Keeps the policy in isolate memory. KV is eventually consistent and its reads can take
 * hundreds of milliseconds, so the document is cached: after POLICY_SOFT_TTL_MS it is
 * refreshed in the background, after POLICY_HARD_TTL_MS a request waits (briefly) for the
 * reload, so a change applies everywhere within a minute.
 *
 * A new document that fails validation never replaces the last good one; it is reported on
 * health with every problem and its path. With no document at all, the built-in defaults
 * serve.
 */
import {
  POLICY_CURRENT_KEY,
  POLICY_HARD_TTL_MS,
  POLICY_LOAD_DEADLINE_MS,
  POLICY_SOFT_TTL_MS,
} from '../constants';
import { errorMessage, TIMED_OUT, withDeadline } from '../util/deadline';
import { sha256Hex } from '../util/digest';
import type { KvReader } from '../util/kv-reader';
import { type CompiledPolicy, compilePolicy } from './compile';
import { DEFAULT_POLICY_DOCUMENT } from './defaults';
import { type PolicyIssue, parsePolicy, parsePolicyText } from './schema';

export interface PolicyStatus {
  /** Where the serving policy came from. */
  source: 'kv' | 'default';
  /** Content hash of the serving policy. */
  version: string;
  /** False when the newest document in KV was refused (the last good one keeps serving). */
  valid: boolean;
  /** Problems of the refused document, each with its path. */
  issues: PolicyIssue[];
  /** Hash of the refused document, when there is one. */
  rejectedVersion: string | null;
  /** Last failure to read KV, if the latest attempt failed. */
  error: string | null;
  /** Epoch ms of the last successful read (0 before the first). */
  loadedAt: number;
}

export interface PolicyStoreOptions {
  now?: () => number;
  softTtlMs?: number;
  hardTtlMs?: number;
  deadlineMs?: number;
}

/** SHA-256 of the text, first 12 hex digits. */
export async function contentVersion(text: string): Promise<string> {
  return (await sha256Hex(new TextEncoder().encode(text))).slice(0, 12);
}

let defaultPolicy: Promise<CompiledPolicy> | null = null;

/** The built-in policy, compiled once per isolate. */
export function builtInPolicy(): Promise<CompiledPolicy> {
  defaultPolicy ??= (async () => {
    const parsed = parsePolicy(DEFAULT_POLICY_DOCUMENT);
    if (!parsed.ok) throw new Error('built-in policy is invalid');
    return compilePolicy(
      parsed.policy,
      `default-${await contentVersion(JSON.stringify(parsed.policy))}`,
    );
  })();
  return defaultPolicy;
}

/**
 * Parses and compiles policy text. The schema admits only documents the compiler takes, so a
 * throw here is a defect; it is still reported as a problem of the document, never thrown to
 * the request path.
 */
async function compileText(
  text: string,
): Promise<{ ok: true; policy: CompiledPolicy } | { ok: false; issues: PolicyIssue[] }> {
  const parsed = parsePolicyText(text);
  if (!parsed.ok) return parsed;
  try {
    return { ok: true, policy: compilePolicy(parsed.policy, await contentVersion(text)) };
  } catch (e) {
    return {
      ok: false,
      issues: [{ path: '', message: `the policy could not be compiled: ${errorMessage(e)}` }],
    };
  }
}

export class PolicyStore {
  private policy: CompiledPolicy | null = null;
  private rawText: string | null = null;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | null = null;
  private readonly now: () => number;
  private readonly softTtl: number;
  private readonly hardTtl: number;
  private readonly deadline: number;
  private state: PolicyStatus = {
    source: 'default',
    version: '',
    valid: true,
    issues: [],
    rejectedVersion: null,
    error: null,
    loadedAt: 0,
  };

  constructor(options: PolicyStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.softTtl = options.softTtlMs ?? POLICY_SOFT_TTL_MS;
    this.hardTtl = options.hardTtlMs ?? POLICY_HARD_TTL_MS;
    this.deadline = options.deadlineMs ?? POLICY_LOAD_DEADLINE_MS;
  }

  /** The policy to apply now; never throws, never waits longer than the load deadline. */
  async current(kv: KvReader, waitUntil: (p: Promise<unknown>) => void): Promise<CompiledPolicy> {
    const age = this.now() - this.checkedAt;
    if (this.policy && age < this.softTtl) return this.policy;
    const refresh = this.refresh(kv);
    if (this.policy && age < this.hardTtl) {
      waitUntil(refresh);
      return this.policy;
    }
    const done = await withDeadline(refresh, this.deadline);
    if (done === TIMED_OUT) {
      waitUntil(refresh);
      if (!this.policy) this.state = { ...this.state, error: 'policy read timed out' };
    }
    return this.policy ?? (await builtInPolicy());
  }

  status(): PolicyStatus {
    return { ...this.state };
  }

  /**
   * Serves `text` at once, as if it had just been read from KV: for the isolate that wrote it
   * (the dashboard), which should not wait for its own cache to expire. Refused like a KV read
   * when invalid; returns whether it now serves.
   */
  async adopt(text: string): Promise<boolean> {
    const compiled = await compileText(text);
    if (!compiled.ok) return false;
    this.install(compiled.policy, text, 'kv');
    this.checkedAt = this.now();
    return true;
  }

  private refresh(kv: KvReader): Promise<void> {
    this.inflight ??= this.load(kv).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async load(kv: KvReader): Promise<void> {
    let text: string | null;
    try {
      text = await kv.get(POLICY_CURRENT_KEY, 'text');
    } catch (e) {
      // Keep serving what we have (the defaults if nothing yet); try again after the soft TTL.
      this.checkedAt = this.now();
      if (!this.policy) {
        this.policy = await builtInPolicy();
        this.state = { ...this.state, version: this.policy.version };
      }
      this.state = { ...this.state, error: `policy read failed: ${errorMessage(e)}` };
      return;
    }
    this.checkedAt = this.now();
    if (text !== null && text === this.rawText) {
      this.state = { ...this.state, error: null, loadedAt: this.now() };
      return;
    }
    if (text === null) {
      const policy = await builtInPolicy();
      this.install(policy, null, 'default');
      return;
    }
    const compiled = await compileText(text);
    if (!compiled.ok) {
      // Refused: the last good policy (or the defaults) keeps serving.
      this.policy ??= await builtInPolicy();
      this.state = {
        ...this.state,
        source: this.rawText === null ? 'default' : 'kv',
        version: this.policy.version,
        valid: false,
        issues: compiled.issues,
        rejectedVersion: await contentVersion(text),
        error: null,
        loadedAt: this.now(),
      };
      return;
    }
    this.install(compiled.policy, text, 'kv');
  }

  private install(policy: CompiledPolicy, text: string | null, source: 'kv' | 'default') {
    this.policy = policy;
    this.rawText = text;
    this.state = {
      source,
      version: policy.version,
      valid: true,
      issues: [],
      rejectedVersion: null,
      error: null,
      loadedAt: this.now(),
    };
  }
}
