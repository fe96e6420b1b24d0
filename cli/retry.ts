/**
 * Retry with exponential backoff and jitter for the CLI's calls to services we do not control;
 * the implementation is shared with the Worker (src/util/retry.ts).
 */
export {
  backoffMs,
  type RetryPolicy,
  realSleep,
  retryableStatus,
} from '../src/util/retry';
