/**
 * What tests and the fake siteverify server (fake-turnstile.ts) agree on: the secret, the
 * hostname and action a passing token reports, the token kinds and the request log. Plain data
 * and `fetch` only, so both the Node side and tests inside workerd can import it.
 */

/** The only secret the fake accepts (lower-case, so a leak of it looks like an error code). */
export const FAKE_TURNSTILE_SECRET = 'fake-turnstile-secret-for-tests';
/** The hostname a passing token reports. */
export const FAKE_TURNSTILE_HOSTNAME = 'gate.test';
/** The action a passing token reports (ipgate's own). */
export const FAKE_TURNSTILE_ACTION = 'ipgate-challenge';
/** How long a `slow` token takes, in milliseconds. */
export const FAKE_TURNSTILE_SLOW_MS = 2_000;

/**
 * The token's part before the first `.` picks the answer; the rest makes it unique per test.
 *
 *   pass          success on FAKE_TURNSTILE_HOSTNAME for FAKE_TURNSTILE_ACTION
 *   other-host    success, but solved on `evil.test`
 *   other-action  success, but for action `login`
 *   fail          `invalid-input-response`
 *   dup           `timeout-or-duplicate`
 *   internal      `internal-error`
 *   leak          error codes that repeat the secret (a hostile or broken answer)
 *   slow          success after FAKE_TURNSTILE_SLOW_MS
 *   error500      HTTP 500 with an HTML body
 *   html          HTTP 200 with an HTML body
 */
export type FakeTokenKind =
  | 'pass'
  | 'other-host'
  | 'other-action'
  | 'fail'
  | 'dup'
  | 'internal'
  | 'leak'
  | 'slow'
  | 'error500'
  | 'html';

/** What the fake received with one token (never the secret, only whether it matched). */
export interface SiteverifySeen {
  contentType: string;
  secretOk: boolean;
  response: string | null;
  remoteip: string | null;
}

let counter = 0;
/** A token of `kind`, unique in this run. */
export function fakeToken(kind: FakeTokenKind): string {
  counter += 1;
  return `${kind}.${Date.now()}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** What the fake at `base` received with `token`. */
export async function siteverifySeen(base: string, token: string): Promise<SiteverifySeen[]> {
  const r = await fetch(`${base}/__turnstile/log?token=${encodeURIComponent(token)}`);
  return (await r.json()) as SiteverifySeen[];
}
