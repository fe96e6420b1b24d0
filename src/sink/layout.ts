/**
 * The Analytics Engine column layout of decision events, by position (docs/analytics.md): the
 * sink writes it and every query reads it — the CLI's too (`ipgate enrich --from-log`), which
 * is why it lives apart from the sink, free of Workers types.
 */

/** Blob positions (1-based in SQL: blob1 … blob18). */
export const AE_BLOBS = [
  'action',
  'reason',
  'routeClass',
  'rule',
  'method',
  'path',
  'ip',
  'score',
  'categories',
  'country',
  'org',
  'source',
  'lookup',
  'ref',
  'host',
  'policyVersion',
  'tableGeneration',
  'detail',
] as const;

/** Double positions (1-based in SQL: double1 … double6). */
export const AE_DOUBLES = [
  'latencyMs',
  'asn',
  'monitorOnly',
  'scoreRank',
  'dirty',
  'schemaVersion',
] as const;
