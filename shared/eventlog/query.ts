// Filters for reading the log, compiled by kysely to SQL that better-sqlite3 runs
// synchronously (kysely's own SQLite driver is async and only begins deferred
// transactions; we only use it as a typed query builder).
import { Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, DummyDriver, expressionBuilder, type Compilable, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { LogTables } from './tables.js';

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

type Condition = Expression<SqlBool>;

/** Conditions on columns only events has (time, node, correlation, types). */
function rowConditions(f: EventFilter, eb: ExpressionBuilder<LogTables, 'events'>): Condition[] {
  const c: Condition[] = [];
  if (f.since !== undefined) c.push(eb('ts', '>=', f.since));
  if (f.until !== undefined) c.push(eb('ts', '<=', f.until));
  if (f.node !== undefined) c.push(eb('node', '=', f.node));
  if (f.correlation !== undefined) c.push(eb('correlation', '=', f.correlation));
  if (f.types && f.types.length > 0) {
    c.push(
      eb.or(
        f.types.map((t) => {
          if (t.endsWith('.*')) {
            const p = t.slice(0, -1);
            return eb.and([eb('type', '>=', p), eb('type', '<', prefixEnd(p))]);
          }
          return eb('type', '=', t);
        }),
      ),
    );
  }
  return c;
}

/** An exact subject, or a prefix ending in "*" as a range (index-friendly, never LIKE). */
function subjectBounds(s: string): [op: '=' | '>=' | '<', value: string][] {
  if (s.endsWith('*') && s.length > 1) {
    const p = s.slice(0, -1);
    return [['>=', p], ['<', prefixEnd(p)]];
  }
  return [['=', s]];
}

/** The filter's row limit, if it has one (0 means none). */
export function limitOf(f: EventFilter): number | undefined {
  return f.limit !== undefined && f.limit > 0 ? f.limit : undefined;
}

/** The lowest seq a filter admits (afterSeq and fromSeq as one bound), if it has one. */
function lowestSeq(f: EventFilter): number | undefined {
  if (f.afterSeq === undefined) return f.fromSeq;
  return Math.max(f.afterSeq + 1, f.fromSeq ?? 0);
}

function compiled(q: Compilable): CompiledEventQuery {
  const c = q.compile();
  return { sql: c.sql, parameters: c.parameters };
}

export interface CompiledEventQuery {
  sql: string;
  parameters: readonly unknown[];
}

/** The filter on the events table alone (a subject is then matched row by row). */
export function compileEventQuery(f: EventFilter): CompiledEventQuery {
  const lo = lowestSeq(f);
  let q = queryBuilder.selectFrom('events').selectAll();
  if (lo !== undefined) q = q.where('seq', '>=', lo);
  if (f.toSeq !== undefined) q = q.where('seq', '<=', f.toSeq);
  if (f.subject !== undefined) for (const [op, value] of subjectBounds(f.subject)) q = q.where('subject', op, value);
  const rows = rowConditions(f, expressionBuilder<LogTables, 'events'>());
  if (rows.length > 0) q = q.where((eb) => eb.and(rows));
  q = q.orderBy('seq', f.newest ? 'desc' : 'asc');
  const limit = limitOf(f);
  if (limit !== undefined) q = q.limit(limit);
  return compiled(q);
}

/**
 * The filter's events that subject_index holds (the newest events may not be indexed
 * yet: compileEventQuery finds those by scanning).
 */
export function compileIndexedSubjectQuery(f: EventFilter & { subject: string }): CompiledEventQuery {
  const lo = lowestSeq(f);
  const order = f.newest ? 'desc' : 'asc';
  const limit = limitOf(f);
  let idx = queryBuilder.selectFrom('subject_index');
  for (const [op, value] of subjectBounds(f.subject)) idx = idx.where('subject_index.subject', op, value);
  if (lo !== undefined) idx = idx.where('subject_index.seq', '>=', lo);
  if (f.toSeq !== undefined) idx = idx.where('subject_index.seq', '<=', f.toSeq);
  const rows = rowConditions(f, expressionBuilder<LogTables, 'events'>());
  if (rows.length === 0) {
    // The seqs first, from the index alone: a prefix matching many subjects is then
    // sorted as small index entries, not as whole rows (17 ms instead of 145 for 200k).
    let seqs = idx.select('subject_index.seq').orderBy('subject_index.seq', order);
    if (limit !== undefined) seqs = seqs.limit(limit);
    return compiled(queryBuilder.selectFrom('events').selectAll().where('seq', 'in', seqs).orderBy('seq', order));
  }
  // Ordered by the index's own seq: for one subject the index is already in that order.
  let q = idx.innerJoin('events', 'events.seq', 'subject_index.seq').selectAll('events').where((eb) => eb.and(rows)).orderBy('subject_index.seq', order);
  if (limit !== undefined) q = q.limit(limit);
  return compiled(q);
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
