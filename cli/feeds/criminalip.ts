/**
 * Saved Criminal IP API responses as a feed: one response body, a JSON array of bodies, or JSON
 * Lines (one body per line, as `jq -c` and most collectors write them). Each body is read by
 * `parseCriminalIpResponse`, which knows both shapes (`GET /v1/asset/ip/report` and
 * `GET /v2/feature/ip/suspicious-info`, see `src/providers/criminalip/parse.ts`); its IP becomes
 * a single-address entry, its source the mapping's.
 *
 *   {"status":200,"ip":"203.0.113.7","score":{"inbound":"Critical","outbound":"Critical"},
 *    "issues":{"is_tor":true,…},"whois":{"data":[{"as_no":64500,…}]},"port":{"data":[…]}}
 *
 * The whole text is read as one JSON document first. If that fails and the first non-blank line
 * is a JSON object on its own, the text is JSON Lines: each line is read alone, so a broken line
 * costs only itself and problems carry line numbers. Anything else is one problem for the whole
 * document. Inside an array, problems carry the item's path (`[3].score.inbound`). A saved error
 * body (status not 200, such as "limit exceeded") is a problem too: that lookup has no answer.
 */
import { parseNetwork } from '../../src/ip/network';
import { parseCriminalIpResponse } from '../../src/providers/criminalip/parse';
import type { TableEntry } from '../../src/table/build';
import {
  checkMapping,
  isObject,
  joinPath,
  parseJson,
  show,
  splitLines,
  withMapping,
} from './common';
import type { FeedMapping, FeedProblem, FeedResult } from './types';

interface Where {
  line?: number;
  path: string;
}

function problemAt(where: Where, field: string | undefined, message: string): FeedProblem {
  const p: FeedProblem = { message };
  if (where.line !== undefined) p.line = where.line;
  const path = joinPath(where.path, field);
  if (path) p.path = path;
  return p;
}

export function parseCriminalIpJson(text: string, mapping: FeedMapping): FeedResult {
  const problems = checkMapping(mapping, 'data');
  if (problems.length > 0) return { entries: [], problems };
  const entries: TableEntry[] = [];

  const add = (body: unknown, where: Where): void => {
    const r = parseCriminalIpResponse(body);
    if (!r.ok) {
      problems.push(problemAt(where, r.path, r.error));
      return;
    }
    const net = parseNetwork(r.ip);
    if (!net.ok) {
      problems.push(problemAt(where, 'ip', net.error));
      return;
    }
    entries.push({ network: net.network, record: withMapping(r.record, mapping) });
  };

  const doc = parseJson(text);
  if (doc.ok) {
    if (Array.isArray(doc.value)) {
      for (const [i, body] of doc.value.entries()) add(body, { path: `[${i}]` });
    } else if (isObject(doc.value)) add(doc.value, { path: '' });
    else
      problems.push({
        message: `expected a response object, an array of them or JSON Lines, got ${show(doc.value)}`,
      });
  } else {
    const lines = splitLines(text);
    const first = lines.find((l) => l.trim() !== '');
    const firstJson = first === undefined ? undefined : parseJson(first);
    if (first === undefined) problems.push({ message: 'the feed is empty' });
    else if (!firstJson?.ok || !isObject(firstJson.value))
      problems.push({ message: `not JSON or JSON Lines: ${doc.error}` });
    else
      lines.forEach((raw, i) => {
        if (raw.trim() === '') return;
        const line = parseJson(raw);
        if (line.ok) add(line.value, { line: i + 1, path: '' });
        else problems.push({ line: i + 1, message: `not valid JSON: ${line.error}` });
      });
  }
  if (entries.length === 0 && problems.length === 0)
    problems.push({ message: 'the feed has no entries' });
  return { entries, problems };
}
