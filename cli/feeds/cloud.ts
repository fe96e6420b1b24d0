/**
 * Cloud providers' published address ranges → category `hosting`, `org` the provider (unless
 * the mapping names one). Real users rarely log in from a data centre, and Cloudflare offers no
 * hosting list below Enterprise, so these files are what ipgate builds that signal from.
 *
 *   AWS     ip-ranges.json            {"syncToken", "createDate": "2024-05-01-12-34-56",
 *                                       "prefixes": [{"ip_prefix", "region", "service",
 *                                                     "network_border_group"}],
 *                                       "ipv6_prefixes": [{"ipv6_prefix", …}]}
 *   Google  cloud.json                {"syncToken", "creationTime",
 *                                       "prefixes": [{"ipv4Prefix" | "ipv6Prefix", "service",
 *                                                     "scope"}]}
 *   Azure   ServiceTags_Public_*.json {"changeNumber", "cloud", "values": [{"name", "id",
 *                                       "properties": {"region", "systemService",
 *                                                      "addressPrefixes": [v4 and v6 CIDRs]}}]}
 *   Oracle  public_ip_ranges.json     {"last_updated_timestamp",
 *                                       "regions": [{"region", "cidrs": [{"cidr", "tags"}]}]}
 *
 * The same prefix is listed many times (AWS under AMAZON and again under EC2; Azure under
 * AzureCloud, its regional tag and every service tag), so each network is kept once. The file's
 * publication time becomes `observedAt`: AWS's `createDate` is UTC by its documentation and gets
 * a `Z`; Google's `creationTime` and Oracle's `last_updated_timestamp` are ISO 8601 without a
 * zone and are kept as published; Azure's file has none. A document without the array its
 * format is built on is one problem; a bad item is a problem with its JSON path.
 */
import { type Network, parseNetwork } from '../../src/ip/network';
import type { ReputationRecord } from '../../src/reputation/record';
import type { TableEntry } from '../../src/table/build';
import { checkMapping, isObject, parseJson, show, withMapping } from './common';
import type { FeedMapping, FeedResult } from './types';

export const CLOUD_PROVIDERS = ['aws', 'google', 'azure', 'oracle'] as const;
export type CloudProvider = (typeof CLOUD_PROVIDERS)[number];

/** The `org` each provider's ranges get when the mapping names none. */
export const CLOUD_ORG: Record<CloudProvider, string> = {
  aws: 'Amazon Web Services',
  google: 'Google Cloud',
  azure: 'Microsoft Azure',
  oracle: 'Oracle Cloud Infrastructure',
};

/** A value that should be a CIDR, or a reason there is none, at its JSON path. */
type Candidate = { path: string; value: unknown } | { path: string; error: string };

interface Extracted {
  candidates: Candidate[];
  observedAt?: string;
}

type Extractor = (doc: Record<string, unknown>) => Extracted | string;

/** The object items of `items` with their paths; other items become error candidates. */
function objectsAt(
  items: unknown[],
  path: string,
  out: Candidate[],
): Array<[Record<string, unknown>, string]> {
  const objects: Array<[Record<string, unknown>, string]> = [];
  items.forEach((item, i) => {
    const p = `${path}[${i}]`;
    if (isObject(item)) objects.push([item, p]);
    else out.push({ path: p, error: `expected an object, got ${show(item)}` });
  });
  return objects;
}

function isoAsPublished(value: unknown): string | undefined {
  return typeof value === 'string' &&
    value.length <= 40 &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.test(value)
    ? value
    : undefined;
}

const aws: Extractor = (doc) => {
  if (!Array.isArray(doc.prefixes)) return 'no "prefixes" array: not an AWS ip-ranges.json';
  const candidates: Candidate[] = [];
  for (const [item, p] of objectsAt(doc.prefixes, 'prefixes', candidates))
    candidates.push({ path: `${p}.ip_prefix`, value: item.ip_prefix });
  if (Array.isArray(doc.ipv6_prefixes)) {
    for (const [item, p] of objectsAt(doc.ipv6_prefixes, 'ipv6_prefixes', candidates))
      candidates.push({ path: `${p}.ipv6_prefix`, value: item.ipv6_prefix });
  } else if (doc.ipv6_prefixes !== undefined) {
    candidates.push({ path: 'ipv6_prefixes', error: 'expected an array' });
  }
  const m =
    typeof doc.createDate === 'string'
      ? /^(\d{4}-\d{2}-\d{2})-(\d{2})-(\d{2})-(\d{2})$/.exec(doc.createDate)
      : null;
  return m ? { candidates, observedAt: `${m[1]}T${m[2]}:${m[3]}:${m[4]}Z` } : { candidates };
};

