/**
 * Networks (an address or a CIDR) as inclusive ranges of keys: IPv4 as 32-bit values, IPv6 as
 * 64-bit /64 keys. Prefixes longer than /64 widen to their /64, matching how clients are keyed.
 * Ranges use bigint: they are built once (CLI, policy compile), never per request. Addresses
 * are spelled as src/ip/parse.ts reads them, and a network inside one of the IPv6 forms that
 * carry an IPv4 host (`::ffff:0:0/96` and the others listed there) is that IPv4 network, so a
 * list entry and a client always meet on the same key.
 */
import { embeddedIpv4, formatIpv4, formatIpv6Key, parseIpv4, parseIpv6Groups } from './parse';

export type Family = 4 | 6;

export interface Network {
  family: Family;
  /** First key in the range (IPv4: 32-bit address; IPv6: top 64 bits). */
  start: bigint;
  /** Last key in the range, inclusive. */
  end: bigint;
  /** Prefix length as written (IPv6 above 64 still keys as /64). */
  prefix: number;
}

export type NetworkResult = { ok: true; network: Network } | { ok: false; error: string };

const MASK64 = (1n << 64n) - 1n;

/** Parses `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or `x::/n`; host bits must be zero. */
export function parseNetwork(text: string): NetworkResult {
  const t = text.trim();
  const slash = t.indexOf('/');
  const addrText = slash < 0 ? t : t.slice(0, slash);
  const lenText = slash < 0 ? null : t.slice(slash + 1);
  if (lenText !== null && !/^\d{1,3}$/.test(lenText))
    return { ok: false, error: `bad prefix length "${lenText}"` };
  const v4 = parseIpv4(addrText);
  if (v4) return ipv4Network(t, v4.v4, lenText === null ? 32 : Number(lenText), lenText);
  const parts = addrText.includes(':') ? parseIpv6Groups(addrText) : null;
  if (!parts) return { ok: false, error: `not an IP address: ${JSON.stringify(addrText)}` };
  const len = lenText === null ? 128 : Number(lenText);
  const [p0 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0] = parts;
  if (p0 === 0 && p1 === 0 && p2 === 0 && p3 === 0 && p4 === 0 && p5 === 0xffff) {
    // IPv4-mapped: fold to IPv4, as clients are.
    return ipv4Network(t, embeddedIpv4(parts) ?? 0, len - 96, lenText);
  }
  // The other forms that carry an IPv4 host fold too, when the network lies within one.
  const host = len >= 96 && len <= 128 ? embeddedIpv4(parts) : null;
  if (host !== null) return ipv4Network(t, host, len - 96, lenText);
  if (len > 128) return { ok: false, error: `prefix length out of range: /${lenText}` };
  let value = 0n;
  for (const part of parts) value = (value << 16n) | BigInt(part);
  const hostBits = BigInt(128 - len);
  if ((value & ((1n << hostBits) - 1n)) !== 0n)
    return { ok: false, error: `host bits set in ${t} (did you mean a network address?)` };
  const key = value >> 64n;
  const keyMask = (1n << BigInt(Math.max(0, 64 - len))) - 1n;
  return {
    ok: true,
    network: { family: 6, start: key & ~keyMask & MASK64, end: key | keyMask, prefix: len },
  };
}

function ipv4Network(t: string, v: number, len: number, lenText: string | null): NetworkResult {
  if (len < 0 || len > 32) return { ok: false, error: `prefix length out of range: /${lenText}` };
  const size = 2 ** (32 - len);
  if (v % size !== 0)
    return { ok: false, error: `host bits set in ${t} (did you mean a network address?)` };
  return {
    ok: true,
    network: { family: 4, start: BigInt(v), end: BigInt(v + size - 1), prefix: len },
  };
}

/** CIDR text of a network (IPv6 prefixes beyond /64 show as the /64 they key to). */
export function formatNetwork(n: Network): string {
  if (n.family === 4) return `${formatIpv4(Number(n.start))}/${n.prefix}`;
  const key = formatIpv6Key(Number(n.start >> 32n), Number(n.start & 0xffff_ffffn));
  return `${key.slice(0, key.lastIndexOf('/'))}/${Math.min(n.prefix, 64)}`;
}
