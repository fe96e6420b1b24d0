/**
 * Hostile client IPs, through the real Worker against the sample table (plus random entries
 * for the property tests): forged forwarding headers in both directions, odd CF-Connecting-IP
 * values, every IPv6 spelling of a listed address, the IPv6 forms that carry an IPv4 host,
 * and non-decimal IPv4. A spelling either reaches the listed address's own decision or is
 * `invalid_client_ip` (decided by the policy); it never reaches a different, clean address.
 * Every block also proves the origin never saw the request.
 */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { bogonOverlap } from '../../../src/ip/bogons';
import { parseNetwork } from '../../../src/ip/network';
import { clientKey, formatIpv4, parseIp } from '../../../src/ip/parse';
import type { DecisionEvent } from '../../../src/sink/event';
import {
  clearPolicy,
  expectBlocked,
  expectPassed,
  from,
  harness,
  originSaw,
  putPolicy,
  SAMPLE_CSV,
  seedTable,
  testId,
} from '../helpers';

/** 203.0.113.7 critical, 203.0.113.10 safe, 192.0.2.0/25 vpn, 2001:db8:1::/48 critical. */
const DIRTY = '203.0.113.7';
const CLEAN = '203.0.113.10';

const BLOCK_INVALID = {
  routeClasses: [{ name: 'auth', paths: ['/login'], invalidClientIp: 'block' }],
};

// ── Random table entries for the property tests ──────────────────────────────────────────

/** The /24s of the sample table's IPv4 entries, which random entries stay out of. */
const SAMPLE_V4_NETWORKS = ['203.0.113.0', '198.51.100.0', '192.0.2.0'];
const SCORES = ['safe', 'low', 'moderate', 'dangerous', 'critical', ''] as const;
const CATEGORIES = ['vpn', 'tor', 'proxy', 'hosting', 'mobile', 'scanner'] as const;

interface Entry {
  family: 4 | 6;
  /** The network as written in the CSV. */
  network: string;
  /** IPv4: the first address; IPv6: the eight groups of the first address. */
  v4: number;
  groups: number[];
  /** Host bits below the prefix a spelling may vary. */
  hostBits: number;
  blocked: boolean;
}

function isDirty(score: string, categories: readonly string[]): boolean {
  return (
    score === 'dangerous' ||
    score === 'critical' ||
    categories.some((c) => c === 'vpn' || c === 'tor' || c === 'proxy' || c === 'hosting')
  );
}

const recordArb = fc.record({
  score: fc.constantFrom(...SCORES),
  categories: fc.subarray([...CATEGORIES], { maxLength: 2 }),
});

/** Public IPv4 networks (/32 and /24) outside bogons and the sample table's ranges. */
const v4EntryArb = fc
  .record({ value: fc.integer({ min: 0x0100_0000, max: 0xdfff_ffff }), slash24: fc.boolean() })
  .map(({ value, slash24 }) => {
    const start = slash24 ? (value & 0xffff_ff00) >>> 0 : value;
    return { start, prefix: slash24 ? 24 : 32 };
  })
  .filter(({ start, prefix }) => {
    const r = parseNetwork(`${formatIpv4(start)}/${prefix}`);
    const slash24 = formatIpv4((start & 0xffff_ff00) >>> 0);
    return r.ok && bogonOverlap(r.network) === null && !SAMPLE_V4_NETWORKS.includes(slash24);
  });

/** Global unicast IPv6 networks (/48 and /64), outside 2001:db8::/32. */
const v6EntryArb = fc
  .record({
    g0: fc.integer({ min: 0x2000, max: 0x3fff }),
    rest: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
      minLength: 3,
      maxLength: 3,
    }),
    slash48: fc.boolean(),
  })
  .filter(({ g0, rest }) => !(g0 === 0x2001 && rest[0] === 0x0db8))
  .map(({ g0, rest, slash48 }) => {
    const groups = [g0, ...rest, 0, 0, 0, 0];
    if (slash48) groups[3] = 0;
    return { groups, prefix: slash48 ? 48 : 64 };
  });

