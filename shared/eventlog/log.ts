// The node's append-only event log: one SQLite file (WAL) shared by the node's services.
import { randomBytes } from 'node:crypto';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { LATE_KEY, type NewEvent, type StoredEvent } from './catalogue.js';
import { BACKSTOP_PAGES, Checkpointer, type CheckpointTuning } from './checkpointer.js';
import { GENESIS_HASH, rowHash } from './hash.js';
import { checkSchema, migrate } from './migrate.js';
import { compileEventQuery, compileIndexedSubjectQuery, limitOf, type CompiledEventQuery, type EventFilter } from './query.js';
import type { EventsTable } from './tables.js';
import { validateNewEvent } from './validate.js';
import { PulseBoard } from './pulse.js';
import { LogChangeWatcher } from './watch.js';
import { APPEND_BUCKETS } from '../metrics/catalogue.js';
import { Histogram } from '../metrics/registry.js';

export interface OpenOptions {
  path: string;
  /** The node appending to this log; required to append, checked against the file. */
  node?: string;
  /** Refuse to create a new file (operator tools reading a log). */
  mustExist?: boolean;
  /**
   * Open an existing log without writing anything (operator tools that only read): works on
   * a read-only mount or file too (then on a private copy, since SQLite cannot read a WAL
   * database where it may not create its shared-memory file). Appends are refused.
   */
  readOnly?: boolean;
  busyTimeoutMs?: number;
  /** Safety-net poll for subscribers, in case a file change notification is missed (POLL_BACKSTOP_MS). */
  pollIntervalMs?: number;
  /**
   * Checkpoint the WAL on a worker thread (for long-running appenders: the services).
   * Without it, the append that crosses SQLite's threshold does the checkpoint itself.
   */
  backgroundCheckpoint?: boolean | CheckpointTuning;
  /** Called if the checkpoint thread fails (appends go on; they then checkpoint themselves). */
  onCheckpointError?: (err: Error) => void;
  /** Unindexed events that make an append bring the subject index up to date (tests use few). */
  subjectIndexStep?: number;
}

/**
 * Appends index subjects in bulk, once this many events are not indexed yet: large
 * enough that each index page is written once for many entries (10 subjects per batch of
 * 100: 2048 gave 207k appends/s, 4096 210k, 8192 213k, against 175k indexing every
 * event), small enough that a query's scan of the unindexed events stays near 0.05 ms
 * and the append that indexes takes a few ms (10-20 ms when the events are about
 * thousands of different subjects).
 */
export const SUBJECT_INDEX_STEP = 4096;

const MAX_QUERY_STATEMENTS = 128;
/**
 * Subscribers look for new events this often besides inotify's word (watch.ts), which
 * reports every commit of any process of the node's kernel (as WAL's shared memory needs
 * them all on one kernel); the poll is for a lost notification (a queue overflow).
 */
const POLL_BACKSTOP_MS = 5000;

export class LogError extends Error {}

/** SQLite's word that the file is damaged (not merely busy, full or unreadable for now). */
export function isCorrupt(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  return /SQLITE_CORRUPT|SQLITE_NOTADB/.test(String(e?.code)) || /malformed|not a database/i.test(String(e?.message));
}

