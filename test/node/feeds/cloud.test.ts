import { describe, expect, it } from 'vitest';
import {
  parseAwsIpRanges,
  parseAzureServiceTags,
  parseCloudRanges,
  parseGoogleCloudRanges,
  parseOracleIpRanges,
} from '../../../cli/feeds/cloud';
import { fixture, v4, v6 } from './helpers';

describe('cloud ranges feeds', () => {
  it('reads AWS ip-ranges.json: both families, each network once', () => {
    const r = parseAwsIpRanges(fixture('cloud/aws-ip-ranges.json'), { source: 'aws' });
    const record = {
      score: 'unknown',
      categories: ['hosting'],
      org: 'Amazon Web Services',
      source: 'aws',
      observedAt: '2024-05-01T12:34:56Z',
    };
    expect(r.entries).toEqual([
      { network: v4('3.2.34.0', 26), record },
      { network: v4('52.94.76.0', 22), record },
      { network: v6(0x26001f14_00000000n, 35), record },
      { network: v6(0x2a05d07a_a0000000n, 40), record },
    ]);
    expect(r.problems).toEqual([
      {
        path: 'prefixes[3].ip_prefix',
        message: 'host bits set in 52.94.76.1/22 (did you mean a network address?)',
      },
      { path: 'prefixes[4].ip_prefix', message: 'expected a CIDR string, got undefined' },
      { path: 'ipv6_prefixes[2]', message: 'expected an object, got "2600:1f18::/33"' },
    ]);
  });

  it('reads Google cloud.json', () => {
    const r = parseGoogleCloudRanges(fixture('cloud/google-cloud.json'), { source: 'gcp' });
    const record = {
      score: 'unknown',
      categories: ['hosting'],
      org: 'Google Cloud',
      source: 'gcp',
      observedAt: '2024-05-01T10:30:00.123456',
    };
    expect(r.entries).toEqual([
      { network: v4('34.1.208.0', 20), record },
      { network: v6(0x26001900_80000000n, 44), record },
      { network: v4('35.185.128.0', 19), record },
    ]);
    expect(r.problems).toEqual([
      { path: 'prefixes[3]', message: 'neither ipv4Prefix nor ipv6Prefix' },
      { path: 'prefixes[4].ipv4Prefix', message: 'expected a CIDR string, got 3405803776' },
      { path: 'prefixes[5].ipv4Prefix', message: 'prefix length out of range: /33' },
    ]);
  });

  it('reads Azure Service Tags, once per network across tags', () => {
    const r = parseAzureServiceTags(fixture('cloud/azure-service-tags.json'), { source: 'azure' });
    const record = {
      score: 'unknown',
      categories: ['hosting'],
      org: 'Microsoft Azure',
      source: 'azure',
    };
    expect(r.entries).toEqual([
      { network: v4('13.64.0.0', 16), record },
      { network: v4('20.33.0.0', 16), record },
      { network: v6(0x26031000_00000000n, 40), record },
      { network: v4('13.69.0.0', 17), record },
      { network: v4('13.66.60.119'), record },
      { network: v4('13.66.143.220', 30), record },
    ]);
    expect(r.problems).toEqual([
      {
        path: 'values[2].properties.addressPrefixes[2]',
        message: 'host bits set in 13.66.143.221/30 (did you mean a network address?)',
      },
      {
        path: 'values[3].properties.addressPrefixes',
        message: 'expected an array of prefixes',
      },
      { path: 'values[4].properties', message: 'expected an object' },
    ]);
  });

  it('reads Oracle public_ip_ranges.json', () => {
    const r = parseOracleIpRanges(fixture('cloud/oracle-public-ip-ranges.json'), {
      source: 'oci',
    });
    const record = {
      score: 'unknown',
      categories: ['hosting'],
      org: 'Oracle Cloud Infrastructure',
      source: 'oci',
      observedAt: '2024-05-01T08:15:42.204985',
    };
    expect(r.entries).toEqual([
      { network: v4('129.146.0.0', 21), record },
      { network: v4('134.70.8.0', 21), record },
      { network: v4('129.213.8.0', 21), record },
    ]);
    expect(r.problems).toEqual([
      { path: 'regions[1].cidrs[1].cidr', message: 'bad prefix length "21x"' },
      { path: 'regions[1].cidrs[2].cidr', message: 'expected a CIDR string, got undefined' },
      { path: 'regions[2].cidrs', message: 'expected an array' },
    ]);
  });

  it('lets the mapping name the org, add categories and set the score', () => {
    const r = parseCloudRanges('oracle', fixture('cloud/oracle-public-ip-ranges.json'), {
      source: 'oci',
      org: 'Oracle',
      score: 'low',
      categories: ['datacenter'],
    });
    expect(r.entries[0]?.record).toEqual({
      score: 'low',
      categories: ['datacenter', 'hosting'],
      org: 'Oracle',
      source: 'oci',
      observedAt: '2024-05-01T08:15:42.204985',
    });
  });

  it('reports a file that is not the named provider’s as one problem', () => {
    const azure = fixture('cloud/azure-service-tags.json');
    expect(parseAwsIpRanges(azure, { source: 'aws' })).toEqual({
      entries: [],
      problems: [{ message: 'no "prefixes" array: not an AWS ip-ranges.json' }],
    });
    expect(parseAzureServiceTags(fixture('cloud/aws-ip-ranges.json'), { source: 'az' })).toEqual({
      entries: [],
      problems: [{ message: 'no "values" array: not an Azure Service Tags file' }],
    });
    expect(parseOracleIpRanges('[]', { source: 'oci' }).problems).toEqual([
      { message: 'expected a JSON object, got []' },
    ]);
    const truncated = parseGoogleCloudRanges(fixture('cloud/google-cloud.json').slice(0, 200), {
      source: 'gcp',
    });
    expect(truncated.entries).toEqual([]);
    expect(truncated.problems).toEqual([{ message: expect.stringMatching(/^not valid JSON: /) }]);
    expect(parseGoogleCloudRanges('{"prefixes": []}', { source: 'gcp' }).problems).toEqual([
      { message: 'the file lists no ranges' },
    ]);
  });
});