function v6Text(groups: number[]): string {
  return new ipaddr.IPv6(groups).toRFC5952String();
}

/** A deterministic table: the same seed gives the same entries on every run. */
function randomEntries(): { entries: Entry[]; csv: string } {
  const v4 = fc.sample(fc.tuple(v4EntryArb, recordArb), { seed: 4242, numRuns: 40 });
  const v6 = fc.sample(fc.tuple(v6EntryArb, recordArb), { seed: 4343, numRuns: 20 });
  const entries: Entry[] = [];
  const rows: string[] = [];
  const seen = new Set<string>();
  for (const [n, r] of v4) {
    const network = `${formatIpv4(n.start)}/${n.prefix}`;
    // Overlapping entries would make the most specific one win; keep one per /24.
    const slot = formatIpv4((n.start & 0xffff_ff00) >>> 0);
    if (seen.has(slot)) continue;
    seen.add(slot);
    rows.push(`${network},${r.score},${r.categories.join('|')},NL,64510,Random ${rows.length}`);
    entries.push({
      family: 4,
      network,
      v4: n.start,
      groups: [],
      hostBits: 32 - n.prefix,
      blocked: isDirty(r.score, r.categories),
    });
  }
  for (const [n, r] of v6) {
    const network = `${v6Text(n.groups)}/${n.prefix}`;
    const slot = v6Text([...n.groups.slice(0, 3), 0, 0, 0, 0, 0]);
    if (seen.has(slot)) continue;
    seen.add(slot);
    rows.push(`${network},${r.score},${r.categories.join('|')},FR,64511,Random ${rows.length}`);
    entries.push({
      family: 6,
      network,
      v4: 0,
      groups: n.groups,
      hostBits: 128 - n.prefix,
      blocked: isDirty(r.score, r.categories),
    });
  }
  return { entries, csv: `${rows.join('\n')}\n` };
}

const RANDOM = randomEntries();

beforeAll(async () => {
  await seedTable(SAMPLE_CSV + RANDOM.csv);
  await clearPolicy();
});

// ── Spellings ─────────────────────────────────────────────────────────────────────────────

interface Style {
  upper: boolean;
  pad: boolean;
  /** Which run of zero groups `::` replaces (modulo the runs there are), or none. */
  compress: number | null;
  /** Write the last 32 bits as dotted decimal. */
  tail: boolean;
  zone: string | null;
}

/** Zone ids as a header may carry them: printable ASCII but a comma, possibly empty. */
const zoneArb = fc.option(fc.stringMatching(/^[\x21-\x2b\x2d-\x7e]{0,12}$/), { nil: null });

const styleArb: fc.Arbitrary<Style> = fc.record({
  upper: fc.boolean(),
  pad: fc.boolean(),
  compress: fc.option(fc.nat(7), { nil: null }),
  tail: fc.boolean(),
  zone: zoneArb,
});

/** Writes eight groups in one of the RFC 4291 text forms. */
function render(groups: readonly number[], s: Style): string {
  const limit = s.tail ? 6 : 8;
  const hex = (g: number) => {
    const t = s.pad ? g.toString(16).padStart(4, '0') : g.toString(16);
    return s.upper ? t.toUpperCase() : t;
  };
  const parts = groups.slice(0, limit).map(hex);
  if (s.tail) {
    const g6 = groups[6] ?? 0;
    const g7 = groups[7] ?? 0;
    parts.push(`${g6 >> 8}.${g6 & 255}.${g7 >> 8}.${g7 & 255}`);
  }
  const runs: [number, number][] = [];
  for (let i = 0; i < limit; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < limit && groups[j] === 0) j++;
    runs.push([i, j]);
    i = j;
  }
  let text = parts.join(':');
  const run = s.compress === null || runs.length === 0 ? null : runs[s.compress % runs.length];
  if (run) text = `${parts.slice(0, run[0]).join(':')}::${parts.slice(run[1]).join(':')}`;
  return s.zone === null ? text : `${text}%${s.zone}`;
}

