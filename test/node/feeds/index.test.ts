import { describe, expect, it } from 'vitest';
import {
  FEED_FORMAT_NAMES,
  FEED_FORMATS,
  type FeedFormat,
  feedParser,
  isFeedFormat,
} from '../../../cli/feeds/index';
import { fixture } from './helpers';

/** One real-format sample per format name, and how many entries it holds. */
const SAMPLES: Record<FeedFormat, [path: string, entries: number]> = {
  'ipgate-csv': ['../../../sample/reputation.csv', 7],
  'criminalip-json': ['criminalip/suspicious-info.json', 3],
  'criminalip-c2-csv': ['criminalip-c2/2025-09-21.csv', 5],
  'ip-list': ['lists/firehol_level1.netset', 5],
  'spamhaus-drop-json': ['lists/drop_v6.jsonl', 2],
  'aws-ip-ranges': ['cloud/aws-ip-ranges.json', 4],
  'google-cloud-json': ['cloud/google-cloud.json', 3],
  'azure-service-tags': ['cloud/azure-service-tags.json', 6],
  'oracle-ip-ranges': ['cloud/oracle-public-ip-ranges.json', 3],
};

describe('feed format registry', () => {
  it('names every format a feeds config can use', () => {
    expect(FEED_FORMAT_NAMES).toEqual([
      'ipgate-csv',
      'criminalip-json',
      'criminalip-c2-csv',
      'ip-list',
      'spamhaus-drop-json',
      'aws-ip-ranges',
      'google-cloud-json',
      'azure-service-tags',
      'oracle-ip-ranges',
    ]);
  });

  it.each(Object.entries(SAMPLES))('%s reads its sample through the registry', (name, sample) => {
    const [path, count] = sample;
    const parse = feedParser(name);
    expect(parse).toBe(
      name === 'ip-list' ? FEED_FORMATS['ip-list'] : FEED_FORMATS[name as FeedFormat],
    );
    const r = parse?.(fixture(path), { source: 'registry', score: 'low', categories: ['listed'] });
    expect(r?.entries).toHaveLength(count);
    expect(r?.entries.every((e) => e.record.source === 'registry')).toBe(true);
  });

  it('knows no other names', () => {
    expect(feedParser('spamhaus')).toBeUndefined();
    expect(isFeedFormat('toString')).toBe(false);
    expect(isFeedFormat('aws-ip-ranges')).toBe(true);
  });
});
