// The relay with a real nats-server (JetStream): every event of the node's log in the
// stream exactly once and in order, through NATS outages and relay crashes.
import { copyFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventLog, type NewEvent } from '../../shared/eventlog/index.js';
import { rowHash } from '../../shared/eventlog/hash.js';
import type { EventsTable } from '../../shared/eventlog/tables.js';
import { createLogger } from '../../shared/logger.js';
import { NatsSink } from '../../services/relay/nats.js';
import { CURSOR } from '../../services/relay/shell.js';
import { readEvents } from '../harness/log.js';
import { startNats, type Nats } from '../harness/nats.js';
import { spawnVigil, vigil } from '../harness/node.js';
import { waitFor } from '../harness/process.js';
import { readStream, streamCount } from '../harness/stream.js';
import { teardown } from '../harness/teardown.js';
import type { TempDir } from '../harness/tmp.js';

const cleanups = teardown();

interface Setup {
  d: TempDir;
  nats: Nats;
  file: string;
  db: string;
  log: EventLog;
}

async function setup(): Promise<Setup> {
  const d = cleanups.tempDir('relay');
  const nats = await startNats();
  cleanups.push(() => nats.stop());
  const file = join(d.path, 'vigil.yaml');
  writeFileSync(file, `cluster: test\nnodes: { n1: {} }\nlog: { path: events.db }\nzookeeper: { hosts: [127.0.0.1:2181] }\nnats: { servers: ['${nats.url}'], stream: EVENTS }\n`);
  const db = join(d.path, 'events.db');
  const log = EventLog.open({ path: db, node: 'n1' });
  cleanups.push(() => log.close());
  return { d, nats, file, db, log };
}

function relay(s: Setup) {
  const child = spawnVigil(['run', 'relay', '--config', s.file]);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(() => (child.exitCode === null && child.signalCode === null ? (child.kill('SIGKILL'), exited) : undefined));
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return { child, exited, stderr: () => stderr };
}

const notes = (from: number, n: number): NewEvent[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'operator.note', source: 'cli', subject: 'operator:test', data: { text: `note ${from + i}`, author: 'test' } }));

