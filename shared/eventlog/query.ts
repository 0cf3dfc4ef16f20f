// Filters for reading the log, compiled by kysely to SQL that better-sqlite3 runs
// synchronously (kysely's own SQLite driver is async and only begins deferred
// transactions; we only use it as a typed query builder).
import { Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, DummyDriver, type SelectQueryBuilder } from 'kysely';
import type { EventsTable, LogTables } from './tables.js';

export interface EventFilter {
  /** Only events with seq > afterSeq. */
  afterSeq?: number;
  fromSeq?: number;
  toSeq?: number;
  /** Unix ms, inclusive. */
  since?: number;
  /** Unix ms, inclusive. */
  until?: number;
  node?: string;
  /** Exact types, or prefixes ending in ".*" (e.g. "vrrp.*"). */
  types?: string[];
  /** Exact subject, or a prefix ending in "*" (e.g. "rs:web/*"). */
  subject?: string;
  correlation?: string;
  /** Maximum number of rows. With newest: the newest ones (still returned oldest first). */
  limit?: number;
  newest?: boolean;
}

export const queryBuilder = new Kysely<LogTables>({
  dialect: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  },
});

/** Upper bound of a string prefix range: every string starting with p is >= p and < this. */
function prefixEnd(p: string): string {
  return p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1);
}

type EventsQuery = SelectQueryBuilder<LogTables, 'events', EventsTable>;

export function compileEventQuery(f: EventFilter): { sql: string; parameters: readonly unknown[] } {
  let q: EventsQuery = queryBuilder.selectFrom('events').selectAll();
  if (f.afterSeq !== undefined) q = q.where('seq', '>', f.afterSeq);
  if (f.fromSeq !== undefined) q = q.where('seq', '>=', f.fromSeq);
  if (f.toSeq !== undefined) q = q.where('seq', '<=', f.toSeq);
  if (f.since !== undefined) q = q.where('ts', '>=', f.since);
  if (f.until !== undefined) q = q.where('ts', '<=', f.until);
  if (f.node !== undefined) q = q.where('node', '=', f.node);
  if (f.correlation !== undefined) q = q.where('correlation', '=', f.correlation);
  if (f.subject !== undefined) {
    const s = f.subject;
    if (s.endsWith('*') && s.length > 1) {
      const p = s.slice(0, -1);
      q = q.where('subject', '>=', p).where('subject', '<', prefixEnd(p));
    } else {
      q = q.where('subject', '=', s);
    }
  }
  if (f.types && f.types.length > 0) {
    const types = f.types;
    q = q.where((eb) =>
      eb.or(
        types.map((t) => {
          if (t.endsWith('.*')) {
            const p = t.slice(0, -1);
            return eb.and([eb('type', '>=', p), eb('type', '<', prefixEnd(p))]);
          }
          return eb('type', '=', t);
        }),
      ),
    );
  }
  q = q.orderBy('seq', f.newest ? 'desc' : 'asc');
  if (f.limit !== undefined && f.limit > 0) q = q.limit(f.limit);
  const c = q.compile();
  return { sql: c.sql, parameters: c.parameters };
}

/** The same filter, applied to an event in memory (for --follow). Ignores limit and newest. */
export function eventMatches(f: EventFilter, e: { seq: number; ts: number; node: string; type: string; subject: string; correlation: string | null }): boolean {
  if (f.afterSeq !== undefined && !(e.seq > f.afterSeq)) return false;
  if (f.fromSeq !== undefined && e.seq < f.fromSeq) return false;
  if (f.toSeq !== undefined && e.seq > f.toSeq) return false;
  if (f.since !== undefined && e.ts < f.since) return false;
  if (f.until !== undefined && e.ts > f.until) return false;
  if (f.node !== undefined && e.node !== f.node) return false;
  if (f.correlation !== undefined && e.correlation !== f.correlation) return false;
  if (f.subject !== undefined) {
    const s = f.subject;
    if (s.endsWith('*') && s.length > 1 ? !e.subject.startsWith(s.slice(0, -1)) : e.subject !== s) return false;
  }
  if (f.types && f.types.length > 0) {
    if (!f.types.some((t) => (t.endsWith('.*') ? e.type.startsWith(t.slice(0, -1)) : e.type === t))) return false;
  }
  return true;
}
