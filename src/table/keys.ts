/**
 * Table keys and their text forms, shared by the builder, the codec and the manifest.
 *
 * A key is what the table is searched by: the IPv4 address as an unsigned 32-bit value, or the
 * IPv6 /64 as an unsigned 64-bit value. At build time keys are bigint; at lookup time they are
 * unsigned 32-bit numbers (IPv4 `v`, IPv6 `hi`/`lo`). In JSON (chunk trailer, manifest) an IPv4
 * key is the decimal of its value and an IPv6 key is exactly 16 lower-case hex digits, so IPv6
 * keys of one family also sort correctly as strings.
 */
import type { Family } from '../ip/network';

/** Largest IPv4 key. */
export const V4_MAX_KEY = 0xffff_ffffn;
/** Largest IPv6 key (the last /64). */
export const V6_MAX_KEY = 0xffff_ffff_ffff_ffffn;

const V4_TEXT = /^(0|[1-9]\d{0,9})$/;
const V6_TEXT = /^[0-9a-f]{16}$/;
const GENERATION = /^[A-Za-z0-9._-]{1,64}$/;

/** A generation names one complete table in KV (the manifest's `generation`). */
export function isValidGeneration(text: unknown): text is string {
  return typeof text === 'string' && GENERATION.test(text);
}

export function maxKey(family: Family): bigint {
  return family === 4 ? V4_MAX_KEY : V6_MAX_KEY;
}

/** Text of a key as written in the trailer and the manifest. */
export function formatKey(family: Family, key: bigint): string {
  return family === 4 ? key.toString(10) : key.toString(16).padStart(16, '0');
}

/** Strict inverse of `formatKey`: null for anything `formatKey` would not have written. */
export function parseKey(family: Family, text: unknown): bigint | null {
  if (typeof text !== 'string') return null;
  if (family === 4) {
    if (!V4_TEXT.test(text)) return null;
    const key = BigInt(text);
    return key <= V4_MAX_KEY ? key : null;
  }
  return V6_TEXT.test(text) ? BigInt(`0x${text}`) : null;
}

/** Upper 32 bits of a 64-bit key, as an unsigned number. */
export function keyHi(key: bigint): number {
  return Number((key >> 32n) & 0xffff_ffffn);
}

/** Lower 32 bits of a key, as an unsigned number. */
export function keyLo(key: bigint): number {
  return Number(key & 0xffff_ffffn);
}

/** A 64-bit key from its two unsigned 32-bit halves. */
export function joinKey(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
