/**
 * Which addresses a run looks up: one per client (IPv6 grouped by /64), never a non-public
 * address (it would leak internal topology to a third party and spend quota on an answer that
 * cannot exist), never one the output file already answers (so an interrupted run resumes where
 * it stopped), and — through `dropKnown` — never one the current table already has a record for.
 * The order of first appearance is kept: the decision log lists the busiest clients first, so a
 * budget spends itself on them.
 */
import { publicAddressProblem } from '../../src/providers/types';
import { type Client, toClient } from './input';

export interface Sourced {
  /** The address as written. */
  text: string;
  /** Where it was found, for messages: `ips.txt line 3`, `decision log`. */
  origin: string;
}

export interface Candidate extends Client {
  origin: string;
}

export interface Selection {
  candidates: Candidate[];
  /** Addresses of a client seen earlier in the input. */
  duplicates: number;
  nonPublic: { key: string; origin: string; reason: string }[];
  /** Clients the output file already holds. */
  done: string[];
  /** Inputs that are not one client (should not happen: inputs are checked when parsed). */
  invalid: { text: string; origin: string; error: string }[];
}

export function selectCandidates(
  inputs: Iterable<Sourced>,
  doneKeys: ReadonlySet<string>,
): Selection {
  const out: Selection = { candidates: [], duplicates: 0, nonPublic: [], done: [], invalid: [] };
  const seen = new Set<string>();
  for (const input of inputs) {
    const r = toClient(input.text);
    if (!r.ok) {
      out.invalid.push({ text: input.text, origin: input.origin, error: r.error });
      continue;
    }
    const { ip, key } = r.client;
    if (seen.has(key)) {
      out.duplicates += 1;
      continue;
    }
    seen.add(key);
    const problem = publicAddressProblem(ip);
    if (problem) out.nonPublic.push({ key, origin: input.origin, reason: problem });
    else if (doneKeys.has(key)) out.done.push(key);
    else out.candidates.push({ ip, key, origin: input.origin });
  }
  return out;
}

/** The candidates `isKnown` does not know, in order, and those it does. */
export async function dropKnown(
  candidates: Candidate[],
  isKnown: (c: Candidate) => Promise<boolean>,
): Promise<{ unknown: Candidate[]; known: string[] }> {
  const unknown: Candidate[] = [];
  const known: string[] = [];
  for (const c of candidates) {
    if (await isKnown(c)) known.push(c.key);
    else unknown.push(c);
  }
  return { unknown, known };
}
