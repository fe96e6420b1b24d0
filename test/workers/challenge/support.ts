/** Shared values for the challenge tests. */
import { inject } from 'vitest';
import { type IpAddress, parseIp } from '../../../src/ip/parse';

/** A clearance secret of the required length. */
export const SECRET = 'test-clearance-secret-0123456789abcdef';
/** Another valid secret (a rotated or foreign one). */
export const OTHER_SECRET = 'other-clearance-secret-0123456789abcdef';
/** A fixed clock: 2026-01-01T00:00:00.250Z in Unix milliseconds. */
export const NOW = Date.UTC(2026, 0, 1) + 250;

/** The parsed address; a typo in a test is a thrown error, not a silent null. */
export function ip(text: string): IpAddress {
  const parsed = parseIp(text);
  if (parsed === null) throw new Error(`not an IP: ${text}`);
  return parsed;
}

/** The fake siteverify endpoint started by the global setup. */
export const siteverifyUrl = (): string => `${inject('turnstileUrl')}/turnstile/v0/siteverify`;
export const turnstileBase = (): string => inject('turnstileUrl');
