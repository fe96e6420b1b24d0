/**
 * Where a replay may go. A replay is a flood with forged `CF-Connecting-IP` headers: aimed at
 * someone else's server it is an attack, and aimed at a real Cloudflare zone it proves nothing
 * (Cloudflare overwrites the header with the true client address). So the target must be this
 * machine — the host resolves only to loopback addresses (127.0.0.0/8, ::1, IPv4-mapped
 * 127.x) — unless the operator says `--allow-remote`. The name is resolved rather than
 * matched, so `localhost` and /etc/hosts aliases work and a name that points elsewhere does not.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { CliError } from '../errors';

export function isLoopback(address: string): boolean {
  try {
    const a = ipaddr.process(address);
    return a.range() === 'loopback';
  } catch {
    return false;
  }
}

/** The target URL checked for shape: http(s), no credentials. */
export function parseTarget(target: string): URL {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new CliError(
      `--target ${JSON.stringify(target)} is not a URL`,
      'give the base URL of the Worker, e.g. --target http://localhost:8787',
      2,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError(
      `--target must be an http:// or https:// URL, not ${url.protocol}`,
      undefined,
      2,
    );
  if (url.username || url.password)
    throw new CliError('--target must not carry a user name or password', undefined, 2);
  return url;
}

/**
 * Throws unless `url`'s host is loopback (or `allowRemote`); returns the addresses it resolved
 * to. `resolve` is injectable for tests.
 */
export async function checkLocalTarget(
  url: URL,
  allowRemote: boolean,
  resolve: (host: string) => Promise<string[]> = async (host) =>
    (await lookup(host, { all: true })).map((a) => a.address),
): Promise<string[]> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = await resolve(host);
    } catch (e) {
      if (allowRemote) return [];
      const code = e && typeof e === 'object' && 'code' in e ? ` (${String(e.code)})` : '';
      throw new CliError(
        `cannot resolve ${host}${code}, so cannot tell whether it is this machine`,
        'replay targets a local "npm start": use --target http://localhost:8787',
      );
    }
  }
  if (allowRemote) return addresses;
  const outside = addresses.filter((a) => !isLoopback(a));
  if (outside.length > 0 || addresses.length === 0)
    throw new CliError(
      `refusing to replay against ${host}${host === outside[0] ? '' : ` (${outside.join(', ')})`}: not a loopback address`,
      'replay floods its target with forged CF-Connecting-IP headers and is meant for a local "npm start" ' +
        '(http://localhost:8787). Against a server you own elsewhere, add --allow-remote; behind ' +
        "Cloudflare the header is replaced with the real client's address, so a remote replay does not test ipgate's decisions",
    );
  return addresses;
}