const IPV4_CARRIERS = {
  mapped: (hi: number, lo: number) => [0, 0, 0, 0, 0, 0xffff, hi, lo],
  translated: (hi: number, lo: number) => [0, 0, 0, 0, 0xffff, 0, hi, lo],
  compatible: (hi: number, lo: number) => [0, 0, 0, 0, 0, 0, hi, lo],
  nat64: (hi: number, lo: number) => [0x64, 0xff9b, 0, 0, 0, 0, hi, lo],
} as const;
type Carrier = keyof typeof IPV4_CARRIERS;
const carrierArb = fc.constantFrom(...(Object.keys(IPV4_CARRIERS) as Carrier[]));

/** An IPv6 spelling of an IPv4 address (its first octet must not be 0 for `compatible`). */
function v4AsV6(v4: number, carrier: Carrier, style: Style): string {
  return render(IPV4_CARRIERS[carrier](v4 >>> 16, v4 & 0xffff), style);
}

/** The same address in forms that no strict parser reads as four-part decimal. */
function nonDecimalForms(v4: number): string[] {
  const o = [v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255];
  const [a = 0, b = 0, c = 0, d = 0] = o;
  return [
    o.map((x) => `0${x.toString(8)}`).join('.'),
    `0${a.toString(8)}.${b}.${c}.${d}`,
    o.map((x) => `0x${x.toString(16)}`).join('.'),
    `0x${a.toString(16).toUpperCase()}.${b}.${c}.${d}`,
    `0x${v4.toString(16)}`,
    `${a}.${b}.${c * 256 + d}`,
    `${a}.${b * 65536 + c * 256 + d}`,
    String(v4),
    `${a}.${b}.${c}.${d}.`,
    `${a}.${b}.${c}.0${d}`,
  ];
}

// ── Through the Worker ─────────────────────────────────────────────────────────────────────

/** One `GET /login` through a fresh Worker, with the decision it recorded. */
async function loginAs(
  headers: HeadersInit,
): Promise<{ res: Response; event: DecisionEvent | undefined }> {
  const h = harness();
  const res = await h.fetch('/login', { headers });
  expect(h.events).toHaveLength(1);
  return { res, event: h.events[0] };
}

const FORGERY_HEADERS: [string, (ip: string) => string][] = [
  ['X-Forwarded-For', (ip) => ip],
  ['X-Forwarded-For', (ip) => `${ip}, 198.51.100.200`],
  ['X-Real-IP', (ip) => ip],
  ['True-Client-IP', (ip) => ip],
  ['Forwarded', (ip) => `for=${ip};proto=https`],
  ['X-Client-IP', (ip) => ip],
  ['Client-IP', (ip) => ip],
  ['X-Cluster-Client-IP', (ip) => ip],
  ['Fastly-Client-IP', (ip) => ip],
  ['X-Original-Forwarded-For', (ip) => ip],
  ['CF-Pseudo-IPv4', (ip) => ip],
];

