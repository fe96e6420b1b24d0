/**
 * The client's facts as Cloudflare states them: the IP from `CF-Connecting-IP` only (set by
 * Cloudflare's edge, not forgeable by the client), ASN and country from `request.cf`.
 * `X-Forwarded-For`, `X-Real-IP`, `True-Client-IP` and `Forwarded` are never read: any client
 * can write them.
 */
import { parseIp } from '../ip/parse';
import type { ClientFacts } from '../policy/decide';

export function clientFacts(request: Request): ClientFacts {
  const header = request.headers.get('CF-Connecting-IP');
  const facts: ClientFacts = { ip: header === null ? null : parseIp(header) };
  const cf = request.cf as { asn?: unknown; country?: unknown } | undefined;
  if (typeof cf?.asn === 'number' && Number.isInteger(cf.asn) && cf.asn > 0) facts.asn = cf.asn;
  if (typeof cf?.country === 'string' && /^[A-Za-z][A-Za-z0-9]$/.test(cf.country))
    facts.country = cf.country.toUpperCase();
  return facts;
}
