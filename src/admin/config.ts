/**
 * How the dashboard is protected, read from the Worker's secrets and settings: an ADMIN_TOKEN,
 * Cloudflare Access (team and audience), or both. With neither, or with either misconfigured,
 * the dashboard is disabled and says why: it is never open. Checked once per distinct set of
 * values, not per request.
 */
import { ACCESS_CERTS_PATH, ADMIN_TOKEN_MIN_CHARS } from '../constants';
import type { Env } from '../env';

export interface AccessConfig {
  /** `https://<team>.cloudflareaccess.com`, the `iss` of the team's tokens. */
  issuer: string;
  /** The team's signing keys (JWKS). */
  certsUrl: string;
  /** The Access application's audience tag. */
  aud: string;
}

export type AdminConfig =
  | { enabled: false; reason: string }
  | { enabled: true; token: string | null; access: AccessConfig | null };

const TEAM_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const AUD_RE = /^[A-Za-z0-9_-]{8,128}$/;

/** `myteam`, `myteam.cloudflareaccess.com` or its https URL, as the team's issuer; else null. */
export function accessIssuer(teamDomain: string): string | null {
  const host = teamDomain
    .trim()
    .toLowerCase()
    .replace(/^https:\/\//, '')
    .replace(/\/+$/, '');
  const team = host.endsWith('.cloudflareaccess.com')
    ? host.slice(0, -'.cloudflareaccess.com'.length)
    : host;
  return TEAM_RE.test(team) ? `https://${team}.cloudflareaccess.com` : null;
}

function read(env: Env): AdminConfig {
  const token = env.ADMIN_TOKEN ?? '';
  const team = env.ACCESS_TEAM_DOMAIN ?? '';
  const aud = env.ACCESS_AUD ?? '';
  if (!token && !team && !aud)
    return {
      enabled: false,
      reason:
        'The dashboard is disabled: set the ADMIN_TOKEN secret (at least 32 characters), or ACCESS_TEAM_DOMAIN and ACCESS_AUD for Cloudflare Access.',
    };
  if (token && token.length < ADMIN_TOKEN_MIN_CHARS)
    return {
      enabled: false,
      reason: `The dashboard is disabled: ADMIN_TOKEN must be at least ${ADMIN_TOKEN_MIN_CHARS} characters (for example "openssl rand -base64 32").`,
    };
  let access: AccessConfig | null = null;
  if (team || aud) {
    const issuer = accessIssuer(team);
    if (!team || !aud)
      return {
        enabled: false,
        reason:
          'The dashboard is disabled: Cloudflare Access needs both ACCESS_TEAM_DOMAIN and ACCESS_AUD.',
      };
    if (issuer === null)
      return {
        enabled: false,
        reason:
          'The dashboard is disabled: ACCESS_TEAM_DOMAIN must be a team name or <team>.cloudflareaccess.com.',
      };
    if (!AUD_RE.test(aud))
      return {
        enabled: false,
        reason: 'The dashboard is disabled: ACCESS_AUD is not an Access audience tag.',
      };
    access = { issuer, certsUrl: `${issuer}${ACCESS_CERTS_PATH}`, aud };
  }
  return { enabled: true, token: token || null, access };
}

let cached: { key: string; config: AdminConfig } | null = null;

export function adminConfig(env: Env): AdminConfig {
  const key = JSON.stringify([env.ADMIN_TOKEN, env.ACCESS_TEAM_DOMAIN, env.ACCESS_AUD]);
  if (cached?.key !== key) cached = { key, config: read(env) };
  return cached.config;
}