describe('forged forwarding headers never change the client IP', () => {
  it.each(FORGERY_HEADERS)(
    '%s naming a clean IP: the dirty one is still blocked',
    async (name, value) => {
      const { id, headers } = from(DIRTY, { [name]: value(CLEAN) });
      const { res, event } = await loginAs(headers);
      await expectBlocked(res, id);
      expect(event).toMatchObject({ ip: DIRTY, reason: 'reputation_rule', rule: 'dirty' });
    },
  );

  it.each(FORGERY_HEADERS)(
    '%s naming a dirty IP: the clean one still passes',
    async (name, value) => {
      const { id, headers } = from(CLEAN, { [name]: value(DIRTY) });
      const { res, event } = await loginAs(headers);
      await expectPassed(res, id);
      expect(event).toMatchObject({ ip: CLEAN, reason: 'clean', action: 'allow' });
    },
  );

  it('every forwarding header at once, naming a clean IPv6 and IPv4, changes nothing', async () => {
    const { id, headers } = from('2001:db8:1::7', {
      ...Object.fromEntries(FORGERY_HEADERS.map(([n, v]) => [n, v(CLEAN)])),
      Forwarded: `for="[2001:db8:5::1]:443", for=${CLEAN}`,
    });
    const { res, event } = await loginAs(headers);
    await expectBlocked(res, id);
    expect(event?.ip).toBe('2001:db8:1::/64');
  });

  it('without CF-Connecting-IP, a forwarding header naming a clean IP is not a fallback', async () => {
    await putPolicy(BLOCK_INVALID);
    try {
      const { id, headers } = from(null, {
        'X-Forwarded-For': CLEAN,
        'X-Real-IP': CLEAN,
        'True-Client-IP': CLEAN,
        Forwarded: `for=${CLEAN}`,
      });
      const { res, event } = await loginAs(headers);
      await expectBlocked(res, id);
      expect(event).toMatchObject({ ip: '', reason: 'invalid_client_ip', action: 'block' });
    } finally {
      await clearPolicy();
    }
  });

  it('CF-Connecting-IPv6 beside a real IPv4 address is ignored in both directions', async () => {
    const dirty = from(DIRTY, { 'CF-Connecting-IPv6': '2001:db8:5::1' });
    const blocked = await loginAs(dirty.headers);
    await expectBlocked(blocked.res, dirty.id);
    expect(blocked.event?.ip).toBe(DIRTY);

    const clean = from(CLEAN, { 'CF-Connecting-IPv6': '2001:db8:1::7' });
    const passed = await loginAs(clean.headers);
    await expectPassed(passed.res, clean.id);
    expect(passed.event?.ip).toBe(CLEAN);
  });
});

describe('Pseudo IPv4 (Class E stand-in in CF-Connecting-IP)', () => {
  it('uses the real IPv6 address from CF-Connecting-IPv6', async () => {
    const { id, headers } = from('240.16.0.1', { 'CF-Connecting-IPv6': '2001:db8:1::7' });
    const { res, event } = await loginAs(headers);
    await expectBlocked(res, id);
    expect(event).toMatchObject({ ip: '2001:db8:1::/64', rule: 'dirty' });
  });

  it('keeps the stand-in when CF-Connecting-IPv6 is missing or not IPv6', async () => {
    for (const v6 of [null, 'junk', DIRTY, '::ffff:203.0.113.7']) {
      const extra: Record<string, string> = v6 === null ? {} : { 'CF-Connecting-IPv6': v6 };
      const { id, headers } = from('255.255.255.254', extra);
      const { res, event } = await loginAs(headers);
      await expectPassed(res, id);
      expect(event).toMatchObject({ ip: '255.255.255.254', reason: 'unknown' });
    }
  });
});