const google: Extractor = (doc) => {
  if (!Array.isArray(doc.prefixes)) return 'no "prefixes" array: not a Google cloud.json';
  const candidates: Candidate[] = [];
  for (const [item, p] of objectsAt(doc.prefixes, 'prefixes', candidates)) {
    if (item.ipv4Prefix !== undefined)
      candidates.push({ path: `${p}.ipv4Prefix`, value: item.ipv4Prefix });
    else if (item.ipv6Prefix !== undefined)
      candidates.push({ path: `${p}.ipv6Prefix`, value: item.ipv6Prefix });
    else candidates.push({ path: p, error: 'neither ipv4Prefix nor ipv6Prefix' });
  }
  const observedAt = isoAsPublished(doc.creationTime);
  return observedAt ? { candidates, observedAt } : { candidates };
};

const azure: Extractor = (doc) => {
  if (!Array.isArray(doc.values)) return 'no "values" array: not an Azure Service Tags file';
  const candidates: Candidate[] = [];
  for (const [item, p] of objectsAt(doc.values, 'values', candidates)) {
    const props = item.properties;
    if (!isObject(props)) {
      candidates.push({ path: `${p}.properties`, error: 'expected an object' });
    } else if (!Array.isArray(props.addressPrefixes)) {
      candidates.push({
        path: `${p}.properties.addressPrefixes`,
        error: 'expected an array of prefixes',
      });
    } else {
      for (const [j, value] of props.addressPrefixes.entries())
        candidates.push({ path: `${p}.properties.addressPrefixes[${j}]`, value });
    }
  }
  return { candidates };
};

const oracle: Extractor = (doc) => {
  if (!Array.isArray(doc.regions)) return 'no "regions" array: not an Oracle public_ip_ranges.json';
  const candidates: Candidate[] = [];
  for (const [region, p] of objectsAt(doc.regions, 'regions', candidates)) {
    if (!Array.isArray(region.cidrs)) {
      candidates.push({ path: `${p}.cidrs`, error: 'expected an array' });
      continue;
    }
    for (const [item, q] of objectsAt(region.cidrs, `${p}.cidrs`, candidates))
      candidates.push({ path: `${q}.cidr`, value: item.cidr });
  }
  const observedAt = isoAsPublished(doc.last_updated_timestamp);
  return observedAt ? { candidates, observedAt } : { candidates };
};

const EXTRACTORS: Record<CloudProvider, Extractor> = { aws, google, azure, oracle };

function networkKey(n: Network): string {
  return `${n.family}:${n.start}:${n.end}`;
}

/** Reads one provider's published ranges file. */
export function parseCloudRanges(
  provider: CloudProvider,
  text: string,
  mapping: FeedMapping,
): FeedResult {
  const problems = checkMapping(mapping, 'data');
  if (problems.length > 0) return { entries: [], problems };
  const doc = parseJson(text);
  if (!doc.ok) return { entries: [], problems: [{ message: `not valid JSON: ${doc.error}` }] };
  if (!isObject(doc.value))
    return {
      entries: [],
      problems: [{ message: `expected a JSON object, got ${show(doc.value)}` }],
    };
  const extracted = EXTRACTORS[provider](doc.value);
  if (typeof extracted === 'string') return { entries: [], problems: [{ message: extracted }] };

  const facts: ReputationRecord = { score: 'unknown', categories: ['hosting'] };
  if (extracted.observedAt) facts.observedAt = extracted.observedAt;
  const record = withMapping(facts, { ...mapping, org: mapping.org ?? CLOUD_ORG[provider] });
  const seen = new Set<string>();
  const entries: TableEntry[] = [];
  for (const candidate of extracted.candidates) {
    const { path } = candidate;
    if ('error' in candidate) {
      problems.push({ path, message: candidate.error });
      continue;
    }
    const { value } = candidate;
    if (typeof value !== 'string') {
      problems.push({ path, message: `expected a CIDR string, got ${show(value)}` });
      continue;
    }
    const net = parseNetwork(value);
    if (!net.ok) {
      problems.push({ path, message: net.error });
      continue;
    }
    const key = networkKey(net.network);
    if (seen.has(key)) continue;
    seen.add(key);
    entries.push({ network: net.network, record });
  }
  if (entries.length === 0 && problems.length === 0)
    problems.push({ message: 'the file lists no ranges' });
  return { entries, problems };
}

export const parseAwsIpRanges = (text: string, mapping: FeedMapping): FeedResult =>
  parseCloudRanges('aws', text, mapping);
export const parseGoogleCloudRanges = (text: string, mapping: FeedMapping): FeedResult =>
  parseCloudRanges('google', text, mapping);
export const parseAzureServiceTags = (text: string, mapping: FeedMapping): FeedResult =>
  parseCloudRanges('azure', text, mapping);
export const parseOracleIpRanges = (text: string, mapping: FeedMapping): FeedResult =>
  parseCloudRanges('oracle', text, mapping);
