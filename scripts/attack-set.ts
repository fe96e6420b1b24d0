/**
 * A synthetic attack set shaped like the published case — a 20-hour GET flood on a login page
 * from 6,972 IPs — for `npm run demo:attack`. It is a demo, not data: every address, name and
 * AS number is made up, and the only figures taken from the case are the IP count and its
 * score mix (CASE_SCORE_MIX). Everything else below is a choice, written down here:
 *
 * - Categories. The case: 63% Dangerous or Critical, "most of the rest" VPNs, proxies, Tor exits
 *   or hosting. Each IP gets one primary category by its score band (CATEGORY_SHARES): of the
 *   Safe/Low/Moderate IPs 82% are anonymizers or hosting, of the Dangerous/Critical 75%; the
 *   rest have none (compromised home routers and the like). Some hosting and uncategorised IPs
 *   also expose RDP/SSH (`remote`, REMOTE_SHARES). Counts per score are exact (largest-remainder
 *   rounding of the shares), so they do not depend on the seed: see `categoryCounts`.
 * - Networks. Each IP belongs to an organisation ("Example Hosting 12", "Example VPN 3", …) of
 *   the kind its category implies, drawn with Zipf-like weights (a few providers carry most of a
 *   flood, as in the case's top-ISP table). Each organisation has an AS number from the private
 *   range 64512–65534 (so no real network is named), one home country drawn from a per-kind
 *   distribution (COUNTRY_WEIGHTS), and one to three /16 blocks of its own.
 * - Addresses. Random hosts (.1–.254) in those /16s, first octet 5–223, never in a bogon range
 *   (src/ip/bogons.ts: the table builder would skip them) nor in a documentation range (kept for
 *   the README and tests); every address is unique across attackers and residential users.
 * - Residential users (default 500): ordinary visitors, Safe (80%) or Low, no category but
 *   `mobile` for 12%, on broadband and mobile ISPs in an audience-shaped set of countries. They
 *   are not in the attack CSV, so the table does not know them and the default policy passes
 *   them (`unknown` → allow).
 *
 * Randomness: mulberry32, a 32-bit PRNG (Tommy Ettinger's, public domain), seeded with one
 * 32-bit integer. The same seed gives byte-identical CSVs on every machine; nothing else
 * (clock, Math.random, locale) enters.
 */

import { bogonOverlap } from '../src/ip/bogons';
import { type Network, parseNetwork } from '../src/ip/network';
import { formatIpv4 } from '../src/ip/parse';
import type { ScoreLevel } from '../src/reputation/record';
import { uniform } from './seeded-random';

/** The case's score mix: 6,972 IPs as Criminal IP scored them. */
export const CASE_SCORE_MIX: Readonly<Record<ScoreLevel, number>> = {
  safe: 1060,
  low: 621,
  moderate: 889,
  dangerous: 303,
  critical: 4099,
};

export type Primary = 'vpn' | 'proxy' | 'tor' | 'hosting' | 'none';
const PRIMARIES: readonly Primary[] = ['vpn', 'proxy', 'tor', 'hosting', 'none'];

/** Share of each primary category within a score band (each row sums to 1). */
export const CATEGORY_SHARES: Readonly<Record<'clean' | 'dirty', Record<Primary, number>>> = {
  clean: { vpn: 0.34, proxy: 0.16, tor: 0.08, hosting: 0.24, none: 0.18 },
  dirty: { vpn: 0.12, proxy: 0.1, tor: 0.08, hosting: 0.45, none: 0.25 },
};

/** Share of the IPs with a primary category that also get `remote` (RDP/SSH exposed). */
export const REMOTE_SHARES: Readonly<Record<'clean' | 'dirty', Partial<Record<Primary, number>>>> =
  {
    clean: { hosting: 0.1, none: 0.05 },
    dirty: { hosting: 0.3, none: 0.2 },
  };

/** Share of residential users scored Low (the rest are Safe) and on mobile networks. */
const RESIDENTIAL_LOW_SHARE = 0.2;
const RESIDENTIAL_MOBILE_SHARE = 0.12;

type OrgKind = 'hosting' | 'vpn' | 'proxy' | 'tor' | 'isp' | 'residential' | 'mobile';

/** Organisations per kind, and their names (numbered 1…n). */
const ORGS: Readonly<Record<OrgKind, { count: number; names: string[] }>> = {
  hosting: {
    count: 120,
    names: ['Example Hosting', 'Example Cloud', 'Example Servers', 'Example Datacenter'],
  },
  vpn: { count: 40, names: ['Example VPN'] },
  proxy: { count: 40, names: ['Example Proxy', 'Example Residential Proxy'] },
  tor: { count: 25, names: ['Example Relay Hosting'] },
  isp: { count: 200, names: ['Example Telecom', 'Example Broadband'] },
  residential: { count: 60, names: ['Example Broadband', 'Example Cable', 'Example Fiber'] },
  mobile: { count: 12, names: ['Example Mobile'] },
};

