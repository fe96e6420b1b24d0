/**
 * Address space that is never a real client on the public internet: private, loopback,
 * link-local, shared (CGNAT), multicast, reserved, benchmarking, and for IPv6 everything
 * outside global unicast 2000::/3. A feed that lists such space is wrong, and writing it would
 * at best waste table space and at worst block a site's own infrastructure, so the table
 * builder reports and skips it.
 *
 * Documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are
 * deliberately not listed: they never occur as real clients either, and keeping them lets the
 * examples, the sample table and the tests use them.
 */
import { type Network, parseNetwork } from './network';

export const BOGON_NETWORKS = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/3',
  '4000::/2',
  '8000::/1',
] as const;

const bogons: { text: string; network: Network }[] = BOGON_NETWORKS.map((text) => {
  const r = parseNetwork(text);
  if (!r.ok) throw new Error(`bad bogon entry ${text}`);
  return { text, network: r.network };
});

/** The IPv4 ranges again as plain numbers: feeds check a million networks against them. */
const bogonsV4 = bogons
  .filter((b) => b.network.family === 4)
  .map((b) => ({ text: b.text, start: Number(b.network.start), end: Number(b.network.end) }));
const bogonsV6 = bogons.filter((b) => b.network.family === 6);

/** The bogon range a network overlaps (contains or lies in), or null. */
export function bogonOverlap(n: Network): string | null {
  if (n.family === 4) {
    const start = Number(n.start);
    const end = Number(n.end);
    for (const b of bogonsV4) if (start <= b.end && end >= b.start) return b.text;
    return null;
  }
  for (const b of bogonsV6) if (n.start <= b.network.end && n.end >= b.network.start) return b.text;
  return null;
}
