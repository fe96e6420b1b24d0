/**
 * Who is asking: every dashboard and admin API request is authenticated here, and every
 * state-changing one is checked against cross-site forgery.
 *
 * In order:
 * 1. Neither ADMIN_TOKEN nor Access configured (or either misconfigured): disabled, 403.
 * 2. Access configured and `Cf-Access-Jwt-Assertion` present: the token must verify (access.ts);
 *    a bad one is refused outright, never passed on to the token checks.
 * 3. ADMIN_TOKEN configured: `Authorization: Bearer <token>` (scripts), else the session cookie
 *    (browsers, after the sign-in form). Every token comparison is rate limited per client key
 *    (signin-limit.ts) and constant-time (session.ts).
 *
 * Forgery: the session cookie is SameSite=Strict, so another site's request does not carry it;
 * forms also carry a per-session CSRF token, and a POST must come from this origin (`Origin`,
 * or `Sec-Fetch-Site: same-origin`). Access sessions live in Cloudflare's own cookie, so they
 * get a double-submit CSRF cookie instead. A bearer token cannot be sent by another site at all.
 */
import { readCookie } from '../challenge/cookie';
import {
  ACCESS_JWT_HEADER,
  ADMIN_COOKIE_MAX_CHARS,
  ADMIN_CSRF_COOKIE,
  ADMIN_SESSION_COOKIE,
  ADMIN_SESSION_TTL_S,
  ADMIN_SIGNIN_FAILURE_DELAY_MS,
} from '../constants';
import type { Env } from '../env';
import { clientIp } from '../gate/client';
import { clientKey } from '../ip/parse';
import type { AccessVerifier } from './access';
import { adminConfig } from './config';
import {
  adminCookie,
  randomCsrf,
  secretEquals,
  sessionCsrf,
  signSession,
  verifySession,
} from './session';
import type { SignInLimiter } from './signin-limit';

export type Principal =
  | { kind: 'session'; identity: string; csrf: string }
  | { kind: 'bearer'; identity: string }
  | {
      kind: 'access';
      identity: string;
      csrf: string;
      /** Set when the double-submit cookie must be (re)issued with this response. */
      setCookie: string | null;
    };

export type AuthFailure = {
  status: 401 | 403 | 429;
  error:
    | 'dashboard_disabled'
    | 'unauthorized'
    | 'access_denied'
    | 'access_required'
    | 'too_many_attempts';
  detail: string;
  /** The sign-in form can help (a token is configured). */
  signIn: boolean;
  retryAfter?: number;
  /** The request carried a session cookie that is no longer good. */
  clearSession?: boolean;
};

export type AuthResult = { ok: true; principal: Principal } | { ok: false; failure: AuthFailure };

type TokenCheck = { ok: true } | { ok: false; failure: AuthFailure };

export interface AdminAuthOptions {
  limiter: SignInLimiter;
  access: AccessVerifier;
  now: () => number;
  failureDelayMs?: number;
}

const BEARER_RE = /^Bearer[ \t]+([!-~]{1,1024})[ \t]*$/i;

/** The client key sign-in failures are counted under. */
function signInKey(request: Request): string {
  const ip = clientIp(request.headers);
  return ip === null ? 'unknown' : clientKey(ip);
}

export class AdminAuth {
  private readonly limiter: SignInLimiter;
  private readonly access: AccessVerifier;
  private readonly now: () => number;
  private readonly delay: number;

  constructor(options: AdminAuthOptions) {
    this.limiter = options.limiter;
    this.access = options.access;
    this.now = options.now;
    this.delay = options.failureDelayMs ?? ADMIN_SIGNIN_FAILURE_DELAY_MS;
  }

