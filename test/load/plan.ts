/**
 * What the load test sends, generated from one seed (scripts/seeded-random.ts):
 *
 * - Table subjects: clients the reputation table lists, each with a known score and categories
 *   and so a known kind — `dirty` (Dangerous/Critical), `anonymizer` (VPN/Tor/proxy, not dirty),
 *   `hosting` (hosting only, not dirty) and `clean` (none of those). Most are one address (/32);
 *   some are a /24 the client sits inside. They live in first octets the background table
 *   leaves out, so no other entry covers them.
 * - Live subjects: addresses the table does not list (45.0.0.0/8), so auth paths ask the live
 *   API; the fake Criminal IP API is given a canned answer for each: Critical or Dangerous,
 *   a VPN/Tor/proxy flag, or (most) a Safe default.
 * - A few requests with no usable client address (a malformed CF-Connecting-IP).
 *
 * Every request has its own path, so its decision can be found in the D1 log: auth paths use
 * `;id=` path parameters (`/login;id=42`, which ipgate matches as `/login` and records as sent)
 * or a unique path under an `/auth/*`-style prefix; site paths are unique pages.
 */

import { mulberry32 } from '../../scripts/seeded-random';
import type { Network } from '../../src/ip/network';
import type { ReputationRecord, Score } from '../../src/reputation/record';
import type { TableEntry } from '../../src/table/build';

export type TableKind = 'dirty' | 'anonymizer' | 'hosting' | 'clean';
export type LiveKind = 'live-dirty' | 'live-anonymizer' | 'live-clean';
export type SubjectKind = TableKind | LiveKind | 'invalid';

export interface Subject {
  kind: SubjectKind;
  /** CF-Connecting-IP as sent. */
  header: string;
  /** The record ipgate should find: in the table (table kinds) or from the API (live kinds). */
  score?: Score;
  categories?: string[];
}

export interface PlannedRequest {
  id: number;
  method: 'GET' | 'POST';
  path: string;
  /** The path is one of the default policy's auth paths. */
  auth: boolean;
  subject: number;
}

export interface LoadPlan {
  subjects: Subject[];
  /** The table entries that list the table subjects. */
  entries: TableEntry[];
  /** Canned Criminal IP fields for the live subjects that are not Safe. */
  cannedAnswers: Record<string, Record<string, unknown>>;
  requests: PlannedRequest[];
}

/** The `source` of every table entry the plan writes. */
export const PLAN_SOURCE = 'load-test';

/** First octets of the table subjects; the background table is kept out of them. */
export const SUBJECT_FIRST_OCTETS = [23, 62, 91, 138, 176, 193];
/** 45.0.0.0/8: no table entry covers it (the background table leaves it out too). */
const LIVE_FIRST_OCTET = 45;

// biome-ignore format: a table reads better in rows
const SUBJECT_COUNTS: Record<SubjectKind, number> = {
  dirty: 400, anonymizer: 300, hosting: 300, clean: 500,
  'live-dirty': 250, 'live-anonymizer': 150, 'live-clean': 1_600,
  invalid: 4,
};
/** Share of requests per group of subjects (table, live, invalid), in per mille. */
const GROUP_WEIGHTS = { table: 600, live: 385, invalid: 15 };
/** Share of requests on auth paths, in per cent; of those, the share of POSTs. */
const AUTH_PERCENT = 65;
const AUTH_POST_PERCENT = 30;

const AUTH_PATHS = [
  (id: number) => `/login;id=${id}`,
  (id: number) => `/wp-login.php;id=${id}`,
  (id: number) => `/users/sign_in;id=${id}`,
  (id: number) => `/api/auth/session/${id}`,
  (id: number) => `/auth/callback/${id}`,
  (id: number) => `/LOGIN/;id=${id}`,
];
const SITE_PATHS = [
  (id: number) => `/products/${id}`,
  (id: number) => `/blog/post-${id}`,
  (id: number) => `/static/app.${id}.js`,
  (id: number) => `/search;id=${id}`,
  (id: number) => `/login-help/${id}`,
];

const DIRTY_SCORES: Score[] = ['dangerous', 'critical'];
/** Anonymizer and hosting lists often carry no score at all. */
const NOT_DIRTY_SCORES: Score[] = ['unknown', 'safe', 'low', 'moderate'];
const CLEAN_SCORES: Score[] = ['safe', 'low', 'moderate'];
// biome-ignore format: a table reads better in rows
const CATEGORIES: Record<TableKind, string[][]> = {
  dirty: [[], [], ['hosting'], ['vpn'], ['scanner'], ['hosting', 'remote'], ['tor'], ['mobile']],
  anonymizer: [['vpn'], ['tor'], ['proxy'], ['hosting', 'vpn'], ['proxy', 'scanner'], ['anonymous_vpn', 'vpn']],
  hosting: [['hosting'], ['hosting'], ['hosting', 'remote'], ['hosting', 'scanner']],
  clean: [[], [], [], ['mobile'], ['scanner'], ['remote'], ['darkweb']],
};