/** Home countries of organisations by kind (relative weights). */
export const COUNTRY_WEIGHTS: Readonly<Record<OrgKind, Record<string, number>>> = {
  hosting: {
    US: 24,
    NL: 12,
    DE: 12,
    SG: 7,
    FR: 7,
    GB: 6,
    RU: 6,
    HK: 5,
    CN: 5,
    JP: 4,
    CA: 4,
    VN: 4,
    UA: 4,
  },
  vpn: { US: 20, NL: 14, SE: 10, CH: 8, DE: 8, GB: 8, PA: 6, RO: 6, SG: 6, HK: 5, CA: 5, VG: 4 },
  proxy: { US: 18, RU: 14, CN: 12, BR: 10, IN: 8, ID: 8, VN: 8, DE: 6, UA: 6, TR: 5, TH: 5 },
  tor: { DE: 30, NL: 16, US: 14, FR: 10, CH: 6, SE: 6, RO: 6, GB: 4, AT: 4, FI: 4 },
  isp: {
    CN: 18,
    BR: 12,
    IN: 11,
    VN: 9,
    RU: 9,
    US: 8,
    ID: 7,
    KR: 5,
    UA: 5,
    TR: 5,
    EG: 4,
    MX: 4,
    AR: 3,
  },
  residential: { US: 30, KR: 15, DE: 8, GB: 8, JP: 8, FR: 6, CA: 6, BR: 5, IN: 5, AU: 5, NL: 4 },
  mobile: { US: 30, KR: 15, DE: 8, GB: 8, JP: 8, FR: 6, CA: 6, BR: 5, IN: 5, AU: 5, NL: 4 },
};

/** First of the private-use 16-bit AS numbers (RFC 6996: 64512–65534). */
const PRIVATE_ASN_FIRST = 64512;
/** Documentation ranges: not bogons to the table builder, but kept out of the demo. */
const DOC_NETWORKS = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'].map(net);

export interface AttackRow {
  ip: string;
  score: ScoreLevel;
  categories: string[];
  country: string;
  asn: number;
  org: string;
}

export interface AttackSet {
  seed: number;
  attackers: AttackRow[];
  residential: AttackRow[];
}

export interface AttackSetOptions {
  seed: number;
  /** Residential users beside the attackers. */
  residential: number;
}

/** The generator's stream: uniform floats in [0, 1) (./seeded-random.ts). */
export const mulberry32 = uniform;

function net(text: string): Network {
  const r = parseNetwork(text);
  if (!r.ok) throw new Error(`bad network ${text}`);
  return r.network;
}

/** Splits `total` by `shares` into whole numbers that sum to `total` (largest remainder). */
export function apportion<K extends string>(
  total: number,
  shares: Record<K, number>,
): Record<K, number> {
  const keys = Object.keys(shares) as K[];
  const sum = keys.reduce((s, k) => s + shares[k], 0);
  const raw = keys.map((k) => (total * shares[k]) / sum);
  const out = Object.fromEntries(keys.map((k, i) => [k, Math.floor(raw[i] as number)])) as Record<
    K,
    number
  >;
  let left = total - keys.reduce((s, k) => s + out[k], 0);
  const order = keys
    .map((k, i) => ({ k, frac: (raw[i] as number) - out[k] }))
    .sort((a, b) => b.frac - a.frac);
  for (const { k } of order) {
    if (left-- <= 0) break;
    out[k]++;
  }
  return out;
}

const band = (score: ScoreLevel): 'clean' | 'dirty' =>
  score === 'dangerous' || score === 'critical' ? 'dirty' : 'clean';

/** Exact IPs per score and primary category, and how many of each also get `remote`. */
export function categoryCounts(): Record<
  ScoreLevel,
  Record<Primary, { ips: number; remote: number }>
> {
  const out = {} as Record<ScoreLevel, Record<Primary, { ips: number; remote: number }>>;
  for (const [score, total] of Object.entries(CASE_SCORE_MIX) as [ScoreLevel, number][]) {
    const b = band(score);
    const counts = apportion(total, CATEGORY_SHARES[b]);
    out[score] = Object.fromEntries(
      PRIMARIES.map((p) => [
        p,
        { ips: counts[p], remote: Math.round(counts[p] * (REMOTE_SHARES[b][p] ?? 0)) },
      ]),
    ) as Record<Primary, { ips: number; remote: number }>;
  }
  return out;
}

class Generator {
  private readonly rng: () => number;
  private readonly usedBlocks = new Set<number>();
  private readonly usedIps = new Set<number>();
  private nextAsn = PRIVATE_ASN_FIRST;
  private readonly orgs = new Map<OrgKind, { org: Org[]; cumulative: number[] }>();

