/** Starts the shared local origin once per test run and hands its URL to both projects. */
import type { TestProject } from 'vitest/node';
import { startOriginServer } from './origin-server';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const origin = await startOriginServer();
  project.provide('originUrl', origin.url);
  return () => origin.close();
}