  async authenticate(request: Request, env: Env): Promise<AuthResult> {
    const config = adminConfig(env);
    if (!config.enabled) return refuse(403, 'dashboard_disabled', config.reason, false);
    if (config.access) {
      const jwt = request.headers.get(ACCESS_JWT_HEADER);
      if (jwt !== null) {
        const verdict = await this.access.verify(jwt, config.access);
        if (!verdict.ok)
          return refuse(
            403,
            'access_denied',
            `The Cloudflare Access token was refused (${verdict.reason}).`,
            false,
          );
        const existing = readCookie(request.headers.get('Cookie'), ADMIN_CSRF_COOKIE);
        const usable = existing !== null && /^[A-Za-z0-9_-]{43}$/.test(existing);
        const csrf = usable ? existing : randomCsrf();
        return {
          ok: true,
          principal: {
            kind: 'access',
            identity: verdict.identity,
            csrf,
            setCookie: usable ? null : adminCookie(ADMIN_CSRF_COOKIE, csrf, ADMIN_SESSION_TTL_S),
          },
        };
      }
    }
    if (config.token === null)
      return refuse(
        401,
        'access_required',
        'This dashboard is behind Cloudflare Access: open it through the Access application.',
        false,
      );
    const authorization = request.headers.get('Authorization');
    if (authorization !== null) {
      const m = BEARER_RE.exec(authorization);
      if (!m?.[1])
        return refuse(401, 'unauthorized', 'Expected "Authorization: Bearer <ADMIN_TOKEN>".', true);
      const check = await this.checkToken(request, env, m[1], config.token);
      if (!check.ok) return check;
      return { ok: true, principal: { kind: 'bearer', identity: 'API token' } };
    }
    const cookie = readCookie(request.headers.get('Cookie'), ADMIN_SESSION_COOKIE);
    if (cookie !== null) {
      const session = await verifySession(config.token, cookie, this.now());
      if (session.ok)
        return {
          ok: true,
          principal: {
            kind: 'session',
            identity: 'admin',
            csrf: await sessionCsrf(config.token, session.sid),
          },
        };
    }
    const failure = refuse(
      401,
      'unauthorized',
      'Sign in, or send "Authorization: Bearer <ADMIN_TOKEN>".',
      true,
    ).failure;
    return { ok: false, failure: { ...failure, clearSession: cookie !== null } };
  }

  /**
   * The sign-in form's token: a session cookie (`Set-Cookie` value) when it is right, a
   * failure otherwise.
   */
  async signIn(
    request: Request,
    env: Env,
    given: string,
  ): Promise<{ ok: true; setCookie: string } | { ok: false; failure: AuthFailure }> {
    const config = adminConfig(env);
    if (!config.enabled) return refuse(403, 'dashboard_disabled', config.reason, false);
    if (config.token === null)
      return refuse(
        403,
        'access_required',
        'Sign-in with a token is not configured: this dashboard is behind Cloudflare Access.',
        false,
      );
    const check = await this.checkToken(request, env, given, config.token);
    if (!check.ok) return check;
    const session = await signSession(config.token, this.now(), ADMIN_SESSION_TTL_S);
    return {
      ok: true,
      setCookie: adminCookie(ADMIN_SESSION_COOKIE, session.value, ADMIN_SESSION_TTL_S),
    };
  }

  /** Whether a state-changing request carries the principal's CSRF token. */
  async csrfValid(principal: Principal, supplied: string | null): Promise<boolean> {
    if (principal.kind === 'bearer') return true;
    if (supplied === null || supplied.length === 0 || supplied.length > ADMIN_COOKIE_MAX_CHARS)
      return false;
    return secretEquals(supplied, principal.csrf);
  }

  private async checkToken(
    request: Request,
    env: Env,
    given: string,
    token: string,
  ): Promise<TokenCheck> {
    const client = signInKey(request);
    const wait = await this.limiter.retryAfter(env.POLICY, client);
    if (wait > 0)
      return {
        ok: false,
        failure: {
          status: 429,
          error: 'too_many_attempts',
          detail: `Too many failed sign-ins from this address: try again in ${wait} s.`,
          signIn: true,
          retryAfter: wait,
        },
      };
    if (await secretEquals(given, token)) {
      await this.limiter.succeeded(env.POLICY, client);
      return { ok: true };
    }
    await this.limiter.failed(env.POLICY, client);
    if (this.delay > 0) await new Promise((r) => setTimeout(r, this.delay));
    return refuse(401, 'unauthorized', 'The token is not right.', true);
  }
}

function refuse(
  status: AuthFailure['status'],
  error: AuthFailure['error'],
  detail: string,
  signIn: boolean,
): { ok: false; failure: AuthFailure } {
  return { ok: false, failure: { status, error, detail, signIn } };
}

/**
 * Whether a state-changing request comes from this origin. Browsers send `Origin` with every
 * POST (or at least `Sec-Fetch-Site`); a script with a bearer token may send neither.
 */
export function sameOrigin(request: Request, principal: Principal | null): boolean {
  const own = new URL(request.url).origin;
  const origin = request.headers.get('Origin');
  if (origin !== null) return origin === own;
  const site = request.headers.get('Sec-Fetch-Site');
  if (site !== null) return site === 'same-origin';
  return principal?.kind === 'bearer';
}
