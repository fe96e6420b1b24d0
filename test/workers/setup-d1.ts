/**
 * Applies migrations/ to the DECISIONS_DB binding before each test file, as
 * `wrangler d1 migrations apply` does for a real database (idempotent: applied migrations are
 * recorded in d1_migrations).
 */
import { applyD1Migrations, type D1Migration, env } from 'cloudflare:test';

const bindings = env as unknown as { DECISIONS_DB: D1Database; TEST_MIGRATIONS: D1Migration[] };

await applyD1Migrations(bindings.DECISIONS_DB, bindings.TEST_MIGRATIONS);
