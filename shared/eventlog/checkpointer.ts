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
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** The appenders' wal_autocheckpoint while a checkpointer runs (pages of 4 KiB). */
export const BACKSTOP_PAGES = 10_000;

export interface CheckpointTuning {
  /** Checkpoint once this many writes (appends, heartbeats) happened since the last one... */
  afterWrites?: number;
  /** ...or once this long has passed with at least one write (a quiet log stays small). */
  maxDelayMs?: number;
}

export interface CheckpointerOptions extends CheckpointTuning {
  path: string;
  /** How often the thread looks at the counter. */
  pollMs?: number;
  /** Called when the thread fails; appenders then checkpoint themselves (BACKSTOP_PAGES). */
  onError?: (err: Error) => void;
  /** Called if the thread's one integrity check (PRAGMA quick_check, soon after start) finds the file damaged. */
  onDamage?: (detail: string) => void;
}

// Plain CommonJS run with eval: the thread must start the same way under tsx, vitest and
// the compiled package, so it loads nothing of ours.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
const counter = new Int32Array(workerData.counter);
const db = new Database(workerData.path, { timeout: 0 });
db.pragma('synchronous = NORMAL');
let done = 0, since = Date.now(), stopping = false;
const step = () => {
  if (stopping) return;
  const appended = Atomics.load(counter, 0);
  const pending = (appended - done) | 0;
  if (pending >= workerData.afterWrites || (pending > 0 && Date.now() - since >= workerData.maxDelayMs)) {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
      Atomics.add(counter, 1, 1);
    } catch (err) {
      // Another process's checkpoint is running (it does the same work), or the disk is
      // full or failing (the next try may succeed): only anything else ends the thread.
      if (!/SQLITE_BUSY|locked|SQLITE_FULL|disk is full|SQLITE_IOERR|disk I.O/i.test(String(err && err.code) + ' ' + String(err && err.message))) throw err;
    }
    done = appended;
    since = Date.now();
  }
  setTimeout(step, workerData.pollMs);
};
parentPort.on('message', () => { stopping = true; db.close(); parentPort.close(); });
// Once, soon after start and off the appenders' thread: is the file sound? A damaged page
// far from the end does not stop appends, so without this a damaged log would grow on.
let checks = 0;
const check = () => {
  if (stopping) return;
  let detail;
  try {
    const rows = db.pragma('quick_check');
    if (rows.length !== 1 || rows[0].quick_check !== 'ok') detail = rows.slice(0, 3).map((r) => r.quick_check).join('; ');
  } catch (err) {
    // Only SQLite's own word for a damaged file counts; anything else (busy) is tried again.
    if (/SQLITE_CORRUPT|SQLITE_NOTADB/.test(String(err && err.code))) detail = String(err && err.message);
    else if (++checks < 5) setTimeout(check, 1000);
  }
  if (detail !== undefined && !stopping) parentPort.postMessage({ damaged: detail });
};
setTimeout(check, workerData.checkDelayMs);
step();
`;

export class Checkpointer {
  private readonly worker: Worker;
  /** [writes, checkpoints run] */
  private readonly counter: Int32Array;

  constructor(o: CheckpointerOptions) {
    const shared = new SharedArrayBuffer(8);
    this.counter = new Int32Array(shared);
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path: o.path, driver, counter: shared, afterWrites: o.afterWrites ?? 300, maxDelayMs: o.maxDelayMs ?? 10_000, pollMs: o.pollMs ?? 20, checkDelayMs: 200 },
    });
    this.worker.on('message', (m: { damaged?: unknown }) => {
      if (typeof m?.damaged === 'string') o.onDamage?.(m.damaged);
    });
    this.worker.unref();
    this.worker.on('error', (err) => o.onError?.(err));
  }

  /** Counts writes (a shared counter: no message per write). */
  wrote(rows: number): void {
    Atomics.add(this.counter, 0, rows);
  }

  /** How many checkpoints the thread has run. */
  get checkpoints(): number {
    return Atomics.load(this.counter, 1);
  }

  stop(): void {
    this.worker.postMessage('stop');
  }
}
