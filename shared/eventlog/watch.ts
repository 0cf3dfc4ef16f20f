// Cross-process wake-up: every commit in WAL mode writes the -wal file, and inotify on
// the database's folder reports it to every process within a fraction of a millisecond.
// The write is reported before the commit is visible (the commit ends with an update of
// the -shm index through mmap, which inotify does not see), so a reader that looks at
// once can find nothing new; we look again shortly after every write, and up to a second
// later (a writer descheduled between its last frame and the index, on a busy machine,
// is then found as soon as the old one-second poll found it). A slow poll backs it all up
// (inotify can overflow, and some filesystems don't report).
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { every, type Chore } from '../housekeeping.js';

const TRAILING_CHECKS_MS = [1, 4, 15, 50, 250, 1000];

export class LogChangeWatcher {
  private watcher: FSWatcher | undefined;
  private poll: Chore | undefined;
  private readonly trailing: NodeJS.Timeout[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly names: Set<string>;

  constructor(private readonly dbPath: string, private readonly pollIntervalMs: number) {
    const base = basename(dbPath);
    this.names = new Set([base, `${base}-wal`]);
  }

  add(listener: () => void): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** Wakes listeners now (an append from this process). */
  notify(): void {
    for (const l of [...this.listeners]) l();
  }

  private start(): void {
    try {
      this.watcher = watch(dirname(this.dbPath), { persistent: true }, (_event, file) => {
        if (file === null || this.names.has(file.toString())) this.changed();
      });
      this.watcher.on('error', () => this.stopWatcher());
    } catch {
      this.watcher = undefined; // polling alone still works
    }
    this.poll = every(this.pollIntervalMs, () => this.notify());
  }

  /** Wakes listeners now, and again a little later for a commit that was still completing. */
  private changed(): void {
    this.notify();
    for (const t of this.trailing.splice(0)) clearTimeout(t);
    for (const ms of TRAILING_CHECKS_MS) this.trailing.push(setTimeout(() => this.notify(), ms));
  }

  private stopWatcher(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  stop(): void {
    this.stopWatcher();
    for (const t of this.trailing.splice(0)) clearTimeout(t);
    this.poll?.stop();
    this.poll = undefined;
  }
}