describe('CF-Connecting-IP values Cloudflare never writes', () => {
  function duplicated(first: string, second: string): { id: string; headers: Headers } {
    const id = testId();
    const headers = new Headers({ 'x-test-id': id });
    headers.append('CF-Connecting-IP', first);
    headers.append('CF-Connecting-IP', second);
    return { id, headers };
  }

  it.each([
    ['comma-joined, dirty first', `${DIRTY}, ${CLEAN}`],
    ['comma-joined, clean first', `${CLEAN}, ${DIRTY}`],
    ['comma-joined, no space', `${CLEAN},${DIRTY}`],
    ['the same address twice', `${DIRTY}, ${DIRTY}`],
    ['inner space', '203.0.113. 7'],
    ['empty', ''],
    ['only a zone', '%eth0'],
    ['a list hidden behind a zone id, dirty first', `${DIRTY}%eth0, ${CLEAN}`],
    ['a list hidden behind a zone id, clean first', `::ffff:${CLEAN}%1 ${DIRTY}`],
    ['with a port', `${DIRTY}:443`],
    ['bracketed IPv6', '[2001:db8:1::7]'],
    ['bracketed IPv6 with a port', '[2001:db8:1::7]:443'],
    ['CIDR', `${DIRTY}/32`],
    ['a host name', 'localhost'],
  ])(
    '%s is invalid_client_ip: allowed by default, blocked when the policy says so',
    async (_label, value) => {
      const a = from(value);
      const allowed = await loginAs(a.headers);
      await expectPassed(allowed.res, a.id);
      expect(allowed.event).toMatchObject({ ip: '', reason: 'invalid_client_ip', action: 'allow' });

      await putPolicy(BLOCK_INVALID);
      try {
        const b = from(value);
        const blocked = await loginAs(b.headers);
        await expectBlocked(blocked.res, b.id);
        expect(blocked.event).toMatchObject({ ip: '', reason: 'invalid_client_ip' });
      } finally {
        await clearPolicy();
      }
    },
  );

  it.each([
    [DIRTY, CLEAN],
    [CLEAN, DIRTY],
    [DIRTY, DIRTY],
  ])('a repeated header (%s, then %s) arrives joined and is invalid_client_ip', async (a, b) => {
    const { id, headers } = duplicated(a, b);
    expect(headers.get('CF-Connecting-IP')).toBe(`${a}, ${b}`);
    const { res, event } = await loginAs(headers);
    await expectPassed(res, id);
    expect(event).toMatchObject({ ip: '', reason: 'invalid_client_ip' });
  });

  it.each([` ${DIRTY}`, `${DIRTY} `, `\t${DIRTY}\t`, ` \t ${DIRTY} \t`])(
    'padding (%j) is trimmed by the runtime and never hides a dirty address',
    async (value) => {
      const { id, headers } = from(value);
      const { res, event } = await loginAs(headers);
      await expectBlocked(res, id);
      expect(event?.ip).toBe(DIRTY);
    },
  );

  it.each([` ${CLEAN} `, `\t${CLEAN}`])(
    'padding (%j) around a clean address passes it',
    async (value) => {
      const { id, headers } = from(value);
      const { res, event } = await loginAs(headers);
      await expectPassed(res, id);
      expect(event).toMatchObject({ ip: CLEAN, reason: 'clean' });
    },
  );
});

describe('IPv6 spellings of a listed address', () => {
  it.each([
    '2001:db8:1::7',
    '2001:0db8:0001:0000:0000:0000:0000:0007',
    '2001:db8:1:0:0:0:0:7',
    '2001:DB8:1::7',
    '2001:0DB8:0001::0007',
    '2001:db8:01:0::7',
    '2001:db8:1::0:7',
    '2001:db8:1:0:ffff:ffff:ffff:ffff',
    '2001:db8:1::7%eth0',
    '2001:db8:1::7%25eth0',
    '2001:db8:1::7%1',
    '2001:db8:1::7%',
    '2001:db8:1::7%not-a-zone/at:all',
    '2001:db8:1::203.0.113.10',
  ])('%s is blocked, keyed as 2001:db8:1::/64', async (ip) => {
    const { id, headers } = from(ip);
    const { res, event } = await loginAs(headers);
    await expectBlocked(res, id);
    expect(event).toMatchObject({ ip: '2001:db8:1::/64', rule: 'dirty' });
  });

  it.each(['2001:db8:bad:7::1', '2001:DB8:BAD:7:0:0:0:1%wlan0', '2001:0db8:0bad:0007::0001'])(
    '%s (a proxy network) is blocked by category',
    async (ip) => {
      const { id, headers } = from(ip);
      const { res, event } = await loginAs(headers);
      await expectBlocked(res, id);
      expect(event).toMatchObject({ ip: '2001:db8:bad:7::/64', rule: 'anonymizer' });
    },
  );

  it.each([
    '2001:db8:1::7::1',
    '2001:db8:1:::7',
    '02001:db8:1::7',
    '2001:db8:1:0:0:0:0:0:7',
    '2001:db8:1:0:0:0:7',
    '2001:db8:1::7:',
    ':2001:db8:1::7',
    '2001:db8:1::g',
    ':::',
    '2001:db8:1::203.0.113.07',
    '2001:db8:1::0xcb.0.113.7',
    '2001:db8:1::203.0.113.7.1',
    '2001:db8:1::203.0.29447',
    '::ffff:203.0.113.7:1',
    '2001:db8:1:0:0:0:203.0.113.7:1',
  ])('%s is not an address: invalid_client_ip', async (ip) => {
    const { id, headers } = from(ip);
    const { res, event } = await loginAs(headers);
    await expectPassed(res, id);
    expect(event).toMatchObject({ ip: '', reason: 'invalid_client_ip' });
  });
});