function writable(path: string): boolean {
  try {
    accessSync(existsSync(path) ? path : dirname(path), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function toStoredEvent(r: EventsTable): StoredEvent {
  return { ...r, data: JSON.parse(r.data) as unknown };
}

export interface ConsumerCursor {
  consumer: string;
  seq: number;
}

export class EventLog {
  readonly path: string;
  readonly logId: string;
  /** The node this file belongs to (set by the first appender). */
  readonly node: string | undefined;
  readonly db: Database.Database;
  private readonly watcher: LogChangeWatcher;
  private readonly stmts;
  private readonly appendTx;
  private readonly checkpointer: Checkpointer | undefined;
  private readonly subjectIndexStep: number;
  private readonly readBySubject;
  private readonly queryStatements = new Map<string, Database.Statement>();
  /** How long this process's appends took (a batch each), seconds. */
  readonly appendLatency = new Histogram(APPEND_BUCKETS);
  private constructor(db: Database.Database, path: string, logId: string, node: string | undefined, pollIntervalMs: number, subjectIndexStep: number, checkpointer?: Checkpointer) {
    this.db = db;
    this.subjectIndexStep = subjectIndexStep;
    this.checkpointer = checkpointer;
    this.path = path;
    this.logId = logId;
    this.node = node;
    this.watcher = new LogChangeWatcher(path, pollIntervalMs);
    this.stmts = {
      last: db.prepare('SELECT seq, hash, ts FROM events ORDER BY seq DESC LIMIT 1'),
      tsAt: db.prepare('SELECT ts FROM events WHERE seq = ?').pluck(),
      insert: db.prepare(`INSERT INTO events (seq, id, ts, node, source, type, subject, data, causation, correlation, hash)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      after: db.prepare('SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?'),
      maxSeq: db.prepare('SELECT IFNULL(MAX(seq), 0) AS seq FROM events'),

      getCursor: db.prepare('SELECT seq FROM cursors WHERE consumer = ?'),
      setCursor: db.prepare(`INSERT INTO cursors (consumer, seq, ts) VALUES (?, ?, ?)
        ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq, ts = excluded.ts`),
      indexedUpTo: db.prepare('SELECT upto FROM subject_index_state').pluck(),
      indexSubjects: db.prepare('INSERT INTO subject_index (subject, seq) SELECT subject, seq FROM events WHERE seq > ? ORDER BY subject, seq'),
      setIndexedUpTo: db.prepare('UPDATE subject_index_state SET upto = ?'),
    };
    // One read snapshot: the indexed part and the scanned tail meet at the same seq.
    this.readBySubject = db.transaction((f: EventFilter & { subject: string }) => {
      const upto = this.subjectIndexedUpTo();
      const indexed = this.rows(compileIndexedSubjectQuery(f));
      const tail = this.rows(compileEventQuery({ ...f, afterSeq: Math.max(f.afterSeq ?? 0, upto) }));
      const rows = f.newest ? [...tail, ...indexed] : [...indexed, ...tail];
      return rows.slice(0, limitOf(f));
    });
    this.appendTx = db.transaction((valid: NewEvent[], node: string, now: number, cursor?: ConsumerCursor) => {
      const stored = this.writeRows(valid, node, now);
      if (cursor) this.stmts.setCursor.run(cursor.consumer, cursor.seq, now);
      return stored;
    });
  }

  static open(o: OpenOptions): EventLog {
    const path = resolve(o.path);
    if (o.node !== undefined && !NODE_NAME.test(o.node)) throw new LogError(`invalid node name ${JSON.stringify(o.node)}`);
    if ((o.mustExist || o.readOnly) && !existsSync(path)) throw new LogError(`no event log at ${path}`);
    if (o.readOnly) return EventLog.openReadOnly(path, o);
    mkdirSync(dirname(path), { recursive: true });
    const busyTimeoutMs = o.busyTimeoutMs ?? 5000;
    const giveUpAt = Date.now() + busyTimeoutMs;
    let db: Database.Database | undefined;
    for (;;) {
      try {
        db = new Database(path, { timeout: busyTimeoutMs });
        // Switching a new file to WAL fails at once (no busy wait) while another process
        // does the same: retried below, as is a migration race.
        db.pragma('journal_mode = WAL');
        // NORMAL in WAL mode: a commit survives a crash of any process; only a power loss
        // can drop the last commits (never corrupt the file).
        db.pragma('synchronous = NORMAL');
        migrate(db);
        break;
      } catch (err) {
        db?.close();
        db = undefined;
        const busy = /database is locked|SQLITE_BUSY/i.test((err as Error).message) || (err as { code?: string }).code?.startsWith('SQLITE_BUSY');
        if (!busy || Date.now() > giveUpAt) throw new LogError(`cannot open event log ${path}: ${(err as Error).message}${writable(path) ? '' : ' (it is on a read-only filesystem or not writable: it can be read, not appended to)'}`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10 + Math.random() * 20);
      }
    }
    const claim = db.transaction((node: string | undefined) => {
      const get = (k: string) => (db.prepare('SELECT value FROM meta WHERE key = ?').get(k) as { value: string } | undefined)?.value;
      const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      let logId = get('log_id');
      if (!logId) {
        logId = randomBytes(4).toString('hex');
        put.run('log_id', logId);
        put.run('created_ts', String(Date.now()));
      }
      let owner = get('node');
      if (node !== undefined && owner === undefined) {
        put.run('node', node);
        owner = node;
      }
      return { logId, owner };
    });
    const { logId, owner } = claim.immediate(o.node);
    if (o.node !== undefined && owner !== o.node) {
      db.close();
      throw new LogError(`event log ${path} belongs to node ${owner}, not ${o.node}`);
    }
    let checkpointer: Checkpointer | undefined;
    if (o.backgroundCheckpoint) {
      db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
      const tuning = o.backgroundCheckpoint === true ? {} : o.backgroundCheckpoint;
      let log: EventLog | undefined;
      checkpointer = new Checkpointer({ ...tuning, path, onError: o.onCheckpointError, onDamage: (detail) => log?.markDamaged(detail) });
      log = new EventLog(db, path, logId, owner, o.pollIntervalMs ?? POLL_BACKSTOP_MS, o.subjectIndexStep ?? SUBJECT_INDEX_STEP, checkpointer);
      return log;
    }
    return new EventLog(db, path, logId, owner, o.pollIntervalMs ?? POLL_BACKSTOP_MS, o.subjectIndexStep ?? SUBJECT_INDEX_STEP);
  }

  private static openReadOnly(path: string, o: OpenOptions): EventLog {
    const connect = (file: string) => {
      const db = new Database(file, { readonly: true, fileMustExist: true, timeout: o.busyTimeoutMs ?? 5000 });
      try {
        db.prepare('SELECT 1 FROM sqlite_master LIMIT 1').get(); // opens the WAL index now, or fails now
        return db;
      } catch (err) {
        db.close();
        throw err;
      }
    };
    let db: Database.Database;
    let copy: string | undefined;
    try {
      try {
        db = connect(path);
      } catch (err) {
        if (!/unable to open database file|SQLITE_CANTOPEN|readonly/i.test(`${(err as { code?: string }).code} ${(err as Error).message}`)) throw err;
        copy = mkdtempSync(join(tmpdir(), 'vigil-readonly-'));
        copyFileSync(path, join(copy, 'events.db'));
        if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, join(copy, 'events.db-wal'));
        db = connect(join(copy, 'events.db'));
      }
      checkSchema(db);
    } catch (err) {
      if (copy) rmSync(copy, { recursive: true, force: true });
      if (err instanceof LogError) throw err;
      throw new LogError(`cannot read event log ${path}: ${(err as Error).message}`);
    }
    const meta = (k: string) => (db.prepare('SELECT value FROM meta WHERE key = ?').get(k) as { value: string } | undefined)?.value;
    const owner = meta('node');
    if (o.node !== undefined && owner !== undefined && owner !== o.node) {
      db.close();
      if (copy) rmSync(copy, { recursive: true, force: true });
      throw new LogError(`event log ${path} belongs to node ${owner}, not ${o.node}`);
    }
    const log = new EventLog(db, path, meta('log_id') ?? '?', owner, o.pollIntervalMs ?? POLL_BACKSTOP_MS, o.subjectIndexStep ?? SUBJECT_INDEX_STEP);
    log.readOnly = true;
    log.privateCopy = copy;
    return log;
  }

  /** Set once SQLite reported the file damaged (an append, or the checkpoint thread's check): appends are refused. */
  damaged: string | undefined;

  markDamaged(detail: string): void {
    this.damaged ??= detail;
  }

  /** Opened with readOnly: appends are refused. */
  readOnly = false;

  private pulseBoard: PulseBoard | undefined;
  /** The services' heartbeats and counters (pulse.ts), opened at first use (readers of a log no service ran find none). */
  private get pulse(): PulseBoard {
    return (this.pulseBoard ??= new PulseBoard(this.path, this.readOnly, 5000));
  }
  /** Set when a read-only log could only be read through a private copy (a read-only mount). */
  privateCopy: string | undefined;

  /** How long a write waits for another connection's lock before it fails (SQLite's busy timeout). */
  setBusyTimeout(ms: number): void {
    this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(ms))}`);
    this.pulse.setBusyTimeout(ms);
  }

  close(): void {
    this.checkpointer?.stop();
    this.watcher.stop();
    this.pulseBoard?.close();
    this.db.close();
    if (this.privateCopy) rmSync(this.privateCopy, { recursive: true, force: true });
  }

  append(event: NewEvent): StoredEvent {
    return this.appendBatch([event])[0]!;
  }

  /**
   * Appends all events atomically, in order; validates every one first. With a cursor, the
   * consumer's cursor moves in the same transaction (a consumer that derives events from
   * events then never records one twice, however it is stopped).
   */
  appendBatch(events: readonly NewEvent[], cursor?: ConsumerCursor): StoredEvent[] {
    if (this.readOnly) throw new LogError(`event log ${this.path} was opened read-only`);
    if (this.damaged !== undefined) throw new LogError(`event log ${this.path} is damaged (${this.damaged}): appends are refused; see vigil log verify, then restore the file or move it aside`);
    if (this.node === undefined) throw new LogError(`event log ${this.path} has no node: open it with a node name to append`);
    const valid = events.map((e) => validateNewEvent(e));
    // IMMEDIATE: we read the last hash and then write; a deferred transaction would
    // fail with SQLITE_BUSY_SNAPSHOT when another process appends in between.
    let stored: StoredEvent[];
    const started = performance.now();
    try {
      stored = this.appendTx.immediate(valid, this.node, Date.now(), cursor);
    } catch (err) {
      if (isCorrupt(err)) this.markDamaged((err as Error).message);
      throw err;
    }
    this.appendLatency.observe((performance.now() - started) / 1000);
    this.checkpointer?.wrote(stored.length);
    this.watcher.notify();
    return stored;
  }

  private writeRows(valid: NewEvent[], node: string, now: number): StoredEvent[] {
    const last = this.stmts.last.get() as { seq: number; hash: string; ts: number } | undefined;
    let seq = last?.seq ?? 0;
    let prev = last?.hash ?? GENESIS_HASH;
    let ts = last?.ts ?? 0;
    const out: StoredEvent[] = new Array(valid.length);
    for (let i = 0; i < valid.length; i++) {
      const e = valid[i]!;
      seq += 1;
      // The log's time never goes back (a clock stepped back keeps the last time until it
      // catches up): time ranges are then seq ranges, found without an index.
      ts = Math.max(ts, e.ts ?? now);
      const id = `${node}:${this.logId}:${seq}`;
      const data = JSON.stringify(e.late ? { ...(e.data as object), [LATE_KEY]: e.late } : e.data);
      const causation = e.causation ?? null;
      const correlation = e.correlation ?? null;
      prev = rowHash(prev, { seq, id, ts, node, source: e.source, type: e.type, subject: e.subject, data, causation, correlation });
      this.stmts.insert.run(seq, id, ts, node, e.source, e.type, e.subject, data, causation, correlation, prev);
      out[i] = { seq, id, ts, node, source: e.source, type: e.type, subject: e.subject, data: e.late ? JSON.parse(data) : e.data, causation, correlation, hash: prev };
    }
    const indexed = this.subjectIndexedUpTo();
    if (seq - indexed >= this.subjectIndexStep) {
      this.stmts.indexSubjects.run(indexed);
      this.stmts.setIndexedUpTo.run(seq);
    }
    return out;
  }

  /** Every event up to this seq is in the subject index; later ones are found by scanning. */
  subjectIndexedUpTo(): number {
    return this.stmts.indexedUpTo.get() as number;
  }

  lastSeq(): number {
    return (this.stmts.maxSeq.get() as { seq: number }).seq;
  }

  /** Events after a seq, oldest first, at most limit. */
  readAfter(seq: number, limit = 1000): StoredEvent[] {
    return (this.stmts.after.all(seq, limit) as EventsTable[]).map(toStoredEvent);
  }

  query(filter: EventFilter): StoredEvent[] {
    // Time bounds become seq bounds (ts never decreases along seq), so SQL need not test ts.
    const { since, until, ...f } = filter;
    if (since !== undefined) f.fromSeq = Math.max(f.fromSeq ?? 1, this.firstSeqAtOrAfter(since));
    if (until !== undefined) f.toSeq = Math.min(f.toSeq ?? Number.MAX_SAFE_INTEGER, this.lastSeqAtOrBefore(until));
    const rows = f.subject === undefined ? this.rows(compileEventQuery(f)) : this.readBySubject.deferred({ ...f, subject: f.subject });
    return filter.newest ? rows.reverse() : rows;
  }

  private rows(q: CompiledEventQuery): StoredEvent[] {
    return (this.querySql(q.sql).all(...q.parameters) as EventsTable[]).map(toStoredEvent);
  }

  /**
   * Queries are prepared once per shape of filter (the values are parameters): a subject
   * query runs two, and a service's restart makes one per subject. Few shapes exist; the
   * cache starts over if a caller makes many.
   */
  private querySql(sql: string): Database.Statement {
    let s = this.queryStatements.get(sql);
    if (s === undefined) {
      if (this.queryStatements.size >= MAX_QUERY_STATEMENTS) this.queryStatements.clear();
      s = this.db.prepare(sql);
      this.queryStatements.set(sql, s);
    }
    return s;
  }

  /** The first seq whose ts >= t (last seq + 1 if none): bisection over the primary key. */
  firstSeqAtOrAfter(t: number): number {
    let lo = 1;
    let hi = this.lastSeq() + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if ((this.stmts.tsAt.get(mid) as number) >= t) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** The last seq whose ts <= t (0 if none). */
  lastSeqAtOrBefore(t: number): number {
    return this.firstSeqAtOrAfter(t + 1) - 1;
  }

  /** Raw rows in seq order, for verification and export. */
  *iterateRows(fromSeq = 1): IterableIterator<EventsTable> {
    yield* this.db.prepare('SELECT * FROM events WHERE seq >= ? ORDER BY seq').iterate(fromSeq) as IterableIterator<EventsTable>;
  }

  getCursor(consumer: string): number {
    return this.storedCursor(consumer) ?? 0;
  }

  /** The consumer's cursor, or undefined if it never stored one. */
  storedCursor(consumer: string): number | undefined {
    return (this.stmts.getCursor.get(consumer) as { seq: number } | undefined)?.seq;
  }

  setCursor(consumer: string, seq: number): void {
    this.stmts.setCursor.run(consumer, seq, Date.now());
  }

  /** Records that a service of this node is alive now (in the pulse board beside the log, see pulse.ts). */
  beat(service: string, pid: number, ts = Date.now()): void {
    this.pulse.beat(service, pid, ts);
  }

  /** The last pulse of a service (unix ms), if it ever had one. */
  heartbeat(service: string): { pid: number; ts: number } | undefined {
    return this.pulse.heartbeat(service);
  }

  /** Stores what a service of this node counts in memory (a JSON snapshot, see shared/metrics). */
  putServiceMetrics(service: string, data: string, ts = Date.now()): void {
    this.pulse.putMetrics(service, data, ts);
  }

  /** Every service's last stored metrics snapshot (raw JSON: validate before use). */
  serviceMetrics(): { service: string; ts: number; data: string }[] {
    return this.pulse.metrics();
  }

  /** Records until when the kernel keeps a VIP group's addresses on this node (unix ms), under a lease's epoch (in the pulse board: renewals wake no reader of the log). */
  setVipLifetime(group: string, epoch: number, validUntil: number): void {
    this.pulse.setVipLifetime(group, epoch, validUntil);
  }

  /** The last recorded address lifetime of a VIP group on this node (a log written by a version before the pulse board kept it in the log). */
  vipLifetime(group: string): { epoch: number; valid_until: number } | undefined {
    return this.pulse.vipLifetime(group) ?? (this.querySql('SELECT epoch, valid_until FROM vip_lifetimes WHERE grp = ?').get(group) as { epoch: number; valid_until: number } | undefined);
  }

  /** Checkpoints run by the background thread (undefined without one). */
  get backgroundCheckpoints(): number | undefined {
    return this.checkpointer?.checkpoints;
  }

  /** Whether a checkpoint thread runs now (it ends when idle; undefined without background checkpoints). */
  get checkpointThreadRunning(): boolean | undefined {
    return this.checkpointer?.running;
  }

  /** Calls listener whenever the log may have grown (this process or another). */
  onChange(listener: () => void): () => void {
    return this.watcher.add(listener);
  }
}
