// Checkpoints the log's WAL on a worker thread, so that appenders never stop to copy
// pages into the database file and fsync it. Without it, the commit that crosses
// SQLite's autocheckpoint threshold does the whole checkpoint itself: the appender that
// happens to be the VRRP service recording a state change before its advert then waits
// for megabytes of copying and two fsyncs (batched appends ran ~1.3x slower, ~1.1x since the subject index is kept in bulk).
//
// PASSIVE checkpoints never block readers or writers. While appends stream in, a passive
// checkpoint can never finish the whole WAL, so the WAL cannot start over from its
// beginning; the appenders' own autocheckpoint (BACKSTOP_PAGES) remains for that, and for
// the case that this thread dies. It then finds almost every page copied already.
//
// A thread is a V8 isolate of its own with SQLite loaded (~16 MiB resident): it ends after
// IDLE_EXIT_MS without a write, and the next one starts once afterWrites writes wait, so
// an idle service carries none. The few writes of a quiet log wait in the WAL meanwhile.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { releaseFreedMemory } from '../native.js';

/** The appenders' wal_autocheckpoint while a checkpointer runs (pages of 4 KiB). */
export const BACKSTOP_PAGES = 10_000;
/** A thread with nothing to do for this long ends. */
export const IDLE_EXIT_MS = 30_000;

export interface CheckpointTuning {
  /** Checkpoint once this many writes (appends, heartbeats) happened since the last one... */
  afterWrites?: number;
  /** ...or once this long has passed with at least one write (a quiet log stays small), while the thread runs. */
  maxDelayMs?: number;
  /** The thread ends after this long with nothing to do (IDLE_EXIT_MS). */
  idleExitMs?: number;
}

export interface CheckpointerOptions extends CheckpointTuning {
  path: string;
  /** Called when the thread fails; appenders then checkpoint themselves (BACKSTOP_PAGES). */
  onError?: (err: Error) => void;
  /** Called if the thread's one integrity check (PRAGMA quick_check, soon after start) finds the file damaged. */
  onDamage?: (detail: string) => void;
}

// Plain CommonJS run with eval: the thread must start the same way under tsx, vitest and
// the compiled package, so it loads nothing of ours. It sleeps in Atomics.wait on the
// write counter: no wake-up while the log is quiet (a polling thread cost every idle
// service ~0.5 % of a core) but its idle end, woken by the appender at the first write
// after a checkpoint and when the count is reached. Stopping is a flag in the same array.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
const WRITES = 0, RUNS = 1, DONE = 2, STOP = 3;
const counter = new Int32Array(workerData.counter);
const db = new Database(workerData.path, { timeout: 0 });
db.pragma('synchronous = NORMAL');
let done = Atomics.load(counter, DONE), since = Date.now(), worked = since;
// Once, soon after the log's opening and off the appenders' thread: is the file sound? A
// damaged page far from the end does not stop appends, so without this a damaged log would grow on.
let checkAt = workerData.checkDelayMs >= 0 ? Date.now() + workerData.checkDelayMs : undefined, checks = 0;
const check = () => {
  checkAt = undefined;
  let detail;
  try {
    const rows = db.pragma('quick_check');
    if (rows.length !== 1 || rows[0].quick_check !== 'ok') detail = rows.slice(0, 3).map((r) => r.quick_check).join('; ');
  } catch (err) {
    // Only SQLite's own word for a damaged file counts; anything else (busy) is tried again.
    if (/SQLITE_CORRUPT|SQLITE_NOTADB/.test(String(err && err.code))) detail = String(err && err.message);
    else if (++checks < 5) checkAt = Date.now() + 1000;
  }
  if (detail !== undefined && !Atomics.load(counter, STOP)) parentPort.postMessage({ damaged: detail });
};
while (!Atomics.load(counter, STOP)) {
  const now = Date.now();
  if (checkAt !== undefined && now >= checkAt) check();
  const appended = Atomics.load(counter, WRITES);
  const pending = (appended - done) | 0;
  if (pending >= workerData.afterWrites || (pending > 0 && now - since >= workerData.maxDelayMs)) {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
      Atomics.add(counter, RUNS, 1);
    } catch (err) {
      // Another process's checkpoint is running (it does the same work), or the disk is
      // full or failing (the next try may succeed): only anything else ends the thread.
      if (!/SQLITE_BUSY|locked|SQLITE_FULL|disk is full|SQLITE_IOERR|disk I.O/i.test(String(err && err.code) + ' ' + String(err && err.message))) throw err;
    }
    done = appended;
    since = worked = Date.now();
    Atomics.store(counter, DONE, done);
    continue;
  }
  if (pending === 0 && checkAt === undefined && now - worked >= workerData.idleExitMs) break;
  let wait = pending > 0 ? Math.max(1, since + workerData.maxDelayMs - now) : Math.max(1, worked + workerData.idleExitMs - now);
  if (checkAt !== undefined) wait = Math.min(wait, Math.max(1, checkAt - now));
  Atomics.wait(counter, WRITES, appended, wait);
}
db.close();
`;

export class Checkpointer {
  private worker: Worker | undefined;
  /** [writes, checkpoints run, writes covered by the last checkpoint, stop] */
  private readonly counter: Int32Array;
  private readonly afterWrites: number;
  private stopped = false;
  private failed = false;

  constructor(private readonly o: CheckpointerOptions) {
    this.counter = new Int32Array(new SharedArrayBuffer(16));
    this.afterWrites = o.afterWrites ?? 300;
    this.start(true);
  }

  private start(check: boolean): void {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const o = this.o;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path: o.path, driver, counter: this.counter.buffer, afterWrites: this.afterWrites, maxDelayMs: o.maxDelayMs ?? 10_000, idleExitMs: o.idleExitMs ?? IDLE_EXIT_MS, checkDelayMs: check ? 200 : -1 },
    });
    this.worker = worker;
    worker.on('message', (m: { damaged?: unknown }) => {
      if (typeof m?.damaged === 'string') o.onDamage?.(m.damaged);
    });
    worker.unref();
    worker.on('error', (err) => {
      this.failed = true; // the appenders' own autocheckpoint from now on
      o.onError?.(err);
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      releaseFreedMemory(); // what the thread's isolate and SQLite freed, left in its malloc arena
      this.startIfDue(); // writes that came while it was ending
    });
  }

  private pending(): number {
    return (Atomics.load(this.counter, 0) - Atomics.load(this.counter, 2)) | 0;
  }

  private startIfDue(): void {
    if (!this.worker && !this.stopped && !this.failed && this.pending() >= this.afterWrites) this.start(false);
  }

  /** Counts writes (a shared counter: no message per write); wakes the thread only when it has something to do, starts one when enough wait. */
  wrote(rows: number): void {
    const before = Atomics.add(this.counter, 0, rows);
    if (!this.worker) return this.startIfDue();
    const done = Atomics.load(this.counter, 2);
    const first = before === done;
    const reached = ((before - done) | 0) < this.afterWrites && ((before + rows - done) | 0) >= this.afterWrites;
    if (first || reached) Atomics.notify(this.counter, 0);
  }

  /** How many checkpoints the threads have run. */
  get checkpoints(): number {
    return Atomics.load(this.counter, 1);
  }

  /** Whether a thread runs now. */
  get running(): boolean {
    return this.worker !== undefined;
  }

  stop(): void {
    this.stopped = true;
    Atomics.store(this.counter, 3, 1);
    Atomics.notify(this.counter, 0);
  }
}