describe('IPv6 forms that carry an IPv4 host take that IPv4 address’s decision', () => {
  const DIRTY_FORMS = [
    '::ffff:203.0.113.7',
    '::FFFF:203.0.113.7',
    '::ffff:cb00:7107',
    '::FFFF:CB00:7107',
    '0:0:0:0:0:ffff:203.0.113.7',
    '0000:0000:0000:0000:0000:ffff:cb00:7107',
    '::ffff:203.0.113.7%eth0',
    '::ffff:0:203.0.113.7',
    '::ffff:0:cb00:7107',
    '::203.0.113.7',
    '::cb00:7107',
    '0:0:0:0:0:0:203.0.113.7',
    '64:ff9b::203.0.113.7',
    '64:ff9b::cb00:7107',
    '0064:FF9B:0000:0000:0000:0000:CB00:7107',
    '64:ff9b::203.0.113.7%1',
  ];

  it.each(DIRTY_FORMS)('%s is blocked as 203.0.113.7', async (ip) => {
    const { id, headers } = from(ip);
    const { res, event } = await loginAs(headers);
    await expectBlocked(res, id);
    expect(event).toMatchObject({ ip: DIRTY, rule: 'dirty' });
  });

  it.each(DIRTY_FORMS.map((f) => f.replace('203.0.113.7', CLEAN).replace('7107', '710a')))(
    '%s passes as the clean 203.0.113.10',
    async (ip) => {
      const { id, headers } = from(ip);
      const { res, event } = await loginAs(headers);
      await expectPassed(res, id);
      expect(event).toMatchObject({ ip: CLEAN, reason: 'clean' });
    },
  );

  it.each(['::ffff:192.0.2.1', '::c000:201', '64:ff9b::192.0.2.1'])(
    '%s is blocked as the VPN address 192.0.2.1',
    async (ip) => {
      const { id, headers } = from(ip);
      const { res, event } = await loginAs(headers);
      await expectBlocked(res, id);
      expect(event).toMatchObject({ ip: '192.0.2.1', rule: 'anonymizer' });
    },
  );

  it.each([
    ['2002:cb00:7107::1', '2002:cb00:7107::/64'],
    ['64:ff9b:1::cb00:7107', '64:ff9b:1::/64'],
    ['2001:0:cb00:7107::1', '2001:0:cb00:7107::/64'],
    ['::1', '::/64'],
    ['::', '::/64'],
    ['::0.0.0.7', '::/64'],
  ])('%s is an IPv6 host of its own, keyed as %s', async (ip, key) => {
    const { id, headers } = from(ip);
    const { res, event } = await loginAs(headers);
    await expectPassed(res, id);
    expect(event).toMatchObject({ ip: key, reason: 'unknown' });
  });
});

