// Recomputes the hash chain of the whole log and checks that the database still refuses
// changes. The first problem found names its seq.
import Database from 'better-sqlite3';
import { isCorrupt, type EventLog } from './log.js';
import { migrate } from './migrate.js';
import { GENESIS_HASH, rowHash } from './hash.js';

export interface VerifyResult {
  ok: boolean;
  checked: number;
  lastSeq: number;
  /** The first seq whose row does not match the chain (or where a seq is missing). */
  firstBadSeq?: number;
  problem?: string;
  /** Append-only triggers missing from the schema: tampering is possible. */
  missingTriggers: string[];
  /** Triggers whose definition differs from vigil's (replaced, e.g. by a same-named one that does nothing), or that vigil does not define. */
  alteredTriggers: string[];
  /** The subject index disagrees with the events (subject queries would be wrong). */
  indexProblem?: string;
}

/**
 * The guards as vigil's migrations define them (applied to an empty database in memory):
 * a trigger is checked by its definition, not its name, so a same-named trigger that does
 * nothing is caught.
 */
function expectedTriggers(): Map<string, string> {
  const db = new Database(':memory:');
  try {
    migrate(db);
    return triggersOf(db);
  } finally {
    db.close();
  }
}

const normalise = (sql: string) => sql.replace(/\s+/g, ' ').trim();

function triggersOf(db: Database.Database): Map<string, string> {
  const rows = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all() as { name: string; sql: string | null }[];
  return new Map(rows.map((r) => [r.name, normalise(r.sql ?? '')]));
}

/** Guard triggers missing, and triggers whose definition is not vigil's (or that vigil does not define). */
export function checkTriggers(log: EventLog): { missing: string[]; altered: string[] } {
  const want = expectedTriggers();
  const have = triggersOf(log.db);
  const missing = [...want.keys()].filter((n) => !have.has(n));
  const altered = [...have].filter(([n, sql]) => want.get(n) !== sql).map(([n]) => (want.has(n) ? n : `${n} (not vigil's)`));
  return { missing, altered };
}

export function verifyLog(log: EventLog): VerifyResult {
  const { missing: missingTriggers, altered: alteredTriggers } = checkTriggers(log);
  let prev = GENESIS_HASH;
  let expected = 1;
  let checked = 0;
  const read = log.db.transaction(() => {
    for (const row of log.iterateRows()) {
      if (row.seq !== expected) {
        return { firstBadSeq: expected, problem: `seq ${expected} is missing (next row is ${row.seq})` };
      }
      const computed = rowHash(prev, row);
      if (computed !== row.hash) {
        return { firstBadSeq: row.seq, problem: `hash mismatch at seq ${row.seq}: stored ${row.hash.slice(0, 16)}…, computed ${computed.slice(0, 16)}… (the row or an earlier one was altered)` };
      }
      const idPrefix = `${row.node}:`;
      if (!row.id.startsWith(idPrefix) || !row.id.endsWith(`:${row.seq}`)) {
        return { firstBadSeq: row.seq, problem: `id ${row.id} does not match node ${row.node} and seq ${row.seq}` };
      }
      prev = row.hash;
      expected += 1;
      checked += 1;
    }
    return undefined;
  });
  let bad: { firstBadSeq: number; problem: string } | undefined;
  try {
    bad = read.deferred(); // one read snapshot while appends go on
  } catch (err) {
    if (!isDamage(err)) throw err;
    bad = { firstBadSeq: expected, problem: unreadable(log, expected, err as Error) };
  }
  let indexProblem: string | undefined;
  try {
    indexProblem = checkSubjectIndex(log);
  } catch (err) {
    if (!isDamage(err)) throw err;
    indexProblem = `cannot be read: ${(err as Error).message}`;
  }
  const ok = bad === undefined && missingTriggers.length === 0 && alteredTriggers.length === 0 && indexProblem === undefined;
  return { ok, checked, lastSeq: expected - 1, missingTriggers, alteredTriggers, ...bad, ...(indexProblem ? { indexProblem } : {}) };
}

/** Every event up to the index's mark is in subject_index once, under its own subject. */
function checkSubjectIndex(log: EventLog): string | undefined {
  const check = log.db.transaction(() => {
    const upto = log.subjectIndexedUpTo();
    const last = log.lastSeq();
    if (upto > last) return `it claims events up to seq ${upto}, the log ends at ${last}`;
    const wrong = log.db
      .prepare(`SELECT s.seq, s.subject FROM subject_index s LEFT JOIN events e ON e.seq = s.seq
        WHERE s.seq > ? OR e.subject IS NOT s.subject ORDER BY s.seq LIMIT 1`)
      .get(upto) as { seq: number; subject: string } | undefined;
    if (wrong) return `entry (${JSON.stringify(wrong.subject)}, seq ${wrong.seq}) is not an event of the log up to seq ${upto}`;
    const entries = log.db.prepare('SELECT COUNT(*) FROM subject_index').pluck().get() as number;
    if (entries !== upto) return `${entries} entries for events 1..${upto}: ${upto - entries} missing`;
    return undefined;
  });
  return check.deferred();
}

/** A part of the file that cannot be read: damaged, or failing to read from the disk. */
const isDamage = (err: unknown): boolean => isCorrupt(err) || /SQLITE_IOERR/.test(String((err as { code?: unknown } | undefined)?.code));

/** Names the range of seqs that cannot be read from `from` on, by reading rows one at a time. */
function unreadable(log: EventLog, from: number, err: Error): string {
  const one = log.db.prepare('SELECT seq FROM events WHERE seq = ?').pluck();
  const probeLimit = 1_000_000;
  let next: number | undefined;
  for (let seq = from + 1; seq < from + probeLimit; seq++) {
    try {
      if (one.get(seq) !== undefined) {
        next = seq;
        break;
      }
    } catch {
      continue; // still in the damaged part
    }
    // no such row: past the end of what can be found
    break;
  }
  const range = next === undefined ? `seq ${from} and everything after it` : next === from + 1 ? `seq ${from}` : `seqs ${from}..${next - 1}`;
  return `cannot read ${range}: ${err.message} (the file is damaged there${next === undefined ? '' : `; seq ${next} on can be read again`}); restore it from a copy, the NATS stream or a peer's postmortem copy`;
}
