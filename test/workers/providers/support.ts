/**
 * Helpers for provider tests in workerd: a fresh scope of the fake Criminal IP server per test
 * (so stats count this test's calls only) and strict address parsing for test inputs.
 */
import { inject } from 'vitest';
import { type IpAddress, parseIp } from '../../../src/ip/parse';
import { scopeUrl } from '../../support/fake-criminalip-protocol';

let counter = 0;

/** The base URL of a scope of the fake that no other test uses. */
export function freshScope(label = 'p'): string {
  counter += 1;
  const id = `${label}-${Date.now()}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
  return scopeUrl(inject('criminalIpUrl'), id);
}

export function ip(text: string): IpAddress {
  const parsed = parseIp(text);
  if (!parsed) throw new Error(`bad test address ${text}`);
  return parsed;
}

export const FIXED_NOW = new Date('2026-07-01T12:00:00.000Z');
export const fixedNow = (): Date => FIXED_NOW;
