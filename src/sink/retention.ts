/**
 * Retention of decision events in D1: the cron trigger (wrangler.toml `[triggers]`) runs
 * `scheduled`, which deletes rows older than DECISIONS_RETENTION_DAYS. Deletes go by id in
 * slices of DECISIONS_CLEANUP_BATCH rows through the time index, so no statement runs long; a
 * backlog larger than one run's rounds is finished by the next run. Analytics Engine keeps its
 * own three months and needs nothing.
 */
import {
  DECISIONS_CLEANUP_BATCH,
  DECISIONS_CLEANUP_MAX_ROUNDS,
  DECISIONS_RETENTION_DAYS_DEFAULT,
  DECISIONS_RETENTION_MAX_DAYS,
} from '../constants';
import type { Env } from '../env';

const DAY_MS = 86_400_000;

/** DECISIONS_RETENTION_DAYS as a whole number of days, or the default when unset or invalid. */
export function retentionDays(value: string | undefined): number {
  const text = value?.trim() ?? '';
  const days = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  return days >= 1 && days <= DECISIONS_RETENTION_MAX_DAYS
    ? days
    : DECISIONS_RETENTION_DAYS_DEFAULT;
}

export interface CleanupResult {
  cutoff: number;
  deleted: number;
  /** False when the round limit stopped the run with rows left to delete. */
  complete: boolean;
}

/** Deletes decisions with `time < cutoff` (epoch ms). */
export async function deleteDecisionsBefore(
  db: D1Database,
  cutoff: number,
  batch = DECISIONS_CLEANUP_BATCH,
  maxRounds = DECISIONS_CLEANUP_MAX_ROUNDS,
): Promise<CleanupResult> {
  const statement = db.prepare(
    'DELETE FROM decisions WHERE id IN (SELECT id FROM decisions WHERE time < ?1 LIMIT ?2)',
  );
  let deleted = 0;
  for (let round = 0; round < maxRounds; round++) {
    const result = await statement.bind(cutoff, batch).run();
    const changes = Number(result.meta.changes ?? 0);
    deleted += changes;
    if (changes < batch) return { cutoff, deleted, complete: true };
  }
  return { cutoff, deleted, complete: false };
}

/** The retention run for `now` (epoch ms); nothing to do without DECISIONS_DB. */
export async function cleanupDecisions(env: Env, now: number): Promise<CleanupResult | null> {
  if (!env.DECISIONS_DB) return null;
  const cutoff = now - retentionDays(env.DECISIONS_RETENTION_DAYS) * DAY_MS;
  return deleteDecisionsBefore(env.DECISIONS_DB, cutoff);
}

/** The Worker's `scheduled` handler (cron trigger). */
export async function scheduled(
  controller: Pick<ScheduledController, 'scheduledTime'>,
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'>,
): Promise<void> {
  const run = cleanupDecisions(env, controller.scheduledTime).then(
    (r) => {
      if (r && r.deleted > 0)
        console.log(
          `ipgate: retention deleted ${r.deleted} decision(s) before ${new Date(r.cutoff).toISOString()}${r.complete ? '' : ' (more left for the next run)'}`,
        );
    },
    (e) => console.error(`ipgate: retention cleanup failed: ${e instanceof Error ? e.message : e}`),
  );
  ctx.waitUntil(run);
  await run;
}
