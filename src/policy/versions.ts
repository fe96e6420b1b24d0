/**
 * Saved policy versions, shared by the CLI (`ipgate config`) and the dashboard, so both save
 * and roll back the same way.
 *
 * Every save writes the document under `policy:version:<time>-<hash>` first and `policy:current`
 * last, so a reader never sees a current document that has no saved version. A document is
 * validated with the shared schema before anything is written, and a rollback target is
 * validated again before it is made current (a version written by hand may be broken).
 *
 * KV is eventually consistent: other locations may serve the previous `policy:current` for
 * about a minute, and the Worker's policy cache adds its own 30–60 s. The dashboard installs a
 * saved document in its own isolate at once.
 */
import { POLICY_CURRENT_KEY, POLICY_VERSION_PREFIX } from '../constants';
import { contentVersion } from './loader';
import { type PolicyIssue, parsePolicyText } from './schema';

/** The reads and writes versions need; adapters exist for Workers KV and the CLI's stores. */
export interface PolicyKv {
  getText(key: string): Promise<string | null>;
  /** Writes the pairs in order; a failure leaves the later ones unwritten. */
  putText(pairs: { key: string; text: string }[]): Promise<void>;
  /** Every key with the prefix. */
  listKeys(prefix: string): Promise<string[]>;
}

export interface PolicyVersion {
  /** `<time>-<hash>`: UTC `YYYYMMDDTHHMMSSZ` and the document's content version. */
  id: string;
  key: string;
  /** The content version (first 12 hex digits of the SHA-256), as on health and in events. */
  hash: string;
  /** ISO time the version was saved. */
  savedAt: string;
}

export type SaveResult =
  | { ok: true; id: string; version: string }
  | { ok: false; issues: PolicyIssue[] };

export type RollbackResult =
  | { ok: true; id: string; version: string; text: string }
  | { ok: false; problem: 'no_such_version' | 'no_earlier_version' | 'unreadable'; detail: string }
  | { ok: false; problem: 'invalid'; id: string; detail: string; issues: PolicyIssue[] };

const ID_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-([0-9a-f]{12})$/;

/** The id a document saved at `now` gets. */
export async function versionId(text: string, now: Date): Promise<string> {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${await contentVersion(text)}`;
}

function fromKey(key: string): PolicyVersion | null {
  const id = key.slice(POLICY_VERSION_PREFIX.length);
  const m = ID_RE.exec(id);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, hash] = m;
  return { id, key, hash: hash ?? '', savedAt: `${y}-${mo}-${d}T${h}:${mi}:${s}Z` };
}

/** Saved versions, newest first. Keys that are not of the documented shape are skipped. */
export async function listPolicyVersions(kv: PolicyKv): Promise<PolicyVersion[]> {
  const keys = await kv.listKeys(POLICY_VERSION_PREFIX);
  return keys
    .map(fromKey)
    .filter((v): v is PolicyVersion => v !== null)
    .sort((a, b) => b.id.localeCompare(a.id));
}

/** The content version of `policy:current`, or null when there is none. */
export async function currentPolicyVersion(kv: PolicyKv): Promise<string | null> {
  const text = await kv.getText(POLICY_CURRENT_KEY);
  return text === null ? null : contentVersion(text);
}

/** Validates the document, then saves it as a new version and makes it current. */
export async function savePolicy(kv: PolicyKv, text: string, now: Date): Promise<SaveResult> {
  const parsed = parsePolicyText(text);
  if (!parsed.ok) return { ok: false, issues: parsed.issues };
  const id = await versionId(text, now);
  await kv.putText([
    { key: `${POLICY_VERSION_PREFIX}${id}`, text },
    { key: POLICY_CURRENT_KEY, text },
  ]);
  return { ok: true, id, version: await contentVersion(text) };
}

/**
 * Makes a saved version current again: `to` names it; without `to`, the version saved before
 * the one now current (or the newest, when the current document is none of them).
 */
export async function rollbackPolicy(kv: PolicyKv, to?: string): Promise<RollbackResult> {
  const list = await listPolicyVersions(kv);
  let target = to === undefined ? undefined : list.find((v) => v.id === to);
  if (to !== undefined && !target)
    return { ok: false, problem: 'no_such_version', detail: `no saved version ${to}` };
  if (!target) {
    const currentHash = await currentPolicyVersion(kv);
    const at = list.findIndex((v) => currentHash !== null && v.hash === currentHash);
    target = at >= 0 ? list[at + 1] : list[0];
  }
  if (!target)
    return {
      ok: false,
      problem: 'no_earlier_version',
      detail: 'no earlier saved version to roll back to',
    };
  const text = await kv.getText(target.key);
  if (text === null)
    return { ok: false, problem: 'unreadable', detail: `version ${target.id} could not be read` };
  const parsed = parsePolicyText(text);
  if (!parsed.ok)
    return {
      ok: false,
      problem: 'invalid',
      id: target.id,
      detail: `version ${target.id} is not a valid policy`,
      issues: parsed.issues,
    };
  await kv.putText([{ key: POLICY_CURRENT_KEY, text }]);
  return { ok: true, id: target.id, version: target.hash, text };
}
