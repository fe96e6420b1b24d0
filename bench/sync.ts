/**
 * `npm run bench:sync`: build time and peak memory for a table of 1M entries from an ipgate CSV
 * (parse → merge rules → flatten → encode → manifest), the work `ipgate sync` does before
 * writing. The CSV is generated (seeded: networks from a pool of 2,000 ASNs with their country
 * and organisation, scores and categories mixed) by this process; the build runs in a fresh child
 * process so its peak RSS is its own. Prints one JSON object per line.
 *
 *   npm run bench:sync [-- --entries 1000000]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildEntries } from '../cli/build';
import { generationPairs } from '../cli/table-writer';
import { uniform as rng } from '../scripts/seeded-random';

const SCORES = ['', 'safe', 'low', 'moderate', 'dangerous', 'critical'];
const CATEGORIES = ['', 'vpn', 'tor', 'proxy', 'hosting', 'scanner', 'hosting|vpn'];

/** Networks come from a pool of ASNs, each with one country and organisation, as in real feeds. */
const ASNS = (() => {
  const r = rng(7);
  const countries = ['US', 'NL', 'RU', 'CN', 'DE', 'BR', 'IN', 'SG', 'FR', 'GB'];
  return Array.from({ length: 2_000 }, (_, i) => ({
    asn: 1_000 + i * 17,
    country: countries[Math.floor(r() * countries.length)] ?? 'US',
    org: `Example Network ${i}`,
  }));
})();

function generateCsv(entries: number): string {
  const r = rng(42);
  const lines = ['network,score,categories,country,asn,org'];
  for (let i = 0; i < entries; i++) {
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)] as T;
    let network: string;
    if (r() < 0.1) {
      const h = () => Math.floor(r() * 0x10000).toString(16);
      network = `2${Math.floor(r() * 0x1000)
        .toString(16)
        .padStart(3, '0')}:${h()}:${h()}::/48`;
    } else {
      const first = 1 + Math.floor(r() * 222);
      const len = r() < 0.6 ? 32 : pick([16, 20, 22, 24, 24, 24, 28]);
      const v = ((first << 24) | Math.floor(r() * 0x1000000)) >>> 0;
      const masked = len === 32 ? v : (v & ~((1 << (32 - len)) - 1)) >>> 0;
      network = `${masked >>> 24}.${(masked >>> 16) & 255}.${(masked >>> 8) & 255}.${masked & 255}/${len}`;
    }
    const score = pick(SCORES);
    const cats = pick(CATEGORIES);
    const asn = ASNS[Math.floor(r() * ASNS.length)] as (typeof ASNS)[number];
    lines.push(
      `${network},${score || (cats ? '' : 'low')},${cats},${asn.country},${asn.asn},${asn.org}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function child(file: string): Promise<void> {
  const t0 = performance.now();
  const text = readFileSync(file, 'utf8');
  const result = buildEntries([
    { name: 'bench', format: 'ipgate-csv', text, mapping: { source: 'bench' } },
  ]);
  const t1 = performance.now();
  const gen = await generationPairs(result.entries);
  const t2 = performance.now();
  const bytes = gen.chunks.reduce((n, c) => n + c.value.length, 0);
  process.stdout.write(
    JSON.stringify({
      entries: result.entries.length,
      skipped: result.feeds[0]?.bogons.length ?? 0,
      badLines: result.feeds[0]?.problems.length ?? 0,
      intervals: gen.manifest.counts.v4 + gen.manifest.counts.v6,
      chunks: gen.chunks.length,
      tableBytes: bytes,
      parseMs: Math.round(t1 - t0),
      buildEncodeMs: Math.round(t2 - t1),
      totalMs: Math.round(t2 - t0),
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { entries: { type: 'string', default: '1000000' }, child: { type: 'string' } },
  });
  if (values.child) return child(values.child);
  const dir = mkdtempSync(join(tmpdir(), 'ipgate-bench-sync-'));
  try {
    const file = join(dir, 'table.csv');
    writeFileSync(file, generateCsv(Number(values.entries)));
    if (process.env.KEEP_CSV) writeFileSync(process.env.KEEP_CSV, readFileSync(file));
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/sync.ts', '--child', file], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    if (r.status !== 0) throw new Error(r.stderr);
    const m = JSON.parse(r.stdout) as { totalMs: number; peakRssMB: number };
    process.stdout.write(
      `${JSON.stringify({ bench: 'sync', ...m, targetMs: 10_000, targetPeakMB: 1024, withinTargets: m.totalMs <= 10_000 && m.peakRssMB <= 1024 })}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
