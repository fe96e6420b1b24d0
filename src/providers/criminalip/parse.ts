/**
 * Criminal IP API response bodies → one reputation record. Pure (no I/O, no clock), so the feed
 * adapter for saved responses (`cli/feeds/criminalip.ts`) and the live API provider share it.
 *
 * Two endpoints answer about one IP with nearly the same body:
 *
 *   GET /v1/asset/ip/report                     GET /v2/feature/ip/suspicious-info
 *   { "status": 200, "ip": "203.0.113.7",       (same)
 *     "score": { "inbound": "Dangerous", "outbound": "Critical" },           (same)
 *     "issues": { "is_vpn": false, "is_tor": true, "is_cloud": false, … },   (same)
 *     "whois": { "count": 1, "data": [ { "as_no": 64500, "as_name": "EXAMPLE-AS",
 *                "org_name": "Example Ltd", "org_country_code": "nl", … } ] },   (same)
 *     "port": { "count": 2, "data": [             "current_opened_port": { "count": 2, "data": [
 *        { "open_port_no": 3389, "socket": "tcp",     { "port": 22, "socket_type": "tcp",
 *          "app_name": "…", "confirmed_time": "…" } ] }   "product_name": "…", … } ] }
 *     … }
 *
 * Older bodies (`/v1/ip/data`) keep the flags under `tags` instead of `issues` and give the
 * score as a number 1–5; the level names come in any case. A flag that is missing is false. Port
 * lists mix current and historical scans: any listing of 22 (SSH) or 3389 (RDP) means remote
 * administration is, or lately was, exposed. An error is a body whose `status` is not 200, with
 * the reason in `message` ("invalid api key", "limit exceeded").
 */

import { REMOTE_ACCESS_PORTS } from '../../constants';
import { parseIp } from '../../ip/parse';
import {
  normalizeRecord,
  parseScore,
  type ReputationRecord,
  type Score,
} from '../../reputation/record';
import { isObject, type JsonObject, nonEmpty, show } from '../../util/json';

export type CriminalIpParseResult =
  | { ok: true; ip: string; record: ReputationRecord }
  /** `path` names the offending field (`ip`, `score.inbound`) when there is one. */
  | { ok: false; error: string; path?: string };

const FLAG_CATEGORIES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['is_vpn', ['vpn']],
  ['is_anonymous_vpn', ['anonymous_vpn', 'vpn']],
  ['is_tor', ['tor']],
  ['is_proxy', ['proxy']],
  ['is_hosting', ['hosting']],
  ['is_cloud', ['hosting']],
  ['is_mobile', ['mobile']],
  ['is_scanner', ['scanner']],
  ['is_darkweb', ['darkweb']],
  ['is_snort', ['snort']],
];

/** SSH and RDP: an exposed one puts `remote` on the record. */

type Body = JsonObject;

function asNumber(value: unknown): number | undefined {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^(AS)?\d{1,10}$/i.test(value.trim())
        ? Number(value.trim().replace(/^AS/i, ''))
        : Number.NaN;
  return Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff ? n : undefined;
}

function openPorts(body: Body): number[] {
  const ports: number[] = [];
  for (const key of ['port', 'current_opened_port']) {
    const block = body[key];
    if (!isObject(block) || !Array.isArray(block.data)) continue;
    for (const row of block.data) {
      if (!isObject(row)) continue;
      const n = asNumber(row.open_port_no ?? row.port);
      if (n !== undefined) ports.push(n);
    }
  }
  return ports;
}

function inboundScore(body: Body): Score | { error: string; path: string } {
  if (body.score === undefined || body.score === null) return 'unknown';
  if (!isObject(body.score))
    return { error: `expected an object, got ${show(body.score)}`, path: 'score' };
  const inbound = body.score.inbound;
  if (inbound === undefined || inbound === null) return 'unknown';
  const s = parseScore(inbound);
  if (s !== null) return s;
  return {
    error: `${show(inbound)} is not Safe, Low, Moderate, Dangerous, Critical or 1–5`,
    path: 'score.inbound',
  };
}

/** Reads one response body (already JSON-parsed); the record has no `source` of its own. */
export function parseCriminalIpResponse(json: unknown): CriminalIpParseResult {
  if (!isObject(json)) return { ok: false, error: `expected a JSON object, got ${show(json)}` };
  if (json.status !== undefined && json.status !== 200 && json.status !== '200')
    return { ok: false, error: nonEmpty(json.message) ?? `status ${show(json.status)}` };

  const ipText = nonEmpty(json.ip);
  if (ipText === undefined) return { ok: false, error: 'no IP address', path: 'ip' };
  const ip = parseIp(ipText);
  if (!ip) return { ok: false, error: `not an IP address: ${show(json.ip)}`, path: 'ip' };

  const score = inboundScore(json);
  if (typeof score !== 'string') return { ok: false, ...score };

  const flags = isObject(json.issues) ? json.issues : isObject(json.tags) ? json.tags : {};
  const categories: string[] = [];
  for (const [flag, cats] of FLAG_CATEGORIES) if (flags[flag] === true) categories.push(...cats);
  if (openPorts(json).some((p) => REMOTE_ACCESS_PORTS.has(p))) categories.push('remote');

  const record: ReputationRecord = { score, categories };
  const whois = isObject(json.whois) && Array.isArray(json.whois.data) ? json.whois.data[0] : null;
  if (isObject(whois)) {
    const asn = asNumber(whois.as_no);
    if (asn !== undefined) record.asn = asn;
    const org = nonEmpty(whois.as_name) ?? nonEmpty(whois.org_name);
    if (org !== undefined) record.org = org;
    const country = nonEmpty(whois.org_country_code);
    if (country !== undefined && /^[A-Za-z]{2}$/.test(country)) record.country = country;
  }
  return { ok: true, ip: ip.text, record: normalizeRecord(record) };
}
