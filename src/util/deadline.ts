/**
 * Deadlines for I/O on the request path. A promise that does not settle in time yields a
 * `timeout` value; it is not cancelled (KV reads cannot be), so callers hand it to `waitUntil`
 * when its result is still worth keeping.
 */

export const TIMED_OUT: unique symbol = Symbol('timed out');

export async function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
): Promise<T | typeof TIMED_OUT> {
  if (ms <= 0) return TIMED_OUT;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Message of an unknown thrown value, without stack or secrets-bearing properties. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}
