/**
 * The contract every feed adapter keeps: `(text, mapping) => FeedResult`.
 *
 * An adapter never throws on bad input. A document it cannot read at all is one problem with
 * neither `line` nor `path`; a bad line or item is one problem that says where (`line`, 1-based,
 * for line-oriented formats; `path`, such as `prefixes[12].ip_prefix`, for JSON documents) and
 * is skipped while the rest still loads. What is reserved or bogon is not an adapter's business:
 * the build step filters that for every feed alike.
 *
 * The mapping is the feeds config's word about a feed. `source` goes into every record. List
 * feeds (bare addresses) take their whole meaning from `score` and `categories`, so a list
 * mapping with neither is a usage error. Feeds that carry their own facts (Criminal IP, C2,
 * cloud ranges) add the mapping's categories to each record, and use its score, org and country
 * only where the data has none.
 */
import type { Score } from '../../src/reputation/record';
import type { TableEntry } from '../../src/table/build';

export interface FeedProblem {
  /** 1-based line, for line-oriented formats (CSV, lists, JSON Lines). */
  line?: number;
  /** JSON path of the bad item, e.g. `prefixes[12].ip_prefix`. */
  path?: string;
  message: string;
}

export interface FeedResult {
  entries: TableEntry[];
  problems: FeedProblem[];
}

export interface FeedMapping {
  /** Names the feed in every record's `source`. */
  source: string;
  score?: Score;
  categories?: string[];
  org?: string;
  country?: string;
}

export type FeedParser = (text: string, mapping: FeedMapping) => FeedResult;