  constructor(seed: number) {
    this.rng = mulberry32(seed);
    for (const kind of Object.keys(ORGS) as OrgKind[]) this.orgs.set(kind, this.makeOrgs(kind));
  }

  int(n: number): number {
    return Math.floor(this.rng() * n);
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }

  private pickWeighted(cumulative: number[]): number {
    const x = this.rng() * (cumulative[cumulative.length - 1] as number);
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** A fresh /16 (its first address) that is public, not documentation, and not used yet. */
  private block(): number {
    for (;;) {
      const start = ((5 + this.int(219)) * 256 + this.int(256)) * 65536;
      if (this.usedBlocks.has(start)) continue;
      const n: Network = {
        family: 4,
        start: BigInt(start),
        end: BigInt(start + 65535),
        prefix: 16,
      };
      if (bogonOverlap(n)) continue;
      if (DOC_NETWORKS.some((d) => d.start <= n.end && d.end >= n.start)) continue;
      this.usedBlocks.add(start);
      return start;
    }
  }

  private makeOrgs(kind: OrgKind): { org: Org[]; cumulative: number[] } {
    const { count, names } = ORGS[kind];
    const countries = Object.entries(COUNTRY_WEIGHTS[kind]);
    const countryCum = cumulate(countries.map(([, w]) => w));
    const org: Org[] = [];
    for (let i = 0; i < count; i++) {
      const blocks = Array.from({ length: 1 + this.int(3) }, () => this.block());
      org.push({
        name: `${names[i % names.length]} ${Math.floor(i / names.length) + 1}`,
        asn: this.nextAsn++,
        country: (countries[this.pickWeighted(countryCum)] as [string, number])[0],
        blocks,
      });
    }
    // Zipf-like (s = 1.1): the first organisations of a kind carry most of its addresses.
    return { org, cumulative: cumulate(org.map((_, i) => 1 / (i + 1) ** 1.1)) };
  }

  /** A new unique address of an organisation of `kind`, with that organisation's facts. */
  host(kind: OrgKind): Omit<AttackRow, 'score' | 'categories'> {
    const pool = this.orgs.get(kind) as { org: Org[]; cumulative: number[] };
    const org = pool.org[this.pickWeighted(pool.cumulative)] as Org;
    for (;;) {
      const block = org.blocks[this.int(org.blocks.length)] as number;
      const ip = block + this.int(256) * 256 + 1 + this.int(254);
      if (this.usedIps.has(ip)) continue;
      this.usedIps.add(ip);
      return { ip: formatIpv4(ip), country: org.country, asn: org.asn, org: org.name };
    }
  }
}

interface Org {
  name: string;
  asn: number;
  country: string;
  /** First addresses of the organisation's /16 blocks. */
  blocks: number[];
}

function cumulate(weights: number[]): number[] {
  let sum = 0;
  return weights.map((w) => (sum += w));
}

const KIND_OF: Record<Primary, OrgKind> = {
  vpn: 'vpn',
  proxy: 'proxy',
  tor: 'tor',
  hosting: 'hosting',
  none: 'isp',
};

/** The attack set for a seed: always the same rows, in the same order, for the same seed. */
export function generateAttackSet(options: AttackSetOptions): AttackSet {
  const g = new Generator(options.seed);
  const attackers: AttackRow[] = [];
  for (const [score, byPrimary] of Object.entries(categoryCounts()) as [
    ScoreLevel,
    Record<Primary, { ips: number; remote: number }>,
  ][]) {
    for (const p of PRIMARIES) {
      const { ips, remote } = byPrimary[p];
      for (let i = 0; i < ips; i++) {
        const categories: string[] = p === 'none' ? [] : [p];
        if (i < remote) categories.push('remote');
        attackers.push({ ...g.host(KIND_OF[p]), score, categories });
      }
    }
  }
  g.shuffle(attackers);
  const lows = Math.round(options.residential * RESIDENTIAL_LOW_SHARE);
  const mobiles = Math.round(options.residential * RESIDENTIAL_MOBILE_SHARE);
  const residential: AttackRow[] = [];
  for (let i = 0; i < options.residential; i++) {
    const mobile = i >= options.residential - mobiles;
    residential.push({
      ...g.host(mobile ? 'mobile' : 'residential'),
      score: i < lows ? 'low' : 'safe',
      categories: mobile ? ['mobile'] : [],
    });
  }
  g.shuffle(residential);
  return { seed: options.seed, attackers, residential };
}

function csvCell(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows as an ipgate CSV (what `ipgate sync --file` loads), headed by `comment` lines. */
export function toIpgateCsv(rows: AttackRow[], comment: string[] = []): string {
  const lines = comment.map((c) => `# ${c}`);
  lines.push('network,score,categories,country,asn,org');
  for (const r of rows)
    lines.push(
      [r.ip, r.score, r.categories.join('|'), r.country, String(r.asn), csvCell(r.org)].join(','),
    );
  return `${lines.join('\n')}\n`;
}
