/**
 * The demo's attack set (scripts/attack-set.ts): its shape, not decisions. Exact score mix,
 * categories as documented, no bogon or documentation address, unique addresses, residential
 * users apart from the attackers, and the same bytes for the same seed. The CSV must load
 * through the same feed parser and bogon filter `ipgate sync` uses, with nothing skipped.
 */
import { describe, expect, it } from 'vitest';
import { buildEntries } from '../../cli/build';
import { readReplayClients } from '../../cli/replay/targets';
import {
  apportion,
  CASE_SCORE_MIX,
  categoryCounts,
  generateAttackSet,
  mulberry32,
  toIpgateCsv,
} from '../../scripts/attack-set';
import { bogonOverlap } from '../../src/ip/bogons';
import { parseNetwork } from '../../src/ip/network';

const SEED = 7;
const set = generateAttackSet({ seed: SEED, residential: 500 });

const count = <T>(rows: T[], key: (r: T) => string) =>
  rows.reduce<Record<string, number>>((m, r) => {
    m[key(r)] = (m[key(r)] ?? 0) + 1;
    return m;
  }, {});

describe('the demo attack set', () => {
  it('has the case’s 6,972 IPs with its exact score mix', () => {
    expect(set.attackers).toHaveLength(6972);
    expect(count(set.attackers, (r) => r.score)).toEqual({
      safe: 1060,
      low: 621,
      moderate: 889,
      dangerous: 303,
      critical: 4099,
    });
    expect(CASE_SCORE_MIX).toEqual({
      safe: 1060,
      low: 621,
      moderate: 889,
      dangerous: 303,
      critical: 4099,
    });
    const dirty = set.attackers.filter((r) => r.score === 'dangerous' || r.score === 'critical');
    expect(Math.round((dirty.length / 6972) * 100)).toBe(63);
  });

  it('makes most of the non-dirty IPs anonymizers or hosting, with the documented counts', () => {
    const clean = set.attackers.filter((r) => r.score !== 'dangerous' && r.score !== 'critical');
    const flagged = clean.filter((r) =>
      r.categories.some((c) => ['vpn', 'tor', 'proxy', 'hosting'].includes(c)),
    );
    expect(flagged.length / clean.length).toBeGreaterThan(0.75);
    const counts = categoryCounts();
    for (const [score, byPrimary] of Object.entries(counts)) {
      const rows = set.attackers.filter((r) => r.score === score);
      for (const [primary, { ips, remote }] of Object.entries(byPrimary)) {
        const mine = rows.filter((r) =>
          primary === 'none'
            ? !r.categories.some((c) => c !== 'remote')
            : r.categories.includes(primary),
        );
        expect(mine, `${score}/${primary}`).toHaveLength(ips);
        expect(mine.filter((r) => r.categories.includes('remote'))).toHaveLength(remote);
      }
    }
    expect(
      Object.keys(count(set.attackers, (r) => r.categories.join('|') || 'none')).sort(),
    ).toEqual(['hosting', 'hosting|remote', 'none', 'proxy', 'remote', 'tor', 'vpn']);
  });

  it('spreads IPs over organisations, AS numbers and countries, a few carrying most', () => {
    const orgs = count(set.attackers, (r) => r.org);
    expect(Object.keys(orgs).length).toBeGreaterThan(100);
    const top = Object.values(orgs).sort((a, b) => b - a);
    expect(top[0]).toBeGreaterThan(100);
    expect(Object.keys(count(set.attackers, (r) => r.country)).length).toBeGreaterThan(15);
    for (const r of [...set.attackers, ...set.residential]) {
      expect(r.org).toMatch(/^Example [A-Za-z ]+ \d+$/);
      expect(r.asn).toBeGreaterThanOrEqual(64512);
      expect(r.asn).toBeLessThanOrEqual(65534);
      expect(r.country).toMatch(/^[A-Z]{2}$/);
    }
  });

  it('uses unique public IPv4 addresses: no bogon, no documentation range', () => {
    const all = [...set.attackers, ...set.residential];
    expect(new Set(all.map((r) => r.ip)).size).toBe(all.length);
    for (const r of all) {
      const n = parseNetwork(r.ip);
      expect(n.ok).toBe(true);
      if (!n.ok) continue;
      expect(bogonOverlap(n.network), r.ip).toBeNull();
      expect(r.ip).not.toMatch(/^(192\.0\.2|198\.51\.100|203\.0\.113)\./);
      const first = Number(r.ip.split('.')[0]);
      expect(first).toBeGreaterThanOrEqual(5);
      expect(first).toBeLessThanOrEqual(223);
      expect(r.ip).not.toMatch(/\.(0|255)$/);
    }
  });

  it('adds ordinary residential users, safe or low and no anonymizer, not in the attack set', () => {
    expect(set.residential).toHaveLength(500);
    expect(count(set.residential, (r) => r.score)).toEqual({ safe: 400, low: 100 });
    expect(set.residential.every((r) => r.categories.every((c) => c === 'mobile'))).toBe(true);
    const attackers = new Set(set.attackers.map((r) => r.ip));
    expect(set.residential.some((r) => attackers.has(r.ip))).toBe(false);
  });

  it('is the same for the same seed and different for another', () => {
    const again = generateAttackSet({ seed: SEED, residential: 500 });
    expect(toIpgateCsv(again.attackers)).toBe(toIpgateCsv(set.attackers));
    expect(toIpgateCsv(again.residential)).toBe(toIpgateCsv(set.residential));
    const other = generateAttackSet({ seed: SEED + 1, residential: 500 });
    expect(toIpgateCsv(other.attackers)).not.toBe(toIpgateCsv(set.attackers));
    expect(count(other.attackers, (r) => r.score)).toEqual(count(set.attackers, (r) => r.score));
    const a = mulberry32(1);
    const b = mulberry32(1);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
  });

  it('writes an ipgate CSV that sync loads whole and replay reads whole', () => {
    const text = toIpgateCsv(set.attackers, ['demo']);
    const built = buildEntries([
      { name: 'attack.csv', format: 'ipgate-csv', text, mapping: { source: 'demo' } },
    ]);
    const feed = built.feeds[0];
    expect(feed).toMatchObject({ entries: 6972, problems: [], bogons: [] });
    expect(built.byScore).toMatchObject(CASE_SCORE_MIX);
    const replay = readReplayClients(text);
    expect(replay.clients).toHaveLength(6972);
    expect(replay.problems).toEqual([]);
    expect(replay.clients[0]).toMatchObject({
      ip: set.attackers[0]?.ip,
      score: set.attackers[0]?.score,
    });
  });

  it('apportions shares into exact whole numbers', () => {
    expect(apportion(10, { a: 0.5, b: 0.25, c: 0.25 })).toEqual({ a: 5, b: 3, c: 2 });
    const r = apportion(1060, { vpn: 0.34, proxy: 0.16, tor: 0.08, hosting: 0.24, none: 0.18 });
    expect(Object.values(r).reduce((s, n) => s + n, 0)).toBe(1060);
  });
});
