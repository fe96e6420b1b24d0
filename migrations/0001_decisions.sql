-- Decision events (src/sink/event.ts), one row per request that reached the gate, written in
-- batches by the D1 sink (src/sink/d1.ts) and read by the report (src/report/d1.ts).
-- Applied with `npx wrangler d1 migrations apply DECISIONS_DB --local|--remote`.
CREATE TABLE decisions (
  id INTEGER PRIMARY KEY,
  -- Epoch milliseconds.
  time INTEGER NOT NULL,
  -- Reference id shown to a blocked client.
  ref TEXT NOT NULL,
  -- Client key: IPv4 address or IPv6 /64 ('2001:db8::/64'); '' when the client IP was invalid.
  ip TEXT NOT NULL,
  host TEXT NOT NULL,
  method TEXT NOT NULL,
  -- Path as sent, at most 512 characters.
  path TEXT NOT NULL,
  route_class TEXT NOT NULL,
  -- allow | block | challenge: what the policy decided.
  action TEXT NOT NULL,
  -- 1 when a block or challenge was recorded but not enforced (monitor mode).
  monitor_only INTEGER NOT NULL,
  reason TEXT NOT NULL,
  rule TEXT NOT NULL,
  lookup TEXT NOT NULL,
  -- safe | low | moderate | dangerous | critical | unknown, and its rank 0 (unknown) … 5.
  score TEXT NOT NULL,
  score_rank INTEGER NOT NULL,
  -- Pipes on both sides, as in Analytics Engine: '|hosting|vpn|', '' when none. A category
  -- filter is exact with instr(categories, '|vpn|') > 0.
  categories TEXT NOT NULL,
  country TEXT NOT NULL,
  asn INTEGER NOT NULL,
  org TEXT NOT NULL,
  source TEXT NOT NULL,
  latency_ms REAL NOT NULL,
  policy_version TEXT NOT NULL,
  table_generation TEXT NOT NULL,
  detail TEXT NOT NULL
);

-- Every report reads a time window; retention deletes by time.
CREATE INDEX decisions_time ON decisions (time);
-- One client's decisions (drill-down).
CREATE INDEX decisions_ip_time ON decisions (ip, time);
-- Recent blocks and an action filter.
CREATE INDEX decisions_action_time ON decisions (action, time);
-- A blocked client's reference id.
CREATE INDEX decisions_ref ON decisions (ref);
