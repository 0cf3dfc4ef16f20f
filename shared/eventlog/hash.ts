import { hash } from 'node:crypto';
import type { EventsTable } from './tables.js';

export const GENESIS_HASH = '0'.repeat(64);

/** The columns a hash covers, exactly as stored (data is the stored JSON text). */
export type HashedRow = Omit<EventsTable, 'hash'>;

/** sha256(previous hash, newline, canonical JSON array of the row): a tamper-evident chain. */
export function rowHash(previous: string, r: HashedRow): string {
  const canonical = JSON.stringify([r.seq, r.id, r.ts, r.node, r.source, r.type, r.subject, r.data, r.causation, r.correlation]);
  return hash('sha256', `${previous}\n${canonical}`, 'hex');
}
