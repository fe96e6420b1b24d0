/**
 * Which sink a request's events go to, from the bindings: Analytics Engine when `DECISIONS` is
 * bound, D1 when `DECISIONS_DB` is bound, both when both are (each event to each), none when
 * neither. The D1 sink buffers per isolate, so there is one per database binding.
 */
import type { Env } from '../env';
import { analyticsEngineSink } from './analytics-engine';
import { d1Sink } from './d1';
import { type DecisionSink, nullSink } from './event';

const d1Sinks = new WeakMap<D1Database, DecisionSink>();

function d1SinkFor(db: D1Database): DecisionSink {
  let sink = d1Sinks.get(db);
  if (!sink) {
    sink = d1Sink(db);
    d1Sinks.set(db, sink);
  }
  return sink;
}

/** Writes each event to every sink; one sink's failure does not keep it from the others. */
export function teeSink(sinks: DecisionSink[]): DecisionSink {
  return {
    name: sinks.map((s) => s.name).join('+'),
    write(event) {
      const pending: Promise<void>[] = [];
      for (const sink of sinks) {
        try {
          const result = sink.write(event);
          if (result) pending.push(result.catch(() => {}));
        } catch {
          // a sink failure never reaches the request
        }
      }
      return pending.length ? Promise.all(pending).then(() => {}) : undefined;
    },
  };
}

/** The last choice, reused while the bindings are the same objects (every request, usually). */
let chosen: { ae: unknown; db: unknown; sink: DecisionSink } | null = null;

export function sinkForBindings(env: Pick<Env, 'DECISIONS' | 'DECISIONS_DB'>): DecisionSink {
  if (chosen && chosen.ae === env.DECISIONS && chosen.db === env.DECISIONS_DB) return chosen.sink;
  const sinks: DecisionSink[] = [];
  if (env.DECISIONS) sinks.push(analyticsEngineSink(env.DECISIONS));
  if (env.DECISIONS_DB) sinks.push(d1SinkFor(env.DECISIONS_DB));
  const sink =
    sinks.length === 0
      ? nullSink
      : sinks.length === 1
        ? (sinks[0] as DecisionSink)
        : teeSink(sinks);
  chosen = { ae: env.DECISIONS, db: env.DECISIONS_DB, sink };
  return sink;
}
