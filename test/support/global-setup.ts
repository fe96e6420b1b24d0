/**
 * Starts the shared local origin, the fake Criminal IP API and the fake Turnstile siteverify
 * once per test run and hands their URLs to both projects.
 */
import type { TestProject } from 'vitest/node';
import { startFakeCriminalIp } from './fake-criminalip';
import { startFakeTurnstile } from './fake-turnstile';
import { startOriginServer } from './origin-server';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const origin = await startOriginServer();
  project.provide('originUrl', origin.url);
  const criminalIp = await startFakeCriminalIp();
  project.provide('criminalIpUrl', criminalIp.url);
  const turnstile = await startFakeTurnstile();
  project.provide('turnstileUrl', turnstile.url);
  return async () => {
    await turnstile.close();
    await criminalIp.close();
    await origin.close();
  };
}
