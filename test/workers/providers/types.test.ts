/** The shared provider contract: failure handling per kind and the public-address guard. */
import { describe, expect, it } from 'vitest';
import {
  createProvider,
  FAILURE_HANDLING,
  isRetryable,
  PROVIDER_NAMES,
  type ProviderFailureKind,
  publicAddressProblem,
} from '../../../src/providers';
import { ip } from './support';

describe('failure handling', () => {
  it('says what to do after each kind', () => {
    expect(FAILURE_HANDLING).toEqual({
      invalid_key: 'stop',
      quota: 'circuit',
      concurrency: 'backoff',
      invalid_ip: 'skip',
      server: 'retry',
      timeout: 'retry',
      network: 'retry',
      bad_response: 'retry',
    });
  });

  it('retries only what may succeed later with the same key', () => {
    const kinds = Object.keys(FAILURE_HANDLING) as ProviderFailureKind[];
    expect(kinds.filter(isRetryable).sort()).toEqual(
      ['bad_response', 'concurrency', 'network', 'server', 'timeout'].sort(),
    );
  });
});

describe('publicAddressProblem', () => {
  it('passes public unicast addresses, documentation ranges included', () => {
    for (const text of ['1.1.1.1', '203.0.113.7', '2606:4700::1111', '2001:db8::1'])
      expect(publicAddressProblem(ip(text)), text).toBeNull();
  });

  it('names the bogon range of anything else', () => {
    expect(publicAddressProblem(ip('10.2.3.4'))).toBe(
      '10.2.3.4 is not a public unicast address (in 10.0.0.0/8)',
    );
    expect(publicAddressProblem(ip('fe80::1'))).toMatch(/8000::\/1/);
    expect(publicAddressProblem(ip('::ffff:127.0.0.1'))).toMatch(/127\.0\.0\.0\/8/);
  });
});

describe('createProvider', () => {
  it('builds every named provider', () => {
    for (const name of PROVIDER_NAMES)
      expect(createProvider(name, { apiKey: 'k', baseUrl: 'http://127.0.0.1:1' }).name).toBe(name);
  });
});
