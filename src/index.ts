/**
 * Worker entry: one app per isolate, so the policy and table caches live as long as it does,
 * and the live-lookup broker Durable Object class.
 */
import { createApp } from './app';

const { app } = createApp();

export default app;
export { ReputationBroker } from './reputation/broker';
