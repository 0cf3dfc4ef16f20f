// The event log on real SQLite files; tampering is done with Debian's sqlite3 tool, as an
// intruder or a careless operator would.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { consume, EventLog, EventRefused, eventMatches, LogError, subscribe, verifyLog, type EventFilter, type NewEvent, type StoredEvent } from '../../shared/eventlog/index.js';
import { BACKSTOP_PAGES, Checkpointer } from '../../shared/eventlog/checkpointer.js';
import { loadMigrations, migrate } from '../../shared/eventlog/migrate.js';
import { LogChangeWatcher } from '../../shared/eventlog/watch.js';
import { tempDir, type TempDir } from '../harness/tmp.js';
import { smallDisk } from '../../lab/disk.js';
import { LivenessWatch } from '../../shared/liveness-watch.js';
import { HeartbeatFile, heartbeatsPath } from '../../shared/eventlog/heartbeats.js';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ROOT } from '../harness/node.js';

/** test/fixtures/beater.ts for the log at db, beating every 50 ms: its answers, and send(line) for the next one. */
function beaterFixture(db: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/beater.ts'), db, '50'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const answers = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const send = async (line: string) => {
    child.stdin.write(line + '\n');
    return String((await answers.next()).value);
  };
  return { child, answers, send };
}

const note = (text: string, author = 'ann'): NewEvent => ({ type: 'operator.note', source: 'cli', subject: `operator:${author}`, data: { text, author } });
const sqlite3 = (db: string, sql: string) => execFileSync('sqlite3', [db, sql], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let tmp: TempDir;
let path: string;
beforeEach(() => {
  tmp = tempDir('log');
  path = join(tmp.path, 'events.db');
});
afterEach(() => tmp.remove());

describe('event log', () => {
  it('assigns gap-free seqs, node-qualified ids and a hash chain', () => {
    const log = EventLog.open({ path, node: 'lb1' });
    const a = log.append(note('one'));
    const [b, c] = log.appendBatch([note('two'), note('three')]);
    expect([a.seq, b!.seq, c!.seq]).toEqual([1, 2, 3]);
    expect(a.id).toBe(`lb1:${log.logId}:1`);
    expect(a.node).toBe('lb1');
    expect(new Set([a.hash, b!.hash, c!.hash]).size).toBe(3);
    expect(verifyLog(log)).toMatchObject({ ok: true, checked: 3, lastSeq: 3, missingTriggers: [] });
    log.close();
  });

  it('refuses UPDATE and DELETE in the database itself, from any client', () => {
    const log = EventLog.open({ path, node: 'lb1' });
    log.appendBatch([note('one'), note('two')]);
    expect(() => log.db.prepare("UPDATE events SET data = '{}' WHERE seq = 1").run()).toThrow(/append-only: UPDATE refused/);
    expect(() => log.db.prepare('DELETE FROM events WHERE seq = 2').run()).toThrow(/append-only: DELETE refused/);
    expect(() => sqlite3(path, "UPDATE events SET subject = 'operator:eve' WHERE seq = 1")).toThrow(/append-only: UPDATE refused/);
    expect(() => sqlite3(path, 'DELETE FROM events')).toThrow(/append-only: DELETE refused/);
    // A row that would leave a gap, or go back in time, is refused too; so is a first row other than seq 1.
    const row = (seq: number, ts: number) => `INSERT INTO events (seq,id,ts,node,source,type,subject,data,hash) VALUES (${seq},'x',${ts},'lb1','cli','operator.note','operator:x','{}','${'0'.repeat(64)}')`;
    expect(() => sqlite3(path, row(9, Date.now()))).toThrow(/last seq \+ 1/);
    expect(() => sqlite3(path, row(3, 1))).toThrow(/ts must not go back in time/);
    const empty = join(tmp.path, 'empty.db');
    EventLog.open({ path: empty, node: 'lb1' }).close();
    expect(() => sqlite3(empty, row(2, 1))).toThrow(/last seq \+ 1/);
    expect(log.lastSeq()).toBe(2);
    expect(verifyLog(log).ok).toBe(true);
    log.close();
  });

  it('verify names the first altered row once its trigger has been dropped', () => {
    const log = EventLog.open({ path, node: 'lb1' });
    for (let i = 1; i <= 10; i++) log.append(note(`n${i}`));
    sqlite3(path, 'DROP TRIGGER events_no_update');
    sqlite3(path, `UPDATE events SET data = '{"text":"nothing happened","author":"ann"}' WHERE seq = 7`);
    const r = verifyLog(log);
    expect(r).toMatchObject({ ok: false, firstBadSeq: 7, lastSeq: 6, missingTriggers: ['events_no_update'] });
    expect(r.problem).toMatch(/hash mismatch at seq 7/);
    log.close();
  });

  it('verify also catches a rewritten hash (the chain breaks at the next row)', () => {
    const log = EventLog.open({ path, node: 'lb1' });
    for (let i = 1; i <= 5; i++) log.append(note(`n${i}`));
    sqlite3(path, 'DROP TRIGGER events_no_update');
    sqlite3(path, `UPDATE events SET hash = '${'a'.repeat(64)}' WHERE seq = 3`);
    expect(verifyLog(log)).toMatchObject({ ok: false, firstBadSeq: 3 });
    log.close();
  });

  it('refuses invalid events at append time and writes nothing of a bad batch', () => {
    const log = EventLog.open({ path, node: 'lb1' });
    log.append(note('kept'));
    const bad = { type: 'vip.bound', source: 'fence', subject: 'vip:web', data: { group: 'web', epoch: 3, addresses: [], valid_lft_s: 2 } } as unknown as NewEvent;
    expect(() => log.appendBatch([note('lost?'), bad])).toThrow(EventRefused);
    expect(() => log.append({ type: 'no.such', source: 'cli', subject: 'x', data: {} } as unknown as NewEvent)).toThrow(/not in the event catalogue/);
    expect(log.lastSeq()).toBe(1);
    log.close();
  });

  it('reads with filters: seq, time, type prefix, subject prefix, correlation, newest', () => {
    const log = EventLog.open({ path, node: 'lb1' });
    const t0 = 1_800_000_000_000;
    log.appendBatch([
      { ...note('a'), ts: t0 },
      { type: 'vrrp.state_changed', source: 'vrrp', subject: 'vrrp:VI_1', ts: t0 + 1000, correlation: 'fo-1', data: { instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer', priority: 150 } },
      { type: 'health.changed', source: 'health', subject: 'rs:web/10.0.0.29:80', ts: t0 + 2000, data: { target: '10.0.0.29:80', check: 'HTTP_GET', from: 'up', to: 'down', reason: 'HTTP 503' } },
      { type: 'health.changed', source: 'health', subject: 'rs:api/10.0.0.29:81', ts: t0 + 3000, data: { target: '10.0.0.29:81', check: 'TCP_CHECK', from: 'up', to: 'down', reason: 'refused' } },
      { ...note('b'), ts: t0 + 4000, correlation: 'fo-1', causation: 2 },
    ]);
    const seqs = (rows: StoredEvent[]) => rows.map((r) => r.seq);
    expect(seqs(log.query({ types: ['health.*'] }))).toEqual([3, 4]);
    expect(seqs(log.query({ types: ['vrrp.state_changed', 'operator.note'] }))).toEqual([1, 2, 5]);
    expect(seqs(log.query({ subject: 'rs:web/*' }))).toEqual([3]);
    expect(seqs(log.query({ subject: 'vrrp:VI_1' }))).toEqual([2]);
    expect(seqs(log.query({ since: t0 + 1000, until: t0 + 3000 }))).toEqual([2, 3, 4]);
    expect(seqs(log.query({ correlation: 'fo-1' }))).toEqual([2, 5]);
    expect(seqs(log.query({ afterSeq: 2, toSeq: 4 }))).toEqual([3, 4]);
    expect(seqs(log.query({ newest: true, limit: 2 }))).toEqual([4, 5]);
    expect(log.query({ fromSeq: 5 })[0]).toMatchObject({ causation: 2, correlation: 'fo-1', data: { text: 'b' } });
    log.close();
  });

  it('keeps per-consumer cursors and consumes at least once', async () => {
    const log = EventLog.open({ path, node: 'lb1', pollIntervalMs: 50 });
    log.appendBatch([note('1'), note('2'), note('3')]);
    const seen: number[] = [];
    let fail = true;
    const errors: unknown[] = [];
    const sub = consume(log, 'relay', (batch) => {
      if (fail) {
        fail = false;
        throw new Error('NATS down');
      }
      seen.push(...batch.map((e) => e.seq));
    }, { onError: (err) => errors.push(err) });
    await expect.poll(() => seen, { timeout: 2000 }).toEqual([1, 2, 3]);
    expect(errors).toHaveLength(1); // the failed batch was retried, not skipped
    expect(log.getCursor('relay')).toBe(3);
    sub.close();
    log.append(note('4'));
    const again: number[] = [];
    const sub2 = consume(log, 'relay', (batch) => void again.push(...batch.map((e) => e.seq)));
    await expect.poll(() => again).toEqual([4]);
    expect(log.getCursor('other')).toBe(0);
    sub2.close();
    log.close();
  });

  it('wakes a subscriber in the same process at once, in order', async () => {
    const log = EventLog.open({ path, node: 'lb1', pollIntervalMs: 60_000 });
    const seen: string[] = [];
    const sub = subscribe(log, { after: 0 }, (b) => void seen.push(...b.map((e) => (e.data as { text: string }).text)));
    for (let i = 0; i < 50; i++) log.append(note(`e${i}`));
    await expect.poll(() => seen.length, { timeout: 1000 }).toBe(50);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => `e${i}`));
    sub.close();
    log.close();
  });

  it('belongs to one node, and operator tools do not create logs', () => {
    EventLog.open({ path, node: 'lb1' }).close();
    expect(() => EventLog.open({ path, node: 'lb2' })).toThrow(/belongs to node lb1, not lb2/);
    expect(EventLog.open({ path }).node).toBe('lb1');
    expect(() => EventLog.open({ path: join(tmp.path, 'missing.db'), mustExist: true })).toThrow(LogError);
    writeFileSync(join(tmp.path, 'junk.db'), 'this is not sqlite'.repeat(100));
    expect(() => EventLog.open({ path: join(tmp.path, 'junk.db'), node: 'lb1' })).toThrow(/cannot open event log .*junk\.db/);
  });

  it('applies migrations once, and refuses a database changed behind its back', () => {
    const log = EventLog.open({ path, node: 'lb1' });
    log.close();
    const db = new Database(path);
    expect(migrate(db)).toEqual([]); // nothing left to apply
    const dir = join(tmp.path, 'migrations');
    mkdirSync(dir);
    const [first] = loadMigrations();
    writeFileSync(join(dir, '0001_events.sql'), first!.sql + '\n-- edited\n');
    expect(() => migrate(db, loadMigrations(dir))).toThrow(/was changed after it was applied/);
    expect(() => migrate(db, [])).toThrow(/written by a newer version/);
    writeFileSync(join(dir, '0003_gap.sql'), 'SELECT 1;');
    expect(() => loadMigrations(dir)).toThrow(/without gaps/);
    db.close();
  });
});

describe('subject index (kept in bulk)', () => {
  const t0 = 1_800_000_000_000;
  const subjects = ['rs:web/10.0.0.1:80', 'rs:web/10.0.0.2:80', 'rs:web/10.0.0.10:80', 'rs:api/10.0.0.1:81', 'rs:webx/10.0.0.3:80'];
  // Events of several subjects and types, appended in uneven batches.
  function fill(log: EventLog, n: number): StoredEvent[] {
    const out: StoredEvent[] = [];
    for (let i = 0; i < n; ) {
      const size = 1 + (i % 7);
      const batch: NewEvent[] = [];
      for (let k = 0; k < size && i < n; k++, i++) {
        const s = subjects[(i * 7) % subjects.length]!;
        batch.push(i % 5 === 0
          ? { ...note(`n${i}`, `ann${i % 2}`), ts: t0 + i * 10 }
          : { type: 'health.changed', source: 'health', subject: s, ts: t0 + i * 10, data: { target: s.split('/')[1]!, check: i % 3 ? 'HTTP_GET' : 'TCP_CHECK', from: 'up', to: 'down', reason: `r${i}` } });
      }
      out.push(...log.appendBatch(batch));
    }
    return out;
  }
  const filters: EventFilter[] = [
    { subject: 'rs:web/10.0.0.1:80' },
    { subject: 'rs:web/10.0.0.1:80', newest: true, limit: 4 },
    { subject: 'rs:web/10.0.0.1:80', limit: 3 },
    { subject: 'rs:web/*' },
    { subject: 'rs:web/*', newest: true, limit: 9 },
    { subject: 'operator:*', types: ['operator.note'], newest: true, limit: 5 },
    { subject: 'rs:api/10.0.0.1:81', types: ['health.*'], toSeq: 60 },
    { subject: 'rs:web/10.0.0.2:80', fromSeq: 20, toSeq: 90 },
    { subject: 'rs:web/10.0.0.2:80', afterSeq: 95, newest: true, limit: 2 },
    { subject: 'rs:web/10.0.0.10:80', since: t0 + 300, until: t0 + 800 },
    { subject: 'nobody' },
    // several types (an or) beside other conditions: the or stays inside its parentheses
    { subject: 'rs:web/*', types: ['operator.note', 'health.*'], until: t0 + 600 },
    { types: ['operator.note', 'health.changed'], since: t0 + 500, newest: true, limit: 7 },
    { types: ['vrrp.*', 'operator.*'], node: 'lb1', afterSeq: 30 },
  ];
  const expected = (all: StoredEvent[], f: EventFilter) => {
    const hit = all.filter((e) => eventMatches(f, e)).map((e) => e.seq);
    return f.limit === undefined ? hit : f.newest ? hit.slice(-f.limit) : hit.slice(0, f.limit);
  };

  it.each([1, 7, 40, 1_000_000])('queries give the same events whatever is indexed yet (step %i)', (step) => {
    const log = EventLog.open({ path, node: 'lb1', subjectIndexStep: step });
    const all = fill(log, 123);
    const upto = log.subjectIndexedUpTo();
    // The index is at most one step behind, and brought up to date by whole steps.
    expect(all.length - upto).toBeLessThan(step);
    if (step <= 123) expect(upto).toBeGreaterThan(0);
    for (const f of filters) expect(log.query(f).map((e) => e.seq), JSON.stringify(f)).toEqual(expected(all, f));
    expect(verifyLog(log)).toMatchObject({ ok: true, checked: 123 });
    log.close();
  });

  it('only grows, and verify names an entry that is not an event', () => {
    const log = EventLog.open({ path, node: 'lb1', subjectIndexStep: 10 });
    fill(log, 25);
    expect(() => sqlite3(path, 'DELETE FROM subject_index WHERE seq = 3')).toThrow(/subject_index is append-only: DELETE refused/);
    expect(() => sqlite3(path, "UPDATE subject_index SET subject = 'x' WHERE seq = 3")).toThrow(/UPDATE refused/);
    expect(() => sqlite3(path, 'UPDATE subject_index_state SET upto = 0')).toThrow(/only moves forward/);
    expect(() => sqlite3(path, 'DELETE FROM subject_index_state')).toThrow(/DELETE refused/);
    sqlite3(path, "INSERT INTO subject_index VALUES ('rs:web/10.9.9.9:80', 4)");
    const r = verifyLog(log);
    expect(r).toMatchObject({ ok: false, checked: 25, missingTriggers: [] });
    expect(r.firstBadSeq).toBeUndefined(); // the events themselves are intact
    expect(r.indexProblem).toMatch(/entry \("rs:web\/10\.9\.9\.9:80", seq 4\) is not an event/);
    log.close();
  });

  it('verify names events missing from the index', () => {
    const log = EventLog.open({ path, node: 'lb1', subjectIndexStep: 10 });
    fill(log, 25);
    const upto = log.subjectIndexedUpTo();
    expect(upto).toBeLessThanOrEqual(22);
    sqlite3(path, `DROP TRIGGER subject_index_state_forward; UPDATE subject_index_state SET upto = ${upto + 3}`);
    expect(verifyLog(log).indexProblem).toBe(`${upto} entries for events 1..${upto + 3}: 3 missing`);
    sqlite3(path, 'UPDATE subject_index_state SET upto = 99');
    expect(verifyLog(log).indexProblem).toMatch(/claims events up to seq 99, the log ends at 25/);
    log.close();
  });

  it('is built for the events of a log written before it existed', () => {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    migrate(db, loadMigrations().slice(0, 3));
    const row = db.prepare(`INSERT INTO events (seq,id,ts,node,source,type,subject,data,hash) VALUES (?,?,?,'lb1','cli','operator.note',?,'{}','${'0'.repeat(64)}')`);
    ['operator:ann', 'operator:bob', 'operator:ann'].forEach((s, i) => row.run(i + 1, `lb1:x:${i + 1}`, t0 + i, s));
    db.close();
    const log = EventLog.open({ path, node: 'lb1' });
    expect(log.subjectIndexedUpTo()).toBe(3);
    expect(log.query({ subject: 'operator:ann' }).map((e) => e.seq)).toEqual([1, 3]);
    expect(log.db.prepare('SELECT COUNT(*) FROM subject_index').pluck().get()).toBe(3);
    log.close();
  });
});

describe('the change watcher', () => {
  it('after a write it reports, looks again up to a second later (a commit still completing on a busy machine), and then waits for the next', async () => {
    writeFileSync(`${path}-wal`, '');
    const watcher = new LogChangeWatcher(path, 600_000); // (no poll in the way)
    const wakes: number[] = [];
    const off = watcher.add(() => wakes.push(performance.now()));
    await new Promise((r) => setTimeout(r, 200)); // the watcher's start
    const at = performance.now();
    utimesSync(`${path}-wal`, new Date(), new Date()); // as a commit's first write is reported
    await new Promise((r) => setTimeout(r, 1600));
    off();
    const after = wakes.filter((t) => t >= at).map((t) => t - at);
    expect(after.length, `wake-ups after one reported write (ms: ${after.map(Math.round).join(', ')})`).toBeGreaterThanOrEqual(5);
    expect(Math.max(...after), 'the last look (ms after the write)').toBeGreaterThanOrEqual(1000);
    expect(Math.max(...after)).toBeLessThan(1500);
  });
});

describe('background checkpoints', () => {
  it('copy the WAL into the database file on a worker thread, under load and after a lone write', async () => {
    const log = EventLog.open({ path, node: 'lb1', backgroundCheckpoint: { maxDelayMs: 300 } });
    expect(log.db.pragma('wal_autocheckpoint', { simple: true })).toBe(BACKSTOP_PAGES);
    const initial = statSync(path).size;
    for (let i = 0; i < 20; i++) log.appendBatch(Array.from({ length: 100 }, (_, k) => note(`e${i}-${k}`)));
    // Far below the appender's own threshold: only the thread can have copied the pages.
    expect(statSync(`${path}-wal`).size).toBeLessThan(BACKSTOP_PAGES * 4096);
    // The thread counts a checkpoint when it has finished, and the file grows before that
    // (seen in CI on a busy machine: grown, count still 0): wait for both.
    await expect.poll(() => log.backgroundCheckpoints! > 0 && statSync(path).size > initial + 100 * 1024, { timeout: 5000 }).toBe(true);
    const afterBurst = log.backgroundCheckpoints!;
    log.append(note('lone')); // a lone write, below the count: checkpointed after maxDelayMs
    await expect.poll(() => log.backgroundCheckpoints, { timeout: 5000 }).toBeGreaterThan(afterBurst);
    expect(verifyLog(log)).toMatchObject({ ok: true, checked: 2001 });
    log.close();
    // The thread closes its connection too: the last one to close removes the WAL.
    await expect.poll(() => existsSync(`${path}-wal`), { timeout: 5000 }).toBe(false);
  });

  it('end when idle and start again once enough writes wait: an idle service carries no thread', async () => {
    const log = EventLog.open({ path, node: 'lb1', backgroundCheckpoint: { afterWrites: 50, maxDelayMs: 100, idleExitMs: 300 } });
    expect(log.checkpointThreadRunning).toBe(true); // the first one checks the file, then ends
    await expect.poll(() => log.checkpointThreadRunning, { timeout: 5000 }).toBe(false);
    log.append(note('lone'));
    expect(log.checkpointThreadRunning, 'a thread for one write').toBe(false);
    const before = log.backgroundCheckpoints!;
    const initial = statSync(path).size;
    log.appendBatch(Array.from({ length: 49 }, (_, k) => note(`e${k}`)));
    expect(log.checkpointThreadRunning).toBe(true);
    await expect.poll(() => log.backgroundCheckpoints, { timeout: 5000 }).toBeGreaterThan(before);
    await expect.poll(() => statSync(path).size, { timeout: 5000 }).toBeGreaterThan(initial); // the pages copied into the database file
    await expect.poll(() => log.checkpointThreadRunning, { timeout: 5000 }).toBe(false);
    log.close();
  });

  it('reports a thread that cannot work', async () => {
    const errors: Error[] = [];
    const dead = new Checkpointer({ path: join(tmp.path, 'no-such-folder', 'events.db'), onError: (e) => errors.push(e) });
    await expect.poll(() => errors.length, { timeout: 5000 }).toBe(1);
    expect(errors[0]!.message).toMatch(/unable to open database|directory does not exist/i);
    expect(dead.checkpoints).toBe(0);
    dead.stop(); // harmless once the thread is gone
  });
});

describe('the pulse board', () => {
  it("heartbeats and counters live beside the log, and their writes wake none of the log's readers", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-pulse-'));
    try {
      const db = join(dir, 'events.db');
      const writer = EventLog.open({ path: db, node: 'lb1' });
      const reader = EventLog.open({ path: db, node: 'lb1', pollIntervalMs: 600_000 }); // (no backup poll in the way)
      let wakes = 0;
      const off = reader.onChange(() => (wakes += 1));
      await new Promise((r) => setTimeout(r, 200)); // the watcher's start
      wakes = 0;
      for (let i = 0; i < 20; i++) {
        writer.beat('fence', 4242, Date.now());
        writer.putServiceMetrics('fence', '{"counters":[],"gauges":[],"histograms":[]}');
        writer.setVipLifetime('web', 7, 5_000 + i);
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 100));
      expect(wakes, 'wake-ups of a reader by heartbeats').toBe(0);
      writer.append(note('an event'));
      await expect.poll(() => wakes, { timeout: 5000 }).toBeGreaterThan(0); // ... as an event does
      expect(reader.heartbeat('fence')).toMatchObject({ pid: 4242 });
      expect(existsSync(join(dir, 'events.db-pulse', 'pulse.sqlite'))).toBe(true);
      off();
      const ro = EventLog.open({ path: db, readOnly: true });
      expect(ro.heartbeat('fence')?.pid).toBe(4242);
      expect(ro.serviceMetrics().map((m) => m.service)).toEqual(['fence']);
      ro.close();
      reader.close();
      writer.close();
      // a log no service ran: no board, no heartbeat, and a reader creates nothing
      const fresh = join(dir, 'fresh.db');
      EventLog.open({ path: fresh, node: 'lb2' }).close();
      const ro2 = EventLog.open({ path: fresh, readOnly: true });
      expect(ro2.heartbeat('vrrp')).toBeUndefined();
      ro2.close();
      expect(existsSync(`${fresh}-pulse`)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('VIP lifetimes: one small file per group, the last renewal read back by another process\'s reader, and a lifetime an older version kept in pulse.sqlite still read', () => {
    const db = join(tmp.path, 'lifetimes.db');
    const writer = EventLog.open({ path: db, node: 'lb1' });
    const ro = () => EventLog.open({ path: db, readOnly: true });
    try {
      writer.putServiceMetrics('fence', '{}'); // the board's SQLite file, as a running node has it
      for (let i = 0; i < 5; i++) writer.setVipLifetime('web', 3, 1_000 + i);
      writer.setVipLifetime('db/main ü', 9, 2_500.5);
      const r = ro();
      expect(r.vipLifetime('web')).toEqual({ epoch: 3, valid_until: 1_004 });
      expect(r.vipLifetime('db/main ü')).toEqual({ epoch: 9, valid_until: 2_500.5 });
      expect(r.vipLifetime('none')).toBeUndefined();
      r.close();
      // a fence restarted keeps the file (rewritten in place: a full disk takes the next renewal)
      const again = EventLog.open({ path: db, node: 'lb1' });
      expect(again.vipLifetime('web')).toEqual({ epoch: 3, valid_until: 1_004 });
      again.setVipLifetime('web', 4, 7_000);
      expect(statSync(join(`${db}-pulse`, `lifetime-${Buffer.from('web').toString('hex')}`)).size).toBe(24);
      again.close();
      const board = new Database(join(`${db}-pulse`, 'pulse.sqlite'));
      board.prepare('INSERT INTO vip_lifetimes (grp, epoch, valid_until) VALUES (?, ?, ?)').run('old', 4, 9_000);
      board.close();
      const r2 = ro();
      expect(r2.vipLifetime('old')).toEqual({ epoch: 4, valid_until: 9_000 });
      r2.close();
    } finally {
      writer.close();
    }
  });

  it('a beat needs a fresh block: none is written while the disk is full, and beats resume once it is not', () => {
    const disk = smallDisk(join(tmp.path, 'disk'), 1);
    const db = join(disk.path, 'events.db');
    const log = EventLog.open({ path: db, node: 'lb1' });
    try {
      log.beat('fence', 4242, 1_000);
      expect(log.heartbeat('fence')?.ts).toBe(1_000);
      disk.fill();
      // the WAL could take it (it reuses its pages): the probe is what refuses
      expect(() => log.beat('fence', 4242, 2_000)).toThrow(/ENOSPC|no space/i);
      expect(() => log.beat('fence', 4242, 2_100)).toThrow(/ENOSPC|no space/i); // tried at every beat while it fails
      expect(log.heartbeat('fence')?.ts).toBe(1_000);
      disk.free();
      log.beat('fence', 4242, 2_200);
      expect(log.heartbeat('fence')?.ts).toBe(2_200);
      log.beat('fence', 4242, 0); // a stop is recorded without a probe
      expect(log.heartbeat('fence')?.ts).toBe(0);
    } finally {
      log.close();
    }
  });

  it('the native beater: beats from a thread while the event loop waits for I/O or answers, and the disk takes a block; none while the loop is busy or blocked in a system call, or the disk refuses, nor once stopped', async () => {
    const disk = smallDisk(join(tmp.path, 'disk'), 1);
    const db = join(disk.path, 'events.db');
    const { child, answers, send } = beaterFixture(db);
    const beats = new HeartbeatFile(heartbeatsPath(db), true);
    const age = () => Date.now() - (beats.read('fence')?.ts ?? 0);
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      expect(String((await answers.next()).value)).toBe('ready');
      await expect.poll(() => beats.read('fence')?.pid, { timeout: 5000 }).toBe(child.pid);
      await expect.poll(age, { timeout: 5000, interval: 10 }).toBeLessThan(200);
      // one beat a period, no more
      const count = async () => Number((await send('written')).split(' ')[1]);
      const [n0, t0] = [await count(), performance.now()];
      await sleep(1000);
      const [n1, t1] = [await count(), performance.now()];
      expect(n1 - n0, `beats in ${Math.round(t1 - t0)} ms at 50 ms`).toBeLessThanOrEqual(Math.ceil((t1 - t0) / 50) + 1);
      expect(n1 - n0).toBeGreaterThan(0);
      // an idle loop is beaten for without being woken: found waiting for I/O
      expect(Number((await send('idle')).split(' ')[1]), 'periods the idle loop was found waiting for I/O').toBeGreaterThan((n1 - n0) / 2);

      // a loop blocked in a system call (not waiting for I/O): no beats either
      const asleep: number[] = [];
      const sampling = setInterval(() => asleep.push(age()), 20);
      expect(await send('sleep 800')).toBe('ok');
      clearInterval(sampling);
      expect(Math.max(...asleep), 'the heartbeat went stale while the loop slept in a system call (ms)').toBeGreaterThan(500);
      await expect.poll(age, { timeout: 3000, interval: 10 }).toBeLessThan(200);

      // a blocked event loop: the thread runs on, but beats no more until the loop answers
      const blocked = Date.now();
      const stale: number[] = [];
      const sampler = setInterval(() => stale.push(age()), 20);
      const during = send('block 800');
      await sleep(10); // (the child reads the command, then blocks)
      expect(await during).toBe('ok');
      clearInterval(sampler);
      expect(Date.now() - blocked).toBeGreaterThanOrEqual(800);
      expect(Math.max(...stale), 'the heartbeat went stale while the loop was blocked (ms)').toBeGreaterThan(500);
      await expect.poll(age, { timeout: 3000, interval: 10 }).toBeLessThan(200);

      // the heartbeat file cut by hand under the mapped slot: no SIGBUS, the beats go on
      truncateSync(heartbeatsPath(db), 0);
      await expect.poll(age, { timeout: 3000, interval: 10 }).toBeLessThan(200);
      expect([child.exitCode, child.signalCode], 'the beater process still runs').toEqual([null, null]);

      // a full disk: the probe refuses, no beat is written
      disk.fill();
      await sleep(1500);
      expect(age(), 'no beat on a full disk (ms since the last)').toBeGreaterThan(400);
      expect(Number((await send('missed')).split(' ')[1])).toBeGreaterThan(0);
      disk.free();
      await expect.poll(age, { timeout: 3000, interval: 10 }).toBeLessThan(200);

      expect(await send('stop')).toBe('ok');
      await sleep(500);
      expect(age(), 'no beat once stopped').toBeGreaterThan(400);
    } finally {
      child.kill();
      beats.close();
    }
  });

  it('with the native beater, a watched heartbeat is read by its thread: the process wakes only when it turns alive or not alive', async () => {
    const db = join(tmp.path, 'watch.db');
    const { child, answers, send } = beaterFixture(db);
    type Reads = { reads: { at: number; alive: boolean }[]; native: [number, number] | undefined };
    const reads = async () => JSON.parse(await send('reads')) as Reads;
    const writer = new HeartbeatFile(heartbeatsPath(db), false);
    const beat = () => writer.write('vrrp', 4242, Date.now());
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    beat();
    const beating = setInterval(beat, 50);
    try {
      expect(String((await answers.next()).value)).toBe('ready');
      expect(await send('watch 400')).toBe('ok');
      await sleep(1500);
      const alive = await reads();
      expect(alive.reads, 'reads in JavaScript while it beats: the first one only').toHaveLength(1);
      expect(alive.reads[0]!.alive).toBe(true);
      expect(alive.native![0], 'reads by the thread meanwhile').toBeGreaterThan(10);
      clearInterval(beating);
      const lastBeat = Date.now();
      await expect.poll(async () => (await reads()).reads.at(-1)?.alive, { timeout: 3000, interval: 20 }).toBe(false);
      const dead = await reads();
      const seenDead = dead.reads.at(-1)!.at;
      expect(seenDead - lastBeat).toBeGreaterThan(400 - 60); // (the last beat came up to a period before)
      expect(seenDead - lastBeat).toBeLessThan(400 + 300); // the timeout, and a late thread on a busy machine
      await sleep(300);
      expect((await reads()).reads, 'no reads in JavaScript while it stays silent').toHaveLength(dead.reads.length);
      beat();
      await expect.poll(async () => (await reads()).reads.at(-1)?.alive, { timeout: 1000, interval: 20 }).toBe(true);
    } finally {
      clearInterval(beating);
      child.kill();
      writer.close();
    }
  });

  it("the relay's watch of the services, by the native beater's thread: no wake-up while they beat; each silent process reported once, also one that beat once or died between two reads", async () => {
    const db = join(tmp.path, 'services.db');
    const { child, answers, send } = beaterFixture(db);
    const writer = new HeartbeatFile(heartbeatsPath(db), false);
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const beatVrrp = () => writer.write('vrrp', 4242, Date.now());
    const beatHealth = () => writer.write('health', 4343, Date.now());
    beatVrrp();
    beatHealth();
    const vrrp = setInterval(beatVrrp, 50);
    const health = setInterval(beatHealth, 50);
    const reader = EventLog.open({ path: db, node: 'n1' });
    const lost = () => reader.query({ types: ['relay.service_lost'] }).map((e) => `${(e.data as { service: string }).service} ${(e.data as { pid: number }).pid}`);
    const native = async () => (JSON.parse(await send('reads')) as { native: [number, number] }).native;
    try {
      expect(String((await answers.next()).value)).toBe('ready');
      expect(await send('services 400')).toBe('ok'); // fence (the fixture's own beats), vrrp and health alive; ipvs never ran
      await sleep(1500);
      const [reads, calls] = await native();
      expect(reads, 'reads by the thread while they beat').toBeGreaterThan(10);
      expect(calls, 'no wake-up of JavaScript while nothing changes').toBe(0);
      expect(lost()).toEqual([]);

      clearInterval(vrrp);
      const stopped = Date.now();
      await expect.poll(lost, { timeout: 3000, interval: 20 }).toEqual(['vrrp 4242']);
      expect(Date.now() - stopped).toBeLessThan(400 + 500); // the silence, and a late thread on a busy machine
      expect((await native())[1]).toBe(1);

      writer.write('ipvs', 5555, Date.now()); // beats once, then killed
      await expect.poll(lost, { timeout: 3000, interval: 20 }).toEqual(['vrrp 4242', 'ipvs 5555']);

      clearInterval(health);
      await expect.poll(lost, { timeout: 3000, interval: 20 }).toContain('health 4343');
      writer.write('health', 6666, Date.now() - 10_000); // started and died between two reads: never seen alive
      await expect.poll(lost, { timeout: 3000, interval: 20 }).toContain('health 6666');
      await sleep(1000);
      expect(lost(), 'each once').toEqual(['vrrp 4242', 'ipvs 5555', 'health 4343', 'health 6666']);
    } finally {
      clearInterval(vrrp);
      clearInterval(health);
      child.kill();
      reader.close();
      writer.close();
    }
  });

  it('a watched heartbeat is read when it would turn stale, not polled; silence is seen within the timeout', async () => {
    const writer = EventLog.open({ path, node: 'lb1' });
    const reader = EventLog.open({ path, node: 'lb1' });
    const reads: { at: number; alive: boolean }[] = [];
    const beat = () => writer.beat('fence', 4242);
    beat();
    const beating = setInterval(beat, 50);
    const watch = new LivenessWatch({ log: reader, service: 'fence', timeoutMs: () => 400, onRead: (h) => reads.push({ at: Date.now(), alive: h.alive }) });
    try {
      const from = Date.now();
      watch.start();
      await new Promise((r) => setTimeout(r, 1500));
      const whileBeating = reads.length;
      expect(reads.every((r) => r.alive)).toBe(true);
      // a read when the last beat would turn stale (~every 350 ms): a 100 ms poll would read 15 times
      expect(whileBeating).toBeGreaterThanOrEqual(2);
      expect(whileBeating).toBeLessThanOrEqual(1 + Math.ceil((Date.now() - from) / 300));
      clearInterval(beating);
      const lastBeat = writer.heartbeat('fence')!.ts;
      await expect.poll(() => reads.at(-1)?.alive, { timeout: 3000, interval: 10 }).toBe(false);
      const seenDead = reads.find((r) => !r.alive)!.at;
      expect(seenDead - lastBeat).toBeGreaterThan(400);
      expect(seenDead - lastBeat).toBeLessThan(400 + 300); // the timeout, and a late timer on a busy machine
      const dead = reads.length;
      await new Promise((r) => setTimeout(r, 250));
      expect(reads.length).toBeGreaterThan(dead); // while silent: read every 100 ms, to see it come back at once
      beat();
      await expect.poll(() => reads.at(-1)?.alive, { timeout: 1000, interval: 10 }).toBe(true);
    } finally {
      clearInterval(beating);
      watch.stop();
      reader.close();
      writer.close();
    }
  });
});
