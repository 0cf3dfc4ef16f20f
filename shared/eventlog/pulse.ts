// The services' heartbeats (a flat file, heartbeats.ts), until when the kernel keeps each
// bound VIP group's addresses (a flat file per group, renewed twice a second: one pwrite,
// where a SQLite commit took a dozen system calls) and in-memory counters (a small SQLite
// file, pulse.sqlite), in a folder beside the log (<log>-pulse). Apart because of
// what a write costs the others: every commit to the log's file wakes every reader of the
// log (inotify on its folder), and five services beating ten times a second kept each
// process of the node at ~3 % of a core doing empty reads; writes in a subfolder wake
// nobody. A pulse is not history: WAL without fsync (synchronous OFF), the cheapest
// commit SQLite has (~10 us, a rollback journal ~50 us).
//
// A beat rewrites its bytes in place, so on a full disk it would go on; but a node whose log
// cannot be written must look dead to its peers (its vrrp service then gives way). So a
// beat is written only after a write that needs a fresh block succeeded: a byte written
// to an empty file of the service's own, which is then emptied again (in this order: the
// block is given back only after a new one was taken), DISK_PROBE_MS apart while it
// succeeds, at every beat once it failed.
import { closeSync, constants, existsSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { HeartbeatFile, heartbeatsPath, WRITTEN } from './heartbeats.js';

/** (Not *.db: vigil postmortem --db FOLDER takes every *.db below a folder for a log.) */
export const pulsePath = (logPath: string) => join(`${logPath}-pulse`, 'pulse.sqlite');

export const DISK_PROBE_MS = 1000;
/** The file a service writes a byte to (and empties) to prove the disk takes a fresh block. */
export const diskProbePath = (logPath: string, service: string) => join(`${logPath}-pulse`, `${service}.disk-probe`);
const PROBE_BYTE = Buffer.from('x');

/** A VIP group's lifetime file: its name in hex (any group name makes a file name). */
export const lifetimePath = (logPath: string, group: string) => join(`${logPath}-pulse`, `lifetime-${Buffer.from(group).toString('hex')}`);
const LIFETIME_BYTES = 24;

/** valid_until (unix ms) and epoch as float64, the mark as uint32, little-endian. */
function encodeLifetime(epoch: number, validUntil: number): Buffer {
  const b = Buffer.alloc(LIFETIME_BYTES);
  b.writeDoubleLE(validUntil, 0);
  b.writeDoubleLE(epoch, 8);
  b.writeUInt32LE(WRITTEN, 16);
  return b;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS service_metrics (service TEXT PRIMARY KEY, ts INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vip_lifetimes (grp TEXT PRIMARY KEY, epoch INTEGER NOT NULL, valid_until INTEGER NOT NULL);
`;

export class PulseBoard {
  private db: Database.Database | undefined;
  private stmts: {
    putMetrics: Database.Statement; metrics: Database.Statement; putLifetime: Database.Statement; lifetime: Database.Statement;
  } | undefined;
  /** The heartbeats, in a flat file of their own (heartbeats.ts): a beat is one write. */
  private readonly beats: HeartbeatFile;
  private busyTimeoutMs: number;
  /** When a write needing a fresh block last succeeded (unix ms). */
  private diskOkAt = -Infinity;
  /** The file of the disk probe (a writer's), open while the board is. */
  private probe: number | undefined;
  /** The lifetime files written, open. */
  private readonly lifetimes = new Map<string, number>();

  constructor(private readonly logPath: string, private readonly readOnly: boolean, busyTimeoutMs: number) {
    this.busyTimeoutMs = busyTimeoutMs;
    this.beats = new HeartbeatFile(heartbeatsPath(logPath), readOnly);
  }

  /** The open board; undefined for a reader while no service has made it yet (or it cannot be read). */
  private open(): PulseBoard['stmts'] {
    if (this.stmts) return this.stmts;
    const path = pulsePath(this.logPath);
    if (this.readOnly) {
      if (!existsSync(path)) return undefined;
      try {
        this.db = new Database(path, { readonly: true, fileMustExist: true, timeout: this.busyTimeoutMs });
      } catch {
        return undefined; // a read-only mount without the WAL index: no pulses to read
      }
    } else {
      mkdirSync(join(path, '..'), { recursive: true });
      this.db = new Database(path, { timeout: this.busyTimeoutMs });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = OFF');
      this.db.exec(SCHEMA);
    }
    const db = this.db;
    try {
      this.stmts = {
        putMetrics: db.prepare(`INSERT INTO service_metrics (service, ts, data) VALUES (?, ?, ?) ON CONFLICT (service) DO UPDATE SET ts = excluded.ts, data = excluded.data`),
        metrics: db.prepare('SELECT service, ts, data FROM service_metrics ORDER BY service'),
        putLifetime: db.prepare(`INSERT INTO vip_lifetimes (grp, epoch, valid_until) VALUES (?, ?, ?)
          ON CONFLICT (grp) DO UPDATE SET epoch = excluded.epoch, valid_until = excluded.valid_until`),
        lifetime: db.prepare('SELECT epoch, valid_until FROM vip_lifetimes WHERE grp = ?'),
      };
    } catch (err) {
      if (!this.readOnly) throw err;
      this.close(); // a board being created right now: read it next time
      return undefined;
    }
    return this.stmts;
  }

  /** A heartbeat (ts > 0) only if the disk still takes a fresh block (see above); ts 0 records a stop. */
  beat(service: string, pid: number, ts: number): void {
    if (ts > 0 && !(ts - this.diskOkAt < DISK_PROBE_MS)) {
      if (this.probe === undefined) {
        mkdirSync(`${this.logPath}-pulse`, { recursive: true });
        this.probe = openSync(diskProbePath(this.logPath, service), 'w');
      }
      writeSync(this.probe, PROBE_BYTE, 0, 1, 0);
      ftruncateSync(this.probe, 0);
      this.diskOkAt = ts;
    }
    this.beats.write(service, pid, ts);
  }

  heartbeat(service: string): { pid: number; ts: number } | undefined {
    return this.read(() => this.beats.read(service), undefined);
  }

  putMetrics(service: string, data: string, ts: number): void {
    this.open()!.putMetrics.run(service, ts, data);
  }

  metrics(): { service: string; ts: number; data: string }[] {
    return this.read(() => (this.open()?.metrics.all() as { service: string; ts: number; data: string }[] | undefined) ?? [], []);
  }

  setVipLifetime(group: string, epoch: number, validUntil: number): void {
    let fd = this.lifetimes.get(group);
    if (fd === undefined) {
      mkdirSync(`${this.logPath}-pulse`, { recursive: true });
      // Not truncated: rewritten in place, a record needs no fresh block (a full disk takes it).
      fd = openSync(lifetimePath(this.logPath, group), constants.O_RDWR | constants.O_CREAT, 0o644);
      this.lifetimes.set(group, fd);
    }
    writeSync(fd, encodeLifetime(epoch, validUntil), 0, LIFETIME_BYTES, 0);
  }

  /** The last lifetime recorded for the group (in pulse.sqlite by versions before the files). */
  vipLifetime(group: string): { epoch: number; valid_until: number } | undefined {
    return this.read(() => readLifetime(lifetimePath(this.logPath, group)) ?? (this.open()?.lifetime.get(group) as { epoch: number; valid_until: number } | undefined), undefined);
  }

  /**
   * A read; a read-only reader that cannot read the board now (a writer killed mid-write
   * left a journal only a writer can roll back) sees no pulse rather than failing. A
   * service's own reads fail as any read of its log would.
   */
  private read<T>(f: () => T, none: T): T {
    if (!this.readOnly) return f();
    try {
      return f();
    } catch {
      this.close();
      return none;
    }
  }

  setBusyTimeout(ms: number): void {
    this.busyTimeoutMs = ms;
    this.db?.pragma(`busy_timeout = ${Math.max(0, Math.floor(ms))}`);
  }

  close(): void {
    this.beats.close();
    if (this.probe !== undefined) closeSync(this.probe);
    this.probe = undefined;
    for (const fd of this.lifetimes.values()) closeSync(fd);
    this.lifetimes.clear();
    this.db?.close();
    this.db = undefined;
    this.stmts = undefined;
  }
}

/** A lifetime file's record; undefined if there is none (or it was never completely written). */
function readLifetime(path: string): { epoch: number; valid_until: number } | undefined {
  if (!existsSync(path)) return undefined;
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(LIFETIME_BYTES);
    if (readSync(fd, b, 0, LIFETIME_BYTES, 0) < LIFETIME_BYTES || b.readUInt32LE(16) !== WRITTEN) return undefined;
    const validUntil = b.readDoubleLE(0);
    const epoch = b.readDoubleLE(8);
    return Number.isFinite(validUntil) && Number.isInteger(epoch) ? { epoch, valid_until: validUntil } : undefined;
  } finally {
    closeSync(fd);
  }
}
