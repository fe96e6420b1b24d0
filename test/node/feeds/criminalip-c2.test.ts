import { describe, expect, it } from 'vitest';
import { parseCriminalIpC2Csv } from '../../../cli/feeds/criminalip-c2';
import { fixture, v4, v6 } from './helpers';

describe('Criminal IP C2 daily CSV feed', () => {
  it('reads the rows, reports each bad line by its number and keeps the rest', () => {
    const r = parseCriminalIpC2Csv(fixture('criminalip-c2/2025-09-21.csv'), { source: 'c2' });
    expect(r.entries).toEqual([
      {
        network: v4('192.0.2.10'),
        record: {
          score: 'critical',
          categories: ['c2'],
          country: 'US',
          source: 'c2',
          observedAt: '2025-09-19T15:13:49',
        },
      },
      {
        network: v4('198.51.100.7'),
        record: {
          score: 'moderate',
          categories: ['c2'],
          country: 'DE',
          source: 'c2',
          observedAt: '2025-09-19T13:17:38',
        },
      },
      {
        network: v4('203.0.113.5'),
        record: {
          score: 'dangerous',
          categories: ['c2', 'remote'],
          country: 'NL',
          source: 'c2',
          observedAt: '2025-09-18T06:22:13',
        },
      },
      {
        network: v6(0x20010db8_00000000n, 128),
        record: {
          score: 'safe',
          categories: ['c2', 'remote'],
          country: 'GB',
          source: 'c2',
          observedAt: '2025-09-19T09:13:39',
        },
      },
      {
        network: v4('192.0.2.15'),
        record: { score: 'dangerous', categories: ['c2'], source: 'c2' },
      },
    ]);
    expect(r.problems).toEqual([
      { line: 6, message: 'IP: "192.0.2.300" is not a single IP address' },
      {
        line: 7,
        message:
          'Score: "Bogus/Critical" does not start with Safe, Low, Moderate, Dangerous, Critical or 1–5',
      },
      { line: 8, message: 'OpenPorts: "44a3" is not a port number' },
      { line: 9, message: 'expected 6 columns, found 5' },
      { line: 10, message: 'IP: "192.0.2.0/24" is not a single IP address' },
      { line: 11, message: expect.stringMatching(/quote/i) },
      { line: 15, message: 'Country: "USA" is not a 2-letter code' },
      { line: 16, message: 'Scan Time: "19/09/2025 12:00" is not YYYY-MM-DD hh:mm:ss' },
    ]);
  });

  it('reads the port list form the README describes', () => {
    const text = [
      'IP,Target C2,OpenPorts,Score(Inbound/Outbound),Country,Scan Time',
      '192.0.2.20,c2_mythic,"[80, 443]",Low/Critical,us,2025-09-19 15:13:49',
      '192.0.2.21,c2_mythic,"[443, 3389]",Low/Critical,us,2025-09-19 15:13:49',
      '192.0.2.22,c2_mythic,80 22,Low/Critical,us,2025-09-19 15:13:49',
      '192.0.2.23,c2_mythic,[],Low/Critical,us,2025-09-19 15:13:49',
      '192.0.2.24,c2_mythic,"[80, 70000]",Low/Critical,us,2025-09-19 15:13:49',
    ].join('\r\n');
    const r = parseCriminalIpC2Csv(text, { source: 'c2' });
    expect(r.entries.map((e) => e.record.categories)).toEqual([
      ['c2'],
      ['c2', 'remote'],
      ['c2', 'remote'],
      ['c2'],
    ]);
    expect(r.problems).toEqual([{ line: 6, message: 'OpenPorts: "70000" is not a port number' }]);
  });

  it('adds the mapping categories to every row', () => {
    const text = [
      'IP,Target C2,OpenPorts,Score(Inbound/Outbound),Country,Scan Time',
      '192.0.2.20,c2_mythic,443,Critical/Critical,us,2025-09-19 15:13:49',
    ].join('\n');
    const r = parseCriminalIpC2Csv(text, { source: 'c2', categories: ['botnet'], country: 'FR' });
    expect(r.entries[0]?.record).toEqual({
      score: 'critical',
      categories: ['botnet', 'c2'],
      country: 'US',
      source: 'c2',
      observedAt: '2025-09-19T15:13:49',
    });
  });

  it('refuses a file that does not start with the C2 header', () => {
    const r = parseCriminalIpC2Csv('network,score\n192.0.2.1,critical\n', { source: 'c2' });
    expect(r).toEqual({
      entries: [],
      problems: [
        {
          message:
            'not a Criminal IP C2 feed: the first line should be "IP,Target C2,OpenPorts,Score(Inbound/Outbound),Country,Scan Time", found "network,score"',
        },
      ],
    });
    expect(parseCriminalIpC2Csv('', { source: 'c2' }).problems).toEqual([
      { message: 'the feed is empty' },
    ]);
    expect(
      parseCriminalIpC2Csv('IP,Target C2,OpenPorts,Score(Inbound/Outbound),Country,Scan Time\n', {
        source: 'c2',
      }).problems,
    ).toEqual([{ message: 'the feed has no entries' }]);
  });
});
