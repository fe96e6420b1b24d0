/**
 * AbuseIPDB `GET /api/v2/check` bodies → one reputation record. Pure (no I/O, no clock).
 *
 *   { "data": { "ipAddress": "203.0.113.7", "isPublic": true, "ipVersion": 4,
 *               "isWhitelisted": false, "abuseConfidenceScore": 87, "countryCode": "NL",
 *               "usageType": "Data Center/Web Hosting/Transit", "isp": "Example Hosting B.V.",
 *               "domain": "example.net", "hostnames": [], "isTor": false, "totalReports": 42,
 *               "numDistinctUsers": 17, "lastReportedAt": "2025-07-13T00:00:00+00:00" } }
 *
 * Errors come as `{ "errors": [ { "detail": "…", "status": 429 } ] }` (401 bad key, 422 bad
 * address, 429 daily limit). AbuseIPDB scores how sure its reporters are that an address is
 * abusive, 0–100; `ABUSEIPDB_SCORE_LEVELS` turns that into ipgate's five levels. It gives no
 * ASN, so the record has none; `isp` becomes the organisation.
 */
import { ABUSEIPDB_HOSTING_USAGE, ABUSEIPDB_SCORE_LEVELS } from '../../constants';
import { parseIp } from '../../ip/parse';
import { normalizeRecord, type ReputationRecord, type Score } from '../../reputation/record';
import { isObject, nonEmpty, show } from '../../util/json';

export type AbuseIpdbParseResult =
  | { ok: true; ip: string; record: ReputationRecord }
  /** `path` names the offending field (`data.abuseConfidenceScore`) when there is one. */
  | { ok: false; error: string; path?: string };

export interface AbuseIpdbError {
  detail: string;
  status?: number;
}

/** The level of an abuse confidence score (an integer 0–100), or null. */
export function abuseScoreLevel(score: number): Score | null {
  if (!Number.isInteger(score) || score < 0 || score > 100) return null;
  for (const [min, level] of ABUSEIPDB_SCORE_LEVELS) if (score >= min) return level;
  return null;
}

/** The `errors` of an error body, or null when the body is not one. */
export function parseAbuseIpdbErrors(json: unknown): AbuseIpdbError[] | null {
  if (!isObject(json) || !Array.isArray(json.errors)) return null;
  const errors: AbuseIpdbError[] = [];
  for (const e of json.errors) {
    if (!isObject(e)) continue;
    const err: AbuseIpdbError = { detail: nonEmpty(e.detail) ?? 'no detail' };
    const status = typeof e.status === 'string' ? Number(e.status) : e.status;
    if (typeof status === 'number' && Number.isInteger(status)) err.status = status;
    errors.push(err);
  }
  return errors;
}

/** Reads one success body (already JSON-parsed); the record has no `source` of its own. */
export function parseAbuseIpdbResponse(json: unknown): AbuseIpdbParseResult {
  if (!isObject(json)) return { ok: false, error: `expected a JSON object, got ${show(json)}` };
  const data = json.data;
  if (!isObject(data))
    return { ok: false, error: `expected an object, got ${show(data)}`, path: 'data' };

  const ipText = nonEmpty(data.ipAddress);
  if (ipText === undefined) return { ok: false, error: 'no IP address', path: 'data.ipAddress' };
  const ip = parseIp(ipText);
  if (!ip)
    return { ok: false, error: `not an IP address: ${show(ipText)}`, path: 'data.ipAddress' };

  const raw = data.abuseConfidenceScore;
  const score = typeof raw === 'number' ? abuseScoreLevel(raw) : null;
  if (score === null)
    return {
      ok: false,
      error: `${show(raw)} is not a score from 0 to 100`,
      path: 'data.abuseConfidenceScore',
    };

  const categories: string[] = [];
  if (data.isTor === true) categories.push('tor');
  const usage = nonEmpty(data.usageType)?.toLowerCase() ?? '';
  if (usage.includes(ABUSEIPDB_HOSTING_USAGE.toLowerCase())) categories.push('hosting');
  if (usage === 'mobile isp') categories.push('mobile');

  const record: ReputationRecord = { score, categories };
  const country = nonEmpty(data.countryCode);
  if (country !== undefined && /^[A-Za-z]{2}$/.test(country)) record.country = country;
  const org = nonEmpty(data.isp);
  if (org !== undefined) record.org = org;
  return { ok: true, ip: ip.text, record: normalizeRecord(record) };
}
