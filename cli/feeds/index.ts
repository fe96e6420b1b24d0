/**
 * The feed formats a feeds config can name, each with its parser. Every parser has the shape
 * `(text, mapping) => FeedResult` (see `types.ts`), so the sync command needs no per-format code:
 * it fetches the text, looks the format up here, and hands the result to the table build.
 *
 *   ipgate-csv          ipgate's own CSV (network,score,categories,country,asn,org)
 *   criminalip-json     saved Criminal IP responses: /v1/asset/ip/report or
 *                       /v2/feature/ip/suspicious-info, as one object, an array or JSON Lines
 *   criminalip-c2-csv   Criminal IP's C2 daily feed CSV
 *   ip-list             one IP/CIDR a line: FireHOL netset/ipset, Spamhaus DROP text, Tor bulk
 *                       exit list, X4BNet lists_vpn; Spamhaus JSON Lines recognised by its `{`
 *   spamhaus-drop-json  Spamhaus DROP/DROPv6 JSON Lines (drop_v4.json, drop_v6.json)
 *   aws-ip-ranges       AWS ip-ranges.json
 *   google-cloud-json   Google Cloud cloud.json
 *   azure-service-tags  Azure Service Tags (ServiceTags_Public_*.json)
 *   oracle-ip-ranges    Oracle Cloud public_ip_ranges.json
 */
import {
  parseAwsIpRanges,
  parseAzureServiceTags,
  parseGoogleCloudRanges,
  parseOracleIpRanges,
} from './cloud';
import { parseCriminalIpJson } from './criminalip';
import { parseCriminalIpC2Csv } from './criminalip-c2';
import { parseIpList, parseSpamhausDropJson } from './ip-list';
import { parseIpgateCsv } from './ipgate-csv';
import type { FeedParser } from './types';

export const FEED_FORMATS = {
  'ipgate-csv': parseIpgateCsv,
  'criminalip-json': parseCriminalIpJson,
  'criminalip-c2-csv': parseCriminalIpC2Csv,
  'ip-list': (text, mapping) => parseIpList(text, mapping),
  'spamhaus-drop-json': parseSpamhausDropJson,
  'aws-ip-ranges': parseAwsIpRanges,
  'google-cloud-json': parseGoogleCloudRanges,
  'azure-service-tags': parseAzureServiceTags,
  'oracle-ip-ranges': parseOracleIpRanges,
} as const satisfies Record<string, FeedParser>;

export type FeedFormat = keyof typeof FEED_FORMATS;

export const FEED_FORMAT_NAMES = Object.keys(FEED_FORMATS) as FeedFormat[];

export function isFeedFormat(name: string): name is FeedFormat {
  return Object.hasOwn(FEED_FORMATS, name);
}

/** The parser for a format named in a feeds config, or undefined for an unknown name. */
export function feedParser(name: string): FeedParser | undefined {
  return isFeedFormat(name) ? FEED_FORMATS[name] : undefined;
}

export type { FeedMapping, FeedParser, FeedProblem, FeedResult } from './types';
