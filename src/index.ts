/**
 * Worker entry: one app per isolate, so the policy and table caches live as long as it does;
 * the cron trigger's retention cleanup (src/sink/retention.ts); and the live-lookup broker
 * Durable Object class.
 */
import { createApp } from './app';
import type { Env } from './env';
import { scheduled } from './sink/retention';

const { app } = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  scheduled,
} satisfies ExportedHandler<Env>;
export { ReputationBroker } from './reputation/broker';
