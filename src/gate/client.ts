/**
 * The client's facts as Cloudflare states them: the IP from `CF-Connecting-IP` only (set by
 * Cloudflare's edge, not forgeable by the client), ASN and country from `request.cf`.
 * `X-Forwarded-For`, `X-Real-IP`, `True-Client-IP` and `Forwarded` are never read: any client
 * can write them, so naming another address there changes nothing in either direction.
 *
 * The header holds exactly one address. The runtime trims surrounding spaces and tabs (they
 * never change the address); anything else — several addresses (a repeated header arrives
 * comma-joined), an empty value, a port, brackets, a spelling src/ip/parse.ts refuses — is not
 * something Cloudflare writes, so no part of it is trusted: it is `invalid_client_ip`, decided
 * by the policy's `invalidClientIp`.
 *
 * One exception keeps IPv6 clients keyed by their real address: with Cloudflare's Pseudo IPv4
 * set to "Overwrite Headers", `CF-Connecting-IP` carries a Class E stand-in (240.0.0.0/4,
 * never a routable source, so no client can arrive with one) and the real address is in
 * `CF-Connecting-IPv6`, which is then used.
 */
import { CF_CONNECTING_IPV6_HEADER, PSEUDO_IPV4_NETWORK } from '../constants';
import { parseNetwork } from '../ip/network';
import { type IpAddress, parseIp } from '../ip/parse';
import type { ClientFacts } from '../policy/decide';

const pseudo = parseNetwork(PSEUDO_IPV4_NETWORK);
const pseudoStart = pseudo.ok ? Number(pseudo.network.start) : 0;
const pseudoEnd = pseudo.ok ? Number(pseudo.network.end) : -1;

/**
 * `asn` and `country` are read from `request.cf` on first use, not here: the runtime builds
 * `request.cf` on access, about 50 µs of CPU per request in local workerd (bench:profile), and
 * most decisions never ask (a non-auth path, a list without ASNs or countries, a record that
 * carries both).
 */
export function clientFacts(request: Request): ClientFacts {
  return new RequestFacts(clientIp(request.headers), request);
}

/** ClientFacts with `asn` and `country` read from the request's `cf` on first use. */
class RequestFacts implements ClientFacts {
  readonly ip: IpAddress | null;
  readonly #request: Request;
  #cf: { asn?: number; country?: string } | undefined;
  constructor(ip: IpAddress | null, request: Request) {
    this.ip = ip;
    this.#request = request;
  }
  get asn(): number | undefined {
    return this.#fromCf().asn;
  }
  get country(): string | undefined {
    return this.#fromCf().country;
  }
  #fromCf() {
    this.#cf ??= cfFacts(this.#request.cf);
    return this.#cf;
  }
}

/** ASN and country from `request.cf`, when they are well-formed. */
function cfFacts(value: unknown): { asn?: number; country?: string } {
  const cf = value as { asn?: unknown; country?: unknown } | undefined;
  const facts: { asn?: number; country?: string } = {};
  if (typeof cf?.asn === 'number' && Number.isInteger(cf.asn) && cf.asn > 0) facts.asn = cf.asn;
  if (typeof cf?.country === 'string' && /^[A-Za-z][A-Za-z0-9]$/.test(cf.country))
    facts.country = cf.country.toUpperCase();
  return facts;
}

/** The client address Cloudflare states, or null when it states none that parses. */
export function clientIp(headers: Headers): IpAddress | null {
  const header = headers.get('CF-Connecting-IP');
  const ip = header === null ? null : parseIp(header);
  if (ip?.family !== 4 || ip.v4 < pseudoStart || ip.v4 > pseudoEnd) return ip;
  const v6Header = headers.get(CF_CONNECTING_IPV6_HEADER);
  const real = v6Header === null ? null : parseIp(v6Header);
  return real?.family === 6 ? real : ip;
}
