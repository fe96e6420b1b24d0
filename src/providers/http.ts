/**
 * The one HTTP exchange every provider makes: a GET with a deadline, a capped body, and
 * failures as data. Shared so that timeouts, aborts, redirects and secrets are handled once.
 *
 * - The caller's signal and the provider's own deadline both abort the request and the body
 *   read; either one answers `timeout`, anything else thrown by `fetch` is `network`.
 * - Redirects are not followed: `fetch` keeps custom headers such as `x-api-key` across a
 *   cross-origin redirect, which would hand the key to whoever the redirect names. An API
 *   answering 3xx is a `bad_response`.
 * - The body is read up to `PROVIDER_MAX_BODY_BYTES`; a provider cannot make the Worker buffer
 *   an unbounded answer.
 * - Every message that leaves here goes through `failure`, which removes the API key wherever it
 *   appears (a provider or a runtime error might echo it) and cuts the text short.
 */
import {
  PROVIDER_MAX_BODY_BYTES,
  PROVIDER_MAX_MESSAGE_CHARS,
  PROVIDER_TIMEOUT_MS,
} from '../constants';
import type { IpAddress } from '../ip/parse';
import { normalizeRecord, type ReputationRecord } from '../reputation/record';
import { errorMessage } from '../util/deadline';
import type { ProviderFailure, ProviderFailureKind, ProviderName, ProviderResult } from './types';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface HttpAnswer {
  status: number;
  contentType: string;
  text: string;
}

export type HttpOutcome =
  | { ok: true; answer: HttpAnswer }
  | { ok: false; failure: ProviderFailure };

export interface ProviderRequest {
  url: string;
  headers: Record<string, string>;
  fetch: FetchLike;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Removed from every message. */
  secret: string;
}

/** A failure whose message is free of `secret`, of control characters and of excess length. */
export function failure(
  kind: ProviderFailureKind,
  message: string,
  secret: string,
  status?: number,
): ProviderFailure {
  let text = secret === '' ? message : message.split(secret).join('[redacted]');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  text = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (text.length > PROVIDER_MAX_MESSAGE_CHARS)
    text = `${text.slice(0, PROVIDER_MAX_MESSAGE_CHARS - 3)}...`;
  const f: ProviderFailure = { kind, message: text };
  if (status !== undefined) f.status = status;
  return f;
}

/** Fetches with GET and reads the whole (capped) body as text. Never throws. */
export async function getText(req: ProviderRequest): Promise<HttpOutcome> {
  const { signal, secret } = req;
  if (signal?.aborted) return { ok: false, failure: failure('timeout', 'aborted', secret) };
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, req.timeoutMs);
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const aborted = (): HttpOutcome => ({
    ok: false,
    failure: failure(
      'timeout',
      timedOut ? `no answer within ${req.timeoutMs} ms` : 'aborted',
      secret,
    ),
  });
  try {
    let res: Response;
    try {
      res = await req.fetch(req.url, {
        method: 'GET',
        headers: req.headers,
        redirect: 'manual',
        signal: controller.signal,
      });
    } catch (e) {
      if (controller.signal.aborted) return aborted();
      return { ok: false, failure: failure('network', errorMessage(e), secret) };
    }
    const contentType = res.headers.get('content-type') ?? '';
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      return {
        ok: false,
        failure: failure(
          'bad_response',
          `unexpected redirect (HTTP ${res.status})`,
          secret,
          res.status,
        ),
      };
    }
    let text: string | null;
    try {
      text = await readCapped(res, PROVIDER_MAX_BODY_BYTES);
    } catch (e) {
      if (controller.signal.aborted) return aborted();
      return { ok: false, failure: failure('network', errorMessage(e), secret, res.status) };
    }
    if (text === null)
      return {
        ok: false,
        failure: failure(
          'bad_response',
          `body larger than ${PROVIDER_MAX_BODY_BYTES} bytes`,
          secret,
          res.status,
        ),
      };
    return { ok: true, answer: { status: res.status, contentType, text } };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The body as UTF-8 text, or null when it is longer than `max` bytes (the rest is not read). */
async function readCapped(res: Response, max: number): Promise<string | null> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

/** The body as JSON, or undefined when it is not JSON at all. */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A short description of a body that is not the JSON expected, for a `bad_response`. */
export function describeBody(answer: HttpAnswer): string {
  const type = answer.contentType.split(';')[0]?.trim() || 'no content type';
  return `HTTP ${answer.status}, ${type}, ${answer.text.length} characters`;
}

/** What a provider's body parser answers about one address. */
export type ParsedAnswer =
  | { ok: true; ip: string; record: ReputationRecord }
  | { ok: false; error: string; path?: string };

/**
 * A parsed success body as the lookup's result: the record, stamped with the provider and the
 * time, when the body is about the address asked; otherwise `bad_response`.
 */
export function verdictOf(
  parsed: ParsedAnswer,
  ip: IpAddress,
  source: ProviderName,
  observedAt: Date,
  secret: string,
  status: number,
): ProviderResult {
  if (!parsed.ok) {
    const where = parsed.path ? `${parsed.path}: ` : '';
    return {
      ok: false,
      failure: failure('bad_response', `${where}${parsed.error}`, secret, status),
    };
  }
  if (parsed.ip !== ip.text) {
    const message = `answer is about ${parsed.ip}, not ${ip.text}`;
    return { ok: false, failure: failure('bad_response', message, secret, status) };
  }
  const record = normalizeRecord({
    ...parsed.record,
    source,
    observedAt: observedAt.toISOString(),
  });
  return { ok: true, record };
}

/** What every provider needs from its options, checked once at construction. */
export interface ProviderSetup {
  apiKey: string;
  endpoint: URL;
  fetch: FetchLike;
  timeoutMs: number;
  now: () => Date;
}

/**
 * Checks a provider's options: a non-blank key and an http(s) base URL, joined with the
 * endpoint's path. Throws a TypeError naming the provider (`label`) on a bad option.
 */
export function providerSetup(
  label: string,
  options: {
    apiKey: string;
    baseUrl?: string;
    fetch?: FetchLike;
    timeoutMs?: number;
    now?: () => Date;
  },
  defaultBase: string,
  path: string,
): ProviderSetup {
  const apiKey = typeof options.apiKey === 'string' ? options.apiKey.trim() : '';
  if (apiKey === '') throw new TypeError(`${label}: apiKey is required`);
  const base = (options.baseUrl ?? defaultBase).replace(/\/+$/, '');
  let endpoint: URL;
  try {
    endpoint = new URL(`${base}${path}`);
  } catch {
    throw new TypeError(`${label}: baseUrl is not a URL`);
  }
  if (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:')
    throw new TypeError(`${label}: baseUrl must be http(s)`);
  return {
    apiKey,
    endpoint,
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    timeoutMs: options.timeoutMs ?? PROVIDER_TIMEOUT_MS,
    now: options.now ?? (() => new Date()),
  };
}
