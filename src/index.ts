/** Worker entry: one app per isolate, so the policy and table caches live as long as it does. */
import { createApp } from './app';

const { app } = createApp();

export default app;
