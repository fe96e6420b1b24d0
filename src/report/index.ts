/**
 * The report: one module, two stores (src/report/types.ts is the contract). The Worker gets
 * its store from `decisionStoreFor(env)`; the CLI builds one with `d1Store` (local D1 through
 * wrangler) or `analyticsEngineStore` (the SQL API).
 */
export { AeSqlError, type AeSqlOptions, type FetchLike, queryAnalyticsEngine } from './ae-sql';
export { type AnalyticsEngineStoreOptions, analyticsEngineStore } from './analytics-engine';
export { type D1Reader, d1Store, inlineParams, type SqlStatement } from './d1';
export { d1Reader } from './d1-binding';
export { buildReport } from './fold';
export {
  parseDuration,
  parseWhen,
  REPORT_ACTIONS,
  ReportQueryError,
  type ResolvedQuery,
  resolveQuery,
} from './query';
export { type DecisionStoreOptions, decisionStoreFor } from './store';
export type * from './types';