describe('policy lists and clients meet on the same key, whatever the spelling', () => {
  it('an IPv4 deny entry catches the client in IPv6 spellings, and an IPv6-spelled entry catches IPv4', async () => {
    await putPolicy({
      routeClasses: [{ name: 'auth', paths: ['/login'] }],
      deny: { ips: ['203.0.113.9', '::ffff:203.0.113.11', '64:ff9b::198.51.100.0/120'] },
    });
    try {
      for (const [ip, entry] of [
        ['203.0.113.9', '203.0.113.9'],
        ['64:ff9b::203.0.113.9', '203.0.113.9'],
        ['::cb00:7109%eth0', '203.0.113.9'],
        ['203.0.113.11', '::ffff:203.0.113.11'],
        ['::ffff:0:203.0.113.11', '::ffff:203.0.113.11'],
        ['198.51.100.77', '64:ff9b::198.51.100.0/120'],
      ] as const) {
        const { id, headers } = from(ip);
        const { res, event } = await loginAs(headers);
        await expectBlocked(res, id);
        expect(event, ip).toMatchObject({ reason: 'deny_list', rule: `ip:${entry}` });
      }
    } finally {
      await clearPolicy();
    }
  });

  it('parseNetwork folds the IPv4-carrying forms only where a network lies inside one', () => {
    const fold = (t: string) => {
      const r = parseNetwork(t);
      return r.ok ? [r.network.family, String(r.network.start), r.network.prefix] : r.error;
    };
    expect(fold('::ffff:203.0.113.0/120')).toEqual([4, String(0xcb00_7100), 24]);
    expect(fold('64:ff9b::cb00:7100/120')).toEqual([4, String(0xcb00_7100), 24]);
    expect(fold('::203.0.113.7')).toEqual([4, String(0xcb00_7107), 32]);
    expect(fold('::ffff:0:203.0.113.7')).toEqual([4, String(0xcb00_7107), 32]);
    // Shorter prefixes are IPv6 networks (the bogon ::/3, NAT64 as a whole at /64).
    expect(fold('::/3')).toEqual([6, '0', 3]);
    expect(fold('64:ff9b::/64')?.[0]).toBe(6);
    expect(fold('2002:cb00:7107::/48')?.[0]).toBe(6);
    // The strict spellings apply to lists too.
    expect(typeof fold('::ffff:0xcb.0.113.7')).toBe('string');
    expect(typeof fold('2001:db8::1%eth0')).toBe('string');
    expect(typeof fold('0300.0.2.0/24')).toBe('string');
  });
});

describe('non-decimal IPv4 is refused, never read as another address', () => {
  // 192.0.2.1 is a VPN exit: 0300 is 192 in octal, but 300 (invalid) to a decimal reader.
  const VPN_FORMS = [
    '0300.0.2.1',
    '0xC0.0.2.1',
    '0xc0.0x0.0x2.0x1',
    '192.0.513',
    '192.513',
    '3221226241',
    '0xc0000201',
  ];

  it.each([...VPN_FORMS, ...nonDecimalForms(0xcb00_7107), ...nonDecimalForms(0xcb00_710a)])(
    '%s is invalid_client_ip: allowed by default, blocked when the policy says so',
    async (ip) => {
      const a = from(ip);
      const allowed = await loginAs(a.headers);
      await expectPassed(allowed.res, a.id);
      expect(allowed.event).toMatchObject({ ip: '', reason: 'invalid_client_ip' });

      await putPolicy(BLOCK_INVALID);
      try {
        const b = from(ip);
        const blocked = await loginAs(b.headers);
        await expectBlocked(blocked.res, b.id);
        expect(blocked.event).toMatchObject({ ip: '', reason: 'invalid_client_ip' });
      } finally {
        await clearPolicy();
      }
    },
  );

  it('a leading-zero form that a decimal reader takes for a clean address is refused', async () => {
    // 0203.0.113.010: decimal readers see 203.0.113.10 (clean), inet_aton 131.0.113.8.
    const { id, headers } = from('0203.0.113.010');
    const { res, event } = await loginAs(headers);
    await expectPassed(res, id);
    expect(event).toMatchObject({ ip: '', reason: 'invalid_client_ip' });
  });
});

// ── Properties ─────────────────────────────────────────────────────────────────────────────