const ipv4 = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');

function network(start: number, prefix: number): Network {
  const size = 2 ** (32 - prefix);
  const s = start - (start % size);
  return { family: 4, start: BigInt(s), end: BigInt(s + size - 1), prefix };
}

export function buildPlan(requestCount: number, seed: number): LoadPlan {
  const next = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length] as T;
  const subjects: Subject[] = [];
  const entries: TableEntry[] = [];
  const cannedAnswers: Record<string, Record<string, unknown>> = {};
  const used = new Set<number>();

  /** A fresh /24 (its index in the first octet's space) so no two subjects share one. */
  const freshBlock = (firstOctet: number): number => {
    for (;;) {
      const v = (firstOctet * 2 ** 24 + (next() % 2 ** 16) * 256) >>> 0;
      if (used.has(v)) continue;
      used.add(v);
      return v;
    }
  };

  for (const kind of ['dirty', 'anonymizer', 'hosting', 'clean'] as const) {
    for (let i = 0; i < SUBJECT_COUNTS[kind]; i++) {
      const block = freshBlock(pick(SUBJECT_FIRST_OCTETS));
      const host = block + 1 + (next() % 254);
      const score = pick(
        kind === 'dirty' ? DIRTY_SCORES : kind === 'clean' ? CLEAN_SCORES : NOT_DIRTY_SCORES,
      );
      const categories = [...pick(CATEGORIES[kind])].sort();
      const record: ReputationRecord = { score, categories, source: PLAN_SOURCE };
      // One in five is listed as its /24, the rest as the single address.
      const prefix = next() % 5 === 0 ? 24 : 32;
      entries.push({ network: network(prefix === 24 ? block : host, prefix), record });
      subjects.push({ kind, header: ipv4(host), score, categories });
    }
  }

  const liveAnswer: Record<
    LiveKind,
    () => { score: Score; categories: string[]; fields: Record<string, unknown> | null }
  > = {
    'live-dirty': () => {
      const inbound = pick(['Dangerous', 'Critical'] as const);
      return {
        score: inbound === 'Critical' ? 'critical' : 'dangerous',
        categories: [],
        fields: { score: { inbound, outbound: inbound } },
      };
    },
    'live-anonymizer': () => {
      const [flag, category] = pick([
        ['is_vpn', 'vpn'],
        ['is_tor', 'tor'],
        ['is_proxy', 'proxy'],
      ] as const);
      return { score: 'safe', categories: [category], fields: { issues: { [flag]: true } } };
    },
    'live-clean': () => ({ score: 'safe', categories: [], fields: null }),
  };
  for (const kind of ['live-dirty', 'live-anonymizer', 'live-clean'] as const) {
    for (let i = 0; i < SUBJECT_COUNTS[kind]; i++) {
      const ip = ipv4(freshBlock(LIVE_FIRST_OCTET) + 1 + (next() % 254));
      const answer = liveAnswer[kind]();
      if (answer.fields) cannedAnswers[ip] = answer.fields;
      subjects.push({ kind, header: ip, score: answer.score, categories: answer.categories });
    }
  }

  // Malformed only: the local runtime, like Cloudflare, fills in a missing CF-Connecting-IP.
  const invalidHeaders = ['not-an-ip', '0x7f.1', '203.0.113.300', '1.2.3'];
  for (let i = 0; i < SUBJECT_COUNTS.invalid; i++)
    subjects.push({ kind: 'invalid', header: invalidHeaders[i % invalidHeaders.length] ?? '' });

  const groups = {
    table: subjects.flatMap((s, i) => (s.kind in CATEGORIES ? [i] : [])),
    live: subjects.flatMap((s, i) => (s.kind.startsWith('live-') ? [i] : [])),
    invalid: subjects.flatMap((s, i) => (s.kind === 'invalid' ? [i] : [])),
  };
  const requests: PlannedRequest[] = [];
  for (let id = 0; id < requestCount; id++) {
    const g = next() % 1000;
    const group =
      g < GROUP_WEIGHTS.table
        ? groups.table
        : g < GROUP_WEIGHTS.table + GROUP_WEIGHTS.live
          ? groups.live
          : groups.invalid;
    const auth = next() % 100 < AUTH_PERCENT;
    const method = auth && next() % 100 < AUTH_POST_PERCENT ? 'POST' : 'GET';
    const path = pick(auth ? AUTH_PATHS : SITE_PATHS)(id);
    requests.push({ id, method, path, auth, subject: pick(group) });
  }
  return { subjects, entries, cannedAnswers, requests };
}
