/**
 * Strict IP address parsing and the keys ipgate derives from an address.
 *
 * One address, one key, whatever the spelling: a client must not reach a different (clean)
 * reputation by writing its address another way, and an ambiguous spelling is refused rather
 * than guessed. What each spelling means:
 *
 * - IPv4 must be four-part decimal without leading zeros. Octal (`0300.0.2.1`), hex
 *   (`0xC0.0.2.1`), short (`192.0.513`) and integer (`3221226241`) forms are refused: parsers
 *   disagree on them (`010` is 8 to inet_aton, 10 to others), so no reading is safe. A refused
 *   address is `invalid_client_ip`, which the policy decides (`invalidClientIp`).
 * - IPv6 is parsed by hand, not by ipaddr.js (which reads `::1.2.3.4` as `::ffff:1.2.3.4` and
 *   accepts hex and octal in an embedded IPv4): 1–4 hex digits per group in any case (so
 *   compressed, full, upper-case and zero-padded spellings are one address), at most one `::`,
 *   an embedded IPv4 only as the last 32 bits and only in the strict decimal form above.
 * - A zone id (`fe80::1%eth0`, RFC 4007) only says which local interface an address is
 *   reached on; the address is the same. So whatever follows the first `%` is dropped and the
 *   text before it decides alone: no zone id, well-formed or not, changes the key. Only a
 *   comma or white space after it is refused, as it would be anywhere: that is a list
 *   (`a%x, b`), not one address.
 * - IPv6 forms that carry an IPv4 host fold to that IPv4 address, so a dirty IPv4 address
 *   cannot dodge its record by an IPv6 spelling: IPv4-mapped `::ffff:a.b.c.d` (also written
 *   `::ffff:xxxx:xxxx`), IPv4-translated `::ffff:0:a.b.c.d` (RFC 6145), IPv4-compatible
 *   `::a.b.c.d` (deprecated, RFC 4291; not when the IPv4 part is in 0.0.0.0/8, which keeps `::`
 *   and `::1` IPv6) and the NAT64 well-known prefix `64:ff9b::/96` (RFC 6052). Other prefixes
 *   that embed an IPv4 address (6to4 `2002::/16`, Teredo `2001::/32`, network-specific NAT64
 *   such as `64:ff9b:1::/48`) are real IPv6 hosts and stay IPv6.
 * - IPv6 is keyed by its /64: one subscriber usually holds a whole /64, so keying by /128
 *   would let a client rotate addresses for free. The key is the top 64 bits as two unsigned
 *   32-bit halves, the form the table and the lists search.
 *
 * Brackets (`[2001:db8::1]`), ports, surrounding space and lists of addresses are not address
 * spellings and are refused.
 */
import ipaddr from 'ipaddr.js';
import { IP_TEXT_MAX_CHARS } from '../constants';

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
 * (any zone id dropped, no brackets, no surrounding space). IPv6 forms that carry an IPv4 host
 * fold to IPv4 (see the module header).
 */
export function parseIp(text: string): IpAddress | null {
  const zone = text.indexOf('%');
  if (zone >= 0 && LIST_SEPARATOR.test(text)) return null;
  const addr = zone < 0 ? text : text.slice(0, zone);
  if (addr.length === 0 || addr.length > IP_TEXT_MAX_CHARS) return null;
  if (!addr.includes(':')) return parseIpv4(addr);
  const groups = parseIpv6Groups(addr);
  if (groups === null) return null;
  const v4 = embeddedIpv4(groups);
  if (v4 !== null) return { family: 4, v4, text: formatIpv4(v4) };
  return fromIpv6Parts(groups, new ipaddr.IPv6(groups).toRFC5952String());
}

/**
 * The eight 16-bit groups of an IPv6 address in RFC 4291 text form, or null: groups of 1–4
 * hex digits, at most one `::` standing for one or more zero groups, and optionally a strict
 * four-part decimal IPv4 address as the last 32 bits. No zone id.
 */
export function parseIpv6Groups(text: string): number[] | null {
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) return null;
  const head = gap < 0 ? text : text.slice(0, gap);
  const tail = gap < 0 ? '' : text.slice(gap + 2);
  const headGroups = groupsOf(head, gap < 0);
  const tailGroups = gap < 0 ? [] : groupsOf(tail, true);
  if (headGroups === null || tailGroups === null) return null;
  const count = headGroups.length + tailGroups.length;
  if (gap < 0 ? count !== 8 : count > 7) return null;
  const zeros: number[] = new Array(8 - count).fill(0);
  return [...headGroups, ...zeros, ...tailGroups];
}

/** Groups of one side of `::` (`last`: this side ends the address, so may end in IPv4). */
function groupsOf(side: string, last: boolean): number[] | null {
  if (side === '') return [];
  const parts = side.split(':');
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (last && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === null) return null;
      out.push(v4.v4 >>> 16, v4.v4 & 0xffff);
    } else {
      if (!HEX_GROUP.test(part)) return null;
      out.push(Number.parseInt(part, 16));
    }
  }
  return out;
}

const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;
const LIST_SEPARATOR = /[\s,]/;

/**
 * The IPv4 host an IPv6 address stands for, as an unsigned 32-bit value, or null: IPv4-mapped
 * (`::ffff:0:0/96`), IPv4-translated (`::ffff:0:0:0/96`), IPv4-compatible (`::/96` outside
 * 0.0.0.0/8) and NAT64 well-known (`64:ff9b::/96`). Groups as parseIpv6Groups returns them.
 */
export function embeddedIpv4(groups: readonly number[]): number | null {
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = groups;
  const v4 = ((g6 << 16) | g7) >>> 0;
  if (g2 !== 0 || g3 !== 0) return null;
  if (g0 === 0 && g1 === 0) {
    if (g4 === 0 && g5 === 0xffff) return v4; // mapped
    if (g4 === 0xffff && g5 === 0) return v4; // translated
    if (g4 === 0 && g5 === 0 && g6 >= 0x100) return v4; // compatible
    return null;
  }
  if (g0 === 0x64 && g1 === 0xff9b && g4 === 0 && g5 === 0) return v4; // NAT64
  return null;
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
