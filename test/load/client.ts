/**
 * The load test's client: sends every planned request to the Worker over `concurrency`
 * keep-alive connections and keeps what each one got back (status, ipgate's reference header,
 * or the socket error), because every answer is checked against the decision log afterwards.
 * Requests run in plan order, each connection taking the next one when its last answer has
 * been read; a request with no answer within `timeoutMs` counts as an error.
 *
 * GETs share the keep-alive connections; each POST (a login form) goes on a connection of its
 * own, as a browser's form post from a distinct client would. workerd resets a keep-alive
 * connection after answering a request whose body it did not read (a blocked POST), and the
 * next request the client had put on it then fails with no answer: an artifact of the local
 * runtime's connection handling (Cloudflare's edge terminates client connections), not of
 * the Worker, so the client does not provoke it. For the same reason the client closes a
 * keep-alive connection that has been idle for IDLE_CLOSE_MS, well before workerd closes idle
 * connections (after about 5 s), so a request is never written to a connection workerd is
 * closing at that moment.
 */
import { Agent, request } from 'node:http';
import { REFERENCE_HEADER } from '../../src/constants';
import type { LoadPlan } from './plan';

export interface Outcome {
  /** HTTP status; 0 when the request failed at the socket or timed out. */
  status: number;
  /** X-Ipgate-Ref, when ipgate answered itself. */
  ref: string;
  /** Socket error or timeout, '' when an answer arrived. */
  error: string;
  ms: number;
}

export interface ClientOptions {
  concurrency: number;
  timeoutMs: number;
  /** Told every `every` completed requests. */
  progress?: (done: number, elapsedMs: number) => void;
  every?: number;
}

const LOGIN_BODY = 'username=admin&password=hunter2';
/** An idle keep-alive connection is closed by the client after this long (workerd: ~5 s). */
const IDLE_CLOSE_MS = 2_000;

export async function sendPlan(
  baseUrl: string,
  plan: LoadPlan,
  options: ClientOptions,
): Promise<{ outcomes: Outcome[]; durationMs: number }> {
  const base = new URL(baseUrl);
  const agent = new Agent({
    keepAlive: true,
    maxSockets: options.concurrency,
    timeout: IDLE_CLOSE_MS,
  });
  const outcomes: Outcome[] = new Array(plan.requests.length);
  let nextIndex = 0;
  let done = 0;
  const started = performance.now();

  const once = (index: number): Promise<Outcome> => {
    const planned = plan.requests[index];
    if (!planned) throw new Error(`no planned request ${index}`);
    const subject = plan.subjects[planned.subject];
    const headers: Record<string, string> = {};
    if (subject) headers['CF-Connecting-IP'] = subject.header;
    const body = planned.method === 'POST' ? LOGIN_BODY : undefined;
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const t0 = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      let answered = false;
      const settle = (o: Omit<Outcome, 'ms'>) => {
        if (settled) return;
        settled = true;
        resolve({ ...o, ms: performance.now() - t0 });
      };
      const req = request(
        {
          host: base.hostname,
          port: base.port,
          method: planned.method,
          path: planned.path,
          agent: planned.method === 'POST' ? false : agent,
          headers,
        },
        (res) => {
          answered = true;
          res.resume();
          res.on('end', () => {
            const ref = res.headers[REFERENCE_HEADER.toLowerCase()];
            settle({
              status: res.statusCode ?? 0,
              ref: typeof ref === 'string' ? ref : '',
              error: '',
            });
          });
          res.on('error', (e) => settle({ status: 0, ref: '', error: `read: ${e.message}` }));
        },
      );
      req.setTimeout(options.timeoutMs, () => {
        settle({ status: 0, ref: '', error: `no answer within ${options.timeoutMs} ms` });
        req.destroy();
      });
      req.on('error', (e) => {
        const where = `${req.reusedSocket ? 'reused' : 'new'} connection, ${answered ? 'after' : 'before'} the answer, ${Math.round(performance.now() - t0)} ms`;
        settle({ status: 0, ref: '', error: `${e.message} (${where})` });
      });
      req.end(body);
    });
  };

  const loop = async (): Promise<void> => {
    for (;;) {
      const index = nextIndex++;
      if (index >= plan.requests.length) return;
      outcomes[index] = await once(index);
      done += 1;
      if (options.progress && done % (options.every ?? 5_000) === 0)
        options.progress(done, performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  agent.destroy();
  return { outcomes, durationMs: performance.now() - started };
}