describe('properties of parseIp', () => {
  it('every IPv6 spelling of an IPv4 address parses to that IPv4 address', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0x0100_0000, max: 0xffff_ffff }),
        carrierArb,
        styleArb,
        (v4, carrier, style) => {
          const ip = parseIp(v4AsV6(v4, carrier, style));
          expect(ip).toEqual({ family: 4, v4, text: formatIpv4(v4) });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('every spelling of an IPv6 address parses to the same address and /64', () => {
    const groupsArb = fc
      .array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
        minLength: 8,
        maxLength: 8,
      })
      .filter((g) => parseIp(v6Text(g))?.family === 6);
    fc.assert(
      fc.property(groupsArb, styleArb, (groups, style) => {
        const canonical = parseIp(v6Text(groups));
        expect(parseIp(render(groups, style))).toEqual(canonical);
      }),
      { numRuns: 2000 },
    );
  });

  it('a comma or white space after a zone id makes a list, never one of its addresses', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0x0100_0000, max: 0xffff_ffff }),
        carrierArb,
        styleArb,
        fc.constantFrom(',', ' ', '\t', ', '),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        (v4, carrier, style, sep, other) => {
          const first = v4AsV6(v4, carrier, { ...style, zone: style.zone ?? '' });
          expect(parseIp(`${first}${sep}${formatIpv4(other)}`)).toBeNull();
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('non-decimal IPv4 forms never parse', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (v4) => {
        for (const form of nonDecimalForms(v4)) {
          expect(parseIp(form)).toBeNull();
          if (form.includes('.')) expect(parseIp(`::ffff:${form}`)).toBeNull();
          expect(parseNetwork(form).ok).toBe(false);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws, and an address it returns reads back as itself', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.stringMatching(/^[0-9a-fA-FxX:.%]{0,50}$/),
      fc.string({ unit: 'binary', maxLength: 50 }),
    );
    fc.assert(
      fc.property(text, (t) => {
        const ip = parseIp(t);
        if (ip !== null) expect(parseIp(ip.text)).toEqual(ip);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('property: any spelling of an address in the table gets that address’s decision', () => {
  const spelled = fc
    .record({
      entry: fc.constantFrom(...RANDOM.entries),
      host: fc.bigInt({ min: 0n, max: (1n << 80n) - 1n }),
      carrier: fc.option(carrierArb, { nil: null }),
      style: styleArb,
      forged: fc.subarray(FORGERY_HEADERS.map(([n]) => n)),
      forgedAs: fc.constantFrom(...RANDOM.entries),
    })
    .map(({ entry, host, carrier, style, forged, forgedAs }) => {
      const inside = host & ((1n << BigInt(entry.hostBits)) - 1n);
      let spelling: string;
      let key: string;
      if (entry.family === 4) {
        const v4 = (entry.v4 + Number(inside)) >>> 0;
        spelling = carrier === null ? formatIpv4(v4) : v4AsV6(v4, carrier, style);
        key = formatIpv4(v4);
      } else {
        const groups = [...entry.groups];
        for (let i = 7, h = inside; i >= 0 && h > 0n; i--, h >>= 16n)
          groups[i] = (groups[i] ?? 0) | Number(h & 0xffffn);
        spelling = render(groups, style);
        const parsed = parseIp(v6Text(groups));
        key = parsed ? clientKey(parsed) : '?';
      }
      const other = forgedAs.family === 4 ? formatIpv4(forgedAs.v4) : v6Text(forgedAs.groups);
      const extra = Object.fromEntries(forged.map((n) => [n, other]));
      return { entry, spelling, key, extra };
    });

  it('blocked exactly when the entry is dirty or an anonymizer/hosting source', async () => {
    expect(RANDOM.entries.length).toBeGreaterThan(40);
    expect(RANDOM.entries.some((e) => e.blocked)).toBe(true);
    expect(RANDOM.entries.some((e) => !e.blocked)).toBe(true);
    const h = harness();
    await fc.assert(
      fc.asyncProperty(spelled, async ({ entry, spelling, key, extra }) => {
        const { id, headers } = from(spelling, extra);
        const before = h.events.length;
        const res = await h.fetch('/login', { headers });
        const event = h.events[before];
        expect(event?.ip, `${spelling} (${entry.network})`).toBe(key);
        if (entry.blocked) {
          expect(res.status).toBe(403);
          expect(event?.reason).toBe('reputation_rule');
        } else {
          expect(res.status).toBe(200);
          expect(event?.reason).toBe('clean');
        }
        expect(await originSaw(id)).toHaveLength(entry.blocked ? 0 : 1);
      }),
      { numRuns: 80 },
    );
  });
});
