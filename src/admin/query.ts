/**
 * The report's window and filters from a request's query string, shared by the JSON API and the
 * dashboard pages. The values are read here (names, empty form fields, Unix milliseconds) and
 * checked by the report's own query rules (src/report/query.ts), the same the CLI and the
 * stores apply; a bad value comes back as a message.
 *
 * Times: `now`, a duration back from now (`30m`, `24h`, `7d`), ISO 8601, or Unix milliseconds.
 */
import { REPORT_DEFAULT_SINCE } from '../constants';
import {
  parseDuration,
  parseWhen,
  REPORT_ACTIONS,
  ReportQueryError,
  resolveQuery,
} from '../report/query';
import type { ReportFilters, ReportQuery } from '../report/types';

export type Parsed<T> = { ok: true; value: T } | { ok: false; detail: string };

export { REPORT_ACTIONS };

function param(params: URLSearchParams, name: string): string | undefined {
  const v = params.get(name)?.trim();
  return v ? v : undefined;
}

function time(text: string, now: number): number | null {
  return /^\d{10,15}$/.test(text) ? Number(text) : parseWhen(text, now);
}

/** The window (default: the last REPORT_DEFAULT_SINCE) and filters, checked. */
export function parseReportQuery(params: URLSearchParams, now: number): Parsed<ReportQuery> {
  const sinceText = param(params, 'since') ?? REPORT_DEFAULT_SINCE;
  const since = time(sinceText, now);
  if (since === null)
    return bad(
      `since: "${sinceText}" is not a time (ISO 8601, Unix ms, or a duration such as 24h)`,
    );
  const untilText = param(params, 'until');
  const until = untilText === undefined ? now : time(untilText, now);
  if (until === null)
    return bad(`until: "${untilText}" is not a time (ISO 8601, Unix ms, or a duration such as 1h)`);
  const actionText = param(params, 'action');
  const action = REPORT_ACTIONS.find((a) => a === actionText);
  if (actionText !== undefined && action === undefined)
    return bad(`action: "${actionText}" is not one of ${REPORT_ACTIONS.join(', ')}`);
  const filters: ReportFilters = {
    routeClass: param(params, 'routeClass'),
    action,
    country: param(params, 'country'),
    category: param(params, 'category'),
  };
  const bucketText = param(params, 'bucket');
  let bucketMs: number | undefined;
  if (bucketText !== undefined) {
    const ms = parseDuration(bucketText);
    if (ms === null) return bad(`bucket: "${bucketText}" is not a duration such as 1h`);
    bucketMs = ms;
  }
  try {
    const r = resolveQuery({ since, until, filters, bucketMs });
    return {
      ok: true,
      value: { since: r.since, until: r.until, bucketMs: r.bucketMs, filters: r.filters },
    };
  } catch (e) {
    if (e instanceof ReportQueryError) return bad(e.message);
    throw e;
  }
}

/** `limit` as an integer from 1 to `max`, `fallback` when absent. */
export function parseLimit(params: URLSearchParams, fallback: number, max: number): Parsed<number> {
  const text = param(params, 'limit');
  if (text === undefined) return { ok: true, value: fallback };
  if (!/^\d{1,6}$/.test(text) || Number(text) < 1 || Number(text) > max)
    return bad(`limit: expected an integer from 1 to ${max}`);
  return { ok: true, value: Number(text) };
}

function bad(detail: string): { ok: false; detail: string } {
  return { ok: false, detail };
}
