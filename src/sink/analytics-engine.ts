/**
 * Workers Analytics Engine sink: writeDataPoint is non-blocking, so events are written on the
 * response path at no latency cost. The layout (documented in docs/analytics.md) is fixed by
 * position; a query counts rows with `SUM(_sample_interval)` because Analytics Engine samples.
 *
 * index1: client key (IP or /64), so sampling keeps or drops whole clients.
 */
import { AE_MAX_BLOB_BYTES, AE_MAX_INDEX_BYTES, EVENT_SCHEMA_VERSION } from '../constants';
import { isDirty, scoreRank } from '../reputation/record';
import type { DecisionEvent, DecisionSink } from './event';
import { AE_BLOBS, AE_DOUBLES } from './layout';

export { AE_BLOBS, AE_DOUBLES } from './layout';

const encoder = new TextEncoder();

/** Cuts the longest blobs until the total fits Analytics Engine's per-point limit. */
function fitBlobs(blobs: string[]): string[] {
  // A UTF-16 unit is at most 3 UTF-8 bytes: most events fit without encoding anything.
  if (blobs.reduce((n, b) => n + b.length, 0) * 3 <= AE_MAX_BLOB_BYTES) return blobs;
  const out = [...blobs];
  let total = out.reduce((n, b) => n + encoder.encode(b).length, 0);
  while (total > AE_MAX_BLOB_BYTES) {
    let longest = 0;
    for (let i = 1; i < out.length; i++) {
      if ((out[i]?.length ?? 0) > (out[longest]?.length ?? 0)) longest = i;
    }
    const b = out[longest] ?? '';
    const cut = b.slice(0, Math.floor(b.length / 2));
    total -= encoder.encode(b).length - encoder.encode(cut).length;
    out[longest] = cut;
  }
  return out;
}

/** The data point for one event, exactly as written. */
export function toDataPoint(e: DecisionEvent): AnalyticsEngineDataPoint {
  const fields: Record<(typeof AE_BLOBS)[number], string> = {
    ...e,
    action: e.action,
    // Pipes on both sides let SQL match one category with LIKE '%|vpn|%'.
    categories: e.categories.length ? `|${e.categories.join('|')}|` : '',
  };
  const doubles: Record<(typeof AE_DOUBLES)[number], number> = {
    latencyMs: e.latencyMs,
    asn: e.asn,
    monitorOnly: e.monitorOnly ? 1 : 0,
    scoreRank: scoreRank(e.score),
    dirty: isDirty(e.score) ? 1 : 0,
    schemaVersion: EVENT_SCHEMA_VERSION,
  };
  const index = e.ip.slice(0, AE_MAX_INDEX_BYTES);
  return {
    indexes: [index],
    blobs: fitBlobs(AE_BLOBS.map((k) => fields[k])),
    doubles: AE_DOUBLES.map((k) => doubles[k]),
  };
}

export function analyticsEngineSink(dataset: AnalyticsEngineDataset): DecisionSink {
  return {
    name: 'analytics-engine',
    write(event) {
      dataset.writeDataPoint(toDataPoint(event));
    },
  };
}
