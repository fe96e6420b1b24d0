/**
 * Reading a feed's text: from a file, or from a URL with a timeout, a size cap and retries
 * with backoff (network errors, 429 and 5xx). Errors name the feed and say what to check.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { FEED_FETCH_ATTEMPTS, FEED_FETCH_TIMEOUT_MS, FEED_MAX_BYTES } from '../src/constants';
import { CliError } from './errors';
import type { FeedConfig } from './feeds-config';
import { backoffMs, type RetryPolicy, realSleep, retryableStatus } from './retry';

export interface FetchOptions {
  baseDir: string;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  onRetry?: (message: string) => void;
}

/** FEED_FETCH_TIMEOUT_MS, or IPGATE_FEED_TIMEOUT_MS from the environment (slow mirrors, tests). */
function feedTimeoutMs(): number {
  const fromEnv = Number(process.env.IPGATE_FEED_TIMEOUT_MS);
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : FEED_FETCH_TIMEOUT_MS;
}

export async function readFeedText(feed: FeedConfig, options: FetchOptions): Promise<string> {
  if (feed.path !== undefined) {
    const file = resolve(options.baseDir, feed.path);
    try {
      if (statSync(file).size > FEED_MAX_BYTES)
        throw new CliError(`feed ${feed.name}: ${file} is larger than ${FEED_MAX_BYTES} bytes`);
      return readFileSync(file, 'utf8');
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(
        `feed ${feed.name}: cannot read ${file}`,
        'check the "path" in the feeds config (relative to the config file)',
      );
    }
  }
  return fetchText(feed.name, feed.url ?? '', options);
}

async function fetchText(name: string, url: string, options: FetchOptions): Promise<string> {
  const policy: RetryPolicy = {
    attempts: FEED_FETCH_ATTEMPTS,
    baseMs: 1_000,
    maxMs: 10_000,
    ...options.retry,
  };
  const sleep = policy.sleep ?? realSleep;
  let last = '';
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    let retryAfter: string | null = null;
    try {
      const res = await fetch(url, {
        signal: AbortSignal.timeout(options.timeoutMs ?? feedTimeoutMs()),
        redirect: 'follow',
      });
      if (res.ok) {
        const length = Number(res.headers.get('content-length') ?? 0);
        if (length > FEED_MAX_BYTES)
          throw new CliError(`feed ${name}: ${url} is larger than ${FEED_MAX_BYTES} bytes`);
        return await res.text();
      }
      last = `HTTP ${res.status}`;
      if (!retryableStatus(res.status))
        throw new CliError(
          `feed ${name}: ${url} answered ${res.status}`,
          'check the URL in the feeds config',
        );
      retryAfter = res.headers.get('retry-after');
    } catch (e) {
      if (e instanceof CliError) throw e;
      last =
        e instanceof Error && e.name === 'TimeoutError'
          ? 'timed out'
          : e instanceof Error
            ? e.message
            : String(e);
    }
    if (attempt < policy.attempts) {
      options.onRetry?.(`feed ${name}: ${last}; retrying`);
      await sleep(backoffMs(attempt, policy, retryAfter));
    }
  }
  throw new CliError(
    `feed ${name}: could not fetch ${url} after ${policy.attempts} attempts (${last})`,
    'check the network and the URL, or point "path" at a downloaded copy',
  );
}
