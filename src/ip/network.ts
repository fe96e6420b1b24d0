/**
 * Networks (an address or a CIDR) as inclusive ranges of keys: IPv4 as 32-bit values, IPv6 as
 * 64-bit /64 keys. Prefixes longer than /64 widen to their /64, matching how clients are keyed.
 * Ranges use bigint: they are built once (CLI, policy compile), never per request.
 */
import ipaddr from 'ipaddr.js';
import { formatIpv4, formatIpv6Key, parseIp, parseIpv4 } from './parse';

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
  const ip = parseIp(addrText);
  if (!ip) return { ok: false, error: `not an IP address: ${JSON.stringify(addrText)}` };
  const mappedV4 = ip.family === 4 && addrText.includes(':');
  const max = ip.family === 4 ? 32 : 128;
  let len = max;
  if (lenText !== null) {
    if (!/^\d{1,3}$/.test(lenText)) return { ok: false, error: `bad prefix length "${lenText}"` };
    len = Number(lenText);
    if (mappedV4) len -= 96;
    if (len < 0 || len > max)
      return { ok: false, error: `prefix length out of range: /${lenText}` };
  }
  if (ip.family === 4) {
    const bits = 32 - len;
    const start = BigInt(ip.v4);
    const hostMask = (1n << BigInt(bits)) - 1n;
    if ((start & hostMask) !== 0n)
      return { ok: false, error: `host bits set in ${t} (did you mean a network address?)` };
    return { ok: true, network: { family: 4, start, end: start | hostMask, prefix: len } };
  }
  const full = ipaddr.IPv6.parse(addrText).toByteArray();
  let value = 0n;
  for (const b of full) value = (value << 8n) | BigInt(b);
  const hostBits = BigInt(128 - len);
  if ((value & ((1n << hostBits) - 1n)) !== 0n)
    return { ok: false, error: `host bits set in ${t} (did you mean a network address?)` };
  const key = value >> 64n;
  const keyHostBits = BigInt(Math.max(0, 64 - len));
  const keyMask = (1n << keyHostBits) - 1n;
  return {
    ok: true,
    network: { family: 6, start: key & ~keyMask & MASK64, end: key | keyMask, prefix: len },
  };
}

/** True for four-part decimal IPv4 text (used to tell IPs from other list entries). */
export function looksLikeIp(text: string): boolean {
  return parseIpv4(text) !== null || text.includes(':');
}

/** CIDR text of a network (IPv6 prefixes beyond /64 show as the /64 they key to). */
export function formatNetwork(n: Network): string {
  if (n.family === 4) return `${formatIpv4(Number(n.start))}/${n.prefix}`;
  const key = formatIpv6Key(Number(n.start >> 32n), Number(n.start & 0xffff_ffffn));
  return `${key.slice(0, key.lastIndexOf('/'))}/${Math.min(n.prefix, 64)}`;
}
