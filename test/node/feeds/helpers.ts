/**
 * Fixture reading and expected networks for the feed tests. Networks are computed here by plain
 * arithmetic, not by `parseNetwork`, so a test states the range it expects independently.
 */
import { readFileSync } from 'node:fs';
import type { Network } from '../../../src/ip/network';

export function fixture(path: string): string {
  return readFileSync(`test/fixtures/feeds/${path}`, 'utf8');
}

/** IPv4 `a.b.c.d/prefix` as the inclusive 32-bit range. */
export function v4(address: string, prefix = 32): Network {
  const [a = 0, b = 0, c = 0, d = 0] = address.split('.').map(Number);
  const start = BigInt(((a * 256 + b) * 256 + c) * 256 + d);
  return { family: 4, start, end: start + 2n ** BigInt(32 - prefix) - 1n, prefix };
}

/** IPv6 by its top 64 bits (`key`, e.g. 0x20010db8_00000000n) and prefix length. */
export function v6(key: bigint, prefix: number): Network {
  return { family: 6, start: key, end: key + 2n ** BigInt(64 - Math.min(prefix, 64)) - 1n, prefix };
}
