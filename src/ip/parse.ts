/**
 * Strict IP address parsing and the keys ipgate derives from an address.
 *
 * IPv4 must be four-part decimal (ipaddr.js alone accepts `0x7f.1` and friends, which no
 * Cloudflare header ever carries). IPv4-mapped IPv6 folds to IPv4, so one client has one key.
 * IPv6 is keyed by its /64: one subscriber usually holds a whole /64, so keying by /128 would
 * let a client rotate addresses for free. The key is the top 64 bits as two unsigned 32-bit
 * halves, the form the table and the lists search.
 */
import ipaddr from 'ipaddr.js';

export interface Ipv4Address {
  family: 4;
  /** The address as an unsigned 32-bit integer. */
  v4: number;
  /** Canonical text, e.g. `203.0.113.7`. */
  text: string;
}

export interface Ipv6Address {
  family: 6;
  /** Bits 0–31 of the address (most significant first). */
  hi: number;
  /** Bits 32–63 of the address: with `hi`, the /64 key. */
  lo: number;
  /** Canonical (RFC 5952) text of the full address. */
  text: string;
  /** The /64 the address belongs to, e.g. `2001:db8:bad::/64`. */
  prefix64: string;
}

export type IpAddress = Ipv4Address | Ipv6Address;

/**
 * Parses four-part decimal IPv4 without leading zeros; anything else is null. A hand-written
 * scan rather than a regular expression: feeds parse millions of these.
 */
export function parseIpv4(text: string): Ipv4Address | null {
  const n = text.length;
  if (n < 7 || n > 15) return null;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 255) return null;
      value = value * 256 + part;
      dots += 1;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return null; // leading zero
      part = part * 10 + (c - 48);
      digits += 1;
      if (digits > 3) return null;
    } else {
      return null;
    }
  }
  return dots === 4 ? { family: 4, v4: value >>> 0, text } : null;
}

/** Text of an unsigned 32-bit IPv4 value. */
export function formatIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/**
 * Parses one address as it may appear in `CF-Connecting-IP`: four-part decimal IPv4 or IPv6
 * (no zone id, no brackets, no surrounding space). IPv4-mapped IPv6 folds to IPv4.
 */
export function parseIp(text: string): IpAddress | null {
  if (text.length === 0 || text.length > 45) return null;
  if (!text.includes(':')) return parseIpv4(text);
  if (text.includes('%') || !ipaddr.IPv6.isValid(text)) return null;
  let addr: ipaddr.IPv6;
  try {
    addr = ipaddr.IPv6.parse(text);
  } catch {
    return null;
  }
  if (addr.isIPv4MappedAddress()) {
    const v4 = addr.toIPv4Address().toString();
    return parseIpv4(v4);
  }
  return fromIpv6Parts(addr.parts, addr.toRFC5952String());
}

function fromIpv6Parts(parts: number[], text: string): Ipv6Address {
  const p = (i: number) => parts[i] ?? 0;
  const hi = ((p(0) << 16) | p(1)) >>> 0;
  const lo = ((p(2) << 16) | p(3)) >>> 0;
  return { family: 6, hi, lo, text, prefix64: formatIpv6Key(hi, lo) };
}

/** Text of a /64 key, e.g. `2001:db8:bad::/64`. */
export function formatIpv6Key(hi: number, lo: number): string {
  const parts = [hi >>> 16, hi & 0xffff, lo >>> 16, lo & 0xffff, 0, 0, 0, 0];
  return `${new ipaddr.IPv6(parts).toRFC5952String()}/64`;
}

/** The key ipgate stores and reports for a client: the IPv4 address or the IPv6 /64. */
export function clientKey(ip: IpAddress): string {
  return ip.family === 4 ? ip.text : ip.prefix64;
}
