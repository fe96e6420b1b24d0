/**
 * The addresses `ipgate enrich` is asked about, from a file, and the single client they stand
 * for. Pure: text in, addresses and numbered problems out.
 *
 * A file is recognised by its first line that is neither blank nor a `#` comment:
 *
 * - `{` → JSON Lines, such as an export of decision events (`src/sink/event.ts`): one object per
 *   line, the address in its `ip` field (an IPv4 address or an IPv6 /64 client key).
 * - a comma → an ipgate CSV (`network,score,…`, header optional): the `network` column.
 * - anything else → a plain list, one address per line; `#` starts a comment anywhere.
 *
 * Only single clients are looked up: an IPv4 address (or /32), an IPv6 address or any prefix of
 * /64 or longer (IPv6 clients are keyed by their /64, so one lookup answers for the /64). A
 * wider network is not one client; it is reported and skipped, as is every line that is not an
 * address, each with its line number.
 */
import { parseNetwork } from '../../src/ip/network';
import { clientKey, type IpAddress, parseIp } from '../../src/ip/parse';
import { isObject, parseCsvLine, show, splitLines } from '../feeds/common';

export type InputFormat = 'ip-list' | 'ipgate-csv' | 'json-lines';

export interface InputAddress {
  /** The address as written. */
  text: string;
  line: number;
}

export interface InputProblem {
  line: number;
  message: string;
}

export interface ParsedInput {
  format: InputFormat;
  addresses: InputAddress[];
  problems: InputProblem[];
  /** Networks wider than one client, skipped. */
  networks: InputAddress[];
}

/** One client: the address sent to a provider and the key the table stores it under. */
export interface Client {
  ip: IpAddress;
  /** The IPv4 address, or the IPv6 /64 (`2001:db8:bad::/64`). */
  key: string;
}

export type ClientResult =
  | { ok: true; client: Client }
  /** A valid network that spans more than one client. */
  | { ok: false; network: true; error: string }
  | { ok: false; network: false; error: string };

/**
 * The client an address, a /32 or an IPv6 prefix of /64 or longer stands for. A /64 key given
 * without a host part is looked up at its first address.
 */
export function toClient(text: string): ClientResult {
  const t = text.trim();
  const direct = parseIp(t);
  if (direct) return { ok: true, client: { ip: direct, key: clientKey(direct) } };
  const net = parseNetwork(t);
  if (!net.ok) return { ok: false, network: false, error: net.error };
  const single = net.network.family === 4 ? net.network.prefix === 32 : net.network.prefix >= 64;
  const ip = single ? parseIp(t.slice(0, t.indexOf('/'))) : null;
  if (!ip)
    return {
      ok: false,
      network: true,
      error: `${t} is a network, not one client (only single addresses${net.network.family === 6 ? ' or IPv6 /64s' : ''} are looked up)`,
    };
  return { ok: true, client: { ip, key: clientKey(ip) } };
}

/** How the file's first meaningful line says it is written. */
export function detectFormat(text: string): InputFormat | { error: string } {
  for (const raw of splitLines(text)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('['))
      return {
        error:
          'a JSON array is not read: export the decision log as JSON Lines (one object per line)',
      };
    if (line.startsWith('{')) return 'json-lines';
    return line.includes(',') ? 'ipgate-csv' : 'ip-list';
  }
  return 'ip-list';
}

export function parseInput(text: string): ParsedInput | { error: string } {
  const format = detectFormat(text);
  if (typeof format !== 'string') return format;
  const out: ParsedInput = { format, addresses: [], problems: [], networks: [] };
  let networkColumn = 0;
  let first = true;
  splitLines(text).forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const header = first;
    first = false;
    let address: string;
    if (format === 'json-lines') {
      const got = jsonLineAddress(trimmed);
      if (typeof got !== 'string') {
        out.problems.push({ line, message: got.error });
        return;
      }
      address = got;
    } else if (format === 'ipgate-csv') {
      const cells = parseCsvLine(raw);
      if (typeof cells === 'string') {
        out.problems.push({ line, message: cells });
        return;
      }
      const names = cells.map((c) => c.trim().toLowerCase());
      if (header && names.includes('network')) {
        networkColumn = names.indexOf('network');
        return;
      }
      address = cells[networkColumn]?.trim() ?? '';
      if (address === '') {
        out.problems.push({ line, message: 'network: empty' });
        return;
      }
    } else {
      address = trimmed.replace(/#.*$/, '').trim();
      if (/\s/.test(address)) {
        out.problems.push({
          line,
          message: `expected one address per line, got ${show(address)}`,
        });
        return;
      }
    }
    const client = toClient(address);
    if (client.ok) out.addresses.push({ text: address, line });
    else if (client.network) out.networks.push({ text: address, line });
    else
      out.problems.push({
        line,
        message: `${format === 'ipgate-csv' ? 'network: ' : ''}${client.error}`,
      });
  });
  return out;
}

function jsonLineAddress(line: string): string | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return { error: `not JSON: ${e instanceof Error ? e.message : 'unreadable'}` };
  }
  if (!isObject(value)) return { error: `expected an object, got ${show(value)}` };
  if (!('ip' in value)) return { error: 'no "ip" field' };
  if (typeof value.ip !== 'string')
    return { error: `ip: expected a string, got ${show(value.ip)}` };
  if (value.ip === '') return { error: 'ip: empty (the event had no valid client IP)' };
  return value.ip;
}