/** Waits until the stream holds as many events as the log, then checks it is exactly the log, in order. */
async function streamEqualsLog(s: Setup, timeoutMs = 30_000): Promise<number> {
  await waitFor('the stream to catch up with the log', async () => ((await streamCount(s.nats.url, 'EVENTS')) === s.log.lastSeq() ? true : undefined), timeoutMs, 100);
  const msgs = await readStream(s.nats.url, 'EVENTS');
  const last = s.log.lastSeq();
  expect(msgs.map((m) => m.event.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
  expect(msgs.every((m) => m.msgId === m.event.id && m.subject === `vigil.test.events.n1.${m.event.type}`)).toBe(true);
  return last;
}

describe('relay to NATS JetStream', () => {
  it('publishes every event once, in order, to vigil.<cluster>.events.<node>.<type>, into a stream it creates', async () => {
    const s = await setup();
    s.log.appendBatch(notes(0, 300));
    const r = relay(s);
    await streamEqualsLog(s);
    for (let i = 0; i < 10; i++) s.log.appendBatch(notes(300 + i * 100, 100));
    s.log.append(notes(2000, 1)[0]!);
    const n = await streamEqualsLog(s);
    expect(n).toBeGreaterThan(1300);
    expect(s.log.getCursor(CURSOR)).toBe(n);
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  });

  it('a NATS outage delays delivery, is recorded once, and loses or duplicates nothing', async () => {
    const s = await setup();
    const r = relay(s);
    s.log.appendBatch(notes(0, 100));
    await streamEqualsLog(s);
    await s.nats.stopServer();
    for (let i = 0; i < 5; i++) {
      s.log.appendBatch(notes(100 + i * 100, 100));
      await new Promise((res) => setTimeout(res, 200));
    }
    await waitFor('the failure recorded', () => (readEvents(s.db, ['relay.delivery_failed']).length > 0 ? true : undefined), 10_000);
    await s.nats.startServer();
    await streamEqualsLog(s);
    const failures = readEvents(s.db, ['relay.delivery_failed']);
    expect(failures.length).toBe(1); // one per minute while it lasts, not one per retry
    expect(failures[0]!.data).toMatchObject({ sink: 'nats', cursor: 101 });
    expect(r.child.exitCode).toBe(null);
  });

  it('SIGKILLed while publishing and restarted: no gap, no duplicate', async () => {
    const s = await setup();
    for (let i = 0; i < 40; i++) s.log.appendBatch(notes(i * 500, 500));
    const total = s.log.lastSeq();
    const first = relay(s);
    await waitFor('part of the log in the stream', async () => {
      const n = await streamCount(s.nats.url, 'EVENTS');
      return n > 1000 && n < total - 2000 ? true : undefined;
    }, 30_000, 5);
    first.child.kill('SIGKILL');
    await first.exited;
    const cursorAtKill = s.log.getCursor(CURSOR);
    expect(cursorAtKill).toBeLessThan(total);
    relay(s);
    await streamEqualsLog(s);
  });

  it('exactly once even when the cursor is behind the stream: a restart resumes after the last event of this log the stream holds', async () => {
    const s = await setup();
    s.log.appendBatch(notes(0, 200));
    const first = relay(s);
    await streamEqualsLog(s);
    first.child.kill('SIGKILL');
    await first.exited;
    const inStream = s.log.lastSeq();
    // As if killed after JetStream acknowledged and before the cursor was stored.
    s.log.setCursor(CURSOR, 10);
    s.log.appendBatch(notes(200, 50));
    const second = relay(s);
    await streamEqualsLog(s);
    // It skipped what the stream holds rather than leaning on de-duplication (whose window is two minutes).
    expect(second.stderr()).toContain(`"cursor":10,"resume_after":${inStream}`);
    expect(second.stderr()).not.toContain('JetStream dropped re-published events');
  });

  it('JetStream drops a re-published event (the event id is the message id)', async () => {
    const s = await setup();
    s.log.appendBatch(notes(0, 50));
    const sink = new NatsSink({ servers: [s.nats.url], stream: 'EVENTS', cluster: 'test', node: 'n1', logger: createLogger({}, { level: 'error' }) });
    cleanups.push(() => sink.close());
    const events = s.log.readAfter(0, 100);
    expect(await sink.publish(events)).toEqual({ duplicates: 0 });
    expect(await sink.publish(events.slice(10, 30))).toEqual({ duplicates: 20 });
    expect(await streamCount(s.nats.url, 'EVENTS')).toBe(50);
    expect(await sink.lastPublishedId()).toBe(events[49]!.id);
  });
});

describe('vigil log verify with the stream as witness: tampering a tamperer cannot hide', () => {
  /** A copy of the log, changed by someone with write access to the file and SQL. */
  function tampered(s: Setup, name: string, change: (db: Database.Database) => void): string {
    const path = join(s.d.path, `${name}.db`);
    copyFileSync(s.db, path);
    const db = new Database(path);
    try {
      change(db);
    } finally {
      db.close();
    }
    return path;
  }
  const triggerSql = (db: Database.Database, name: string) => (db.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?").pluck().get(name) as string);

  it('rows edited and re-hashed from there on, the tail deleted with the triggers re-created, guards replaced by no-ops: each named', async () => {
    const s = await setup();
    s.log.appendBatch(notes(0, 50));
    const r = relay(s);
    await streamEqualsLog(s);
    r.child.kill('SIGTERM');
    await r.exited;
    s.log.db.pragma('wal_checkpoint(TRUNCATE)');
    const last = s.log.lastSeq(); // the notes and the relay's own start and stop

    // Row 20 rewritten, and every hash from 20 on recomputed: the chain itself verifies.
    const edited = tampered(s, 'edited', (db) => {
      const guard = triggerSql(db, 'events_no_update');
      db.exec('DROP TRIGGER events_no_update');
      let prev = db.prepare('SELECT hash FROM events WHERE seq = 19').pluck().get() as string;
      for (const row of db.prepare('SELECT * FROM events WHERE seq >= 20 ORDER BY seq').all() as EventsTable[]) {
        const data = row.seq === 20 ? JSON.stringify({ text: 'nothing happened here', author: 'test' }) : row.data;
        prev = rowHash(prev, { ...row, data });
        db.prepare('UPDATE events SET data = ?, hash = ? WHERE seq = ?').run(data, prev, row.seq);
      }
      db.exec(guard);
    });
    const offline = await vigil(['log', 'verify', '--db', edited]);
    expect(offline.stdout).toContain(`chain intact, ${last} events`); // what the file alone can say
    expect(offline.stdout).toMatch(/not compared with a copy kept elsewhere/);
    const e = await vigil(['log', 'verify', '--db', edited, '--config', s.file]);
    expect(e.code).toBe(1);
    expect(e.stdout).toMatch(/DIFFERS FROM THE STREAM EVENTS at seq 20: seq 20 differs from its copy in the stream/);

    // The last 10 events deleted, the guard put back as it was.
    const cut = tampered(s, 'cut', (db) => {
      const guard = triggerSql(db, 'events_no_delete');
      db.exec('DROP TRIGGER events_no_delete');
      db.exec('DELETE FROM events WHERE seq > 40');
      db.exec(guard);
    });
    const c = await vigil(['log', 'verify', '--db', cut, '--config', s.file]);
    expect(c.code).toBe(1);
    expect(c.stdout).toMatch(/chain intact, 40 events/);
    expect(c.stdout).toMatch(/DIFFERS FROM THE STREAM EVENTS at seq 41: the file ends at seq 40, but the stream holds this log's events up to seq 41 at least: events from seq 41 on were deleted/);

    // Same-named guards that do nothing: caught by their definition, without any stream.
    const noop = tampered(s, 'noop', (db) => {
      db.exec('DROP TRIGGER events_no_update');
      db.exec('CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT 1; END');
      db.exec('DROP TRIGGER events_no_delete');
      db.exec('CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT 1; END');
    });
    const n = await vigil(['log', 'verify', '--db', noop, '--offline']);
    expect(n.code).toBe(1);
    expect(n.stdout).toMatch(/triggers not as vigil defines them \(events_no_update, events_no_delete\)/);

    // The untouched log agrees with the stream.
    const ok = await vigil(['log', 'verify', '--db', s.db, '--config', s.file]);
    expect(ok.stdout).toMatch(/the stream EVENTS agrees: \d+ events compared \(it holds this log up to seq \d+\)/);
    expect(ok.code).toBe(0);
  });
});
