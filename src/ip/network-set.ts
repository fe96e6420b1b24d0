/**
 * A set of networks (the policy's allow and deny IPs/CIDRs) answering "which entry contains
 * this client?". It is a small reputation table: built with the table builder (so the most
 * specific entry wins) and searched with the same binary search, compiled once per policy.
 */
import { normalizeRecord } from '../reputation/record';
import { buildTable } from '../table/build';
import { decodeChunk, encodeTable } from '../table/codec';
import type { TableChunk } from '../table/lookup';
import type { Network } from './network';
import type { IpAddress } from './parse';

export class NetworkSet {
  private readonly v4: TableChunk | null;
  private readonly v6: TableChunk | null;
  readonly size: number;

  constructor(entries: { network: Network; label: string }[]) {
    this.size = entries.length;
    const built = buildTable(
      entries.map((e) => ({
        network: e.network,
        record: normalizeRecord({ score: 'unknown', categories: [], source: e.label }),
      })),
      (a) => a,
    );
    let v4: TableChunk | null = null;
    let v6: TableChunk | null = null;
    for (const chunk of encodeTable(built, { maxIntervals: Number.MAX_SAFE_INTEGER })) {
      const decoded = decodeChunk(chunk.bytes, chunk);
      if (!decoded.ok) throw new Error(`network list could not be compiled: ${decoded.error}`);
      if (chunk.family === 4) v4 = decoded.chunk;
      else v6 = decoded.chunk;
    }
    this.v4 = v4;
    this.v6 = v6;
  }

  /** The entry (as written in the policy) that contains the address, or null. */
  lookup(ip: IpAddress): string | null {
    if (this.size === 0) return null;
    const record = ip.family === 4 ? this.v4?.lookupV4(ip.v4) : this.v6?.lookupV6(ip.hi, ip.lo);
    return record?.source ?? null;
  }
}
