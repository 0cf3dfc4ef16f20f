// Several processes on one log file, as the services of one node are.
import { createInterface } from 'node:readline';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { AlertRules } from '../../services/relay/alerts.js';
import { EventLog, verifyLog } from '../../shared/eventlog/index.js';
import { runFixture, spawnFixture } from '../harness/node.js';
import { waitFor } from '../harness/process.js';
import { tempDir, type TempDir } from '../harness/tmp.js';

let tmp: TempDir;
let path: string;
const children: ChildProcess[] = [];
beforeEach(() => {
  tmp = tempDir('mp');
  path = join(tmp.path, 'events.db');
  EventLog.open({ path, node: 'lb1' }).close();
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); // a failed test leaves no subscriber behind
  tmp.remove();
});

describe('event log across processes', () => {
  it('two processes appending at once give one gap-free, valid chain with every event', async () => {
    // A gate: all three start appending together, however long each process took to start.
    const gate = join(tmp.path, 'go');
    const running = Promise.all([
      runFixture('appender.ts', [path, 'lb1', '3000', '1', 'a', gate]),
      runFixture('appender.ts', [path, 'lb1', '3000', '1', 'b', gate]),
      runFixture('appender.ts', [path, 'lb1', '3000', '50', 'c', gate]),
    ]);
    await waitFor('the appenders to be ready', () => (['a', 'b', 'c'].every((t) => existsSync(`${gate}.ready-${t}`)) ? true : undefined), 30_000, 5);
    writeFileSync(gate, '');
    const [a, b, c] = await running;
    for (const r of [a, b, c]) expect(r, r.stderr).toMatchObject({ code: 0 });
    const log = EventLog.open({ path });
    expect(log.lastSeq()).toBe(9000);
    expect(verifyLog(log)).toMatchObject({ ok: true, checked: 9000 });
    const rows = log.query({});
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 9000 }, (_, i) => i + 1));
    for (const tag of ['a', 'b', 'c']) {
      // each writer's events are all there, in the order it wrote them
      const texts = rows.filter((r) => r.subject === `operator:${tag}`).map((r) => (r.data as { text: string }).text);
      expect(texts).toEqual(Array.from({ length: 3000 }, (_, i) => `${tag}-${i}`));
    }
    // interleaved, not serialised one process after the other
    const firstB = rows.findIndex((r) => r.subject === 'operator:b');
    const lastA = rows.findLastIndex((r) => r.subject === 'operator:a');
    expect(firstB).toBeLessThan(lastA);
    log.close();
  });

  it('opening a log that another process holds locked waits for it instead of failing ("database is locked")', async () => {
    const fresh = join(tmp.path, 'fresh.db');
    const holder = new Database(fresh);
    holder.exec('CREATE TABLE x (y); BEGIN EXCLUSIVE; INSERT INTO x VALUES (1)');
    const opening = runFixture('appender.ts', [fresh, 'lb1', '5', '1', 'a']);
    await new Promise((r) => setTimeout(r, 1500)); // the appender is trying to open by now
    holder.exec('COMMIT');
    holder.close();
    const r = await opening;
    expect(r, r.stderr).toMatchObject({ code: 0 });
    const log = EventLog.open({ path: fresh, mustExist: true });
    expect(log.lastSeq()).toBe(5);
    log.close();
  }, 30_000);

  it('a subscriber in another process sees every event, in order, as it is appended', async () => {
    const total = 2000;
    const child = spawnFixture('subscriber.ts', [path, String(total)]);
    children.push(child);
    const lines: string[] = [];
    const stderr: string[] = [];
    child.stderr.on('data', (d) => stderr.push(String(d)));
    const rl = createInterface({ input: child.stdout });
    const ready = new Promise<void>((resolve) => rl.on('line', (l) => (l === 'ready' ? resolve() : lines.push(l))));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await ready;
    const log = EventLog.open({ path, node: 'lb1' });
    for (let i = 0; i < total; i++) {
      log.append({ type: 'operator.note', source: 'cli', subject: 'operator:p', data: { text: `p-${i}`, author: 'p' } });
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 1)); // let it catch up while we go on
    }
    expect(await exited, stderr.join('')).toBe(0);
    expect(lines).toEqual(Array.from({ length: total }, (_, i) => `${i + 1} p-${i}`));
    log.close();
  });

  it('wakes on every single commit of another process, not only on the next one or the poll', async () => {
    // The subscriber's poll is a minute away: each event must arrive by its own wake-up.
    const total = 30;
    const child = spawnFixture('subscriber.ts', [path, String(total), '60000']);
    children.push(child);
    const seen: string[] = [];
    const rl = createInterface({ input: child.stdout });
    const ready = new Promise<void>((resolve) => rl.on('line', (l) => (l === 'ready' ? resolve() : seen.push(l))));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await ready;
    for (let i = 0; i < total; i++) {
      const writer = EventLog.open({ path, node: 'lb1' }); // as another service would: its own connection
      writer.append({ type: 'operator.note', source: 'cli', subject: 'operator:s', data: { text: `s-${i}`, author: 's' } });
      writer.close();
      await expect.poll(() => seen.length, { timeout: 10_000, interval: 5 }).toBe(i + 1);
    }
    expect(await exited).toBe(0);
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => `${i + 1} s-${i}`));
  });
});

describe('a service that dies of an exception from inside a library', () => {
  it('records why it stopped, is stopped as cleanly as it can be, exits 70, and the relay rules alert on it', async () => {
    const file = join(tmp.path, 'vigil.yaml');
    writeFileSync(file, `cluster: t\nnodes: { lb1: {} }\nlog: { path: events.db }\nzookeeper: { hosts: [127.0.0.1:2181] }\n`);
    const r = await runFixture('crashing-service.ts', ['--config', file, '--node', 'lb1']);
    expect(r.code).toBe(70);
    expect(r.stderr).toContain('crashing-service: stop called');
    expect(r.stderr).toMatch(/"level":"error","msg":"uncaught exception: the service stops and exits 70"/);
    const log = EventLog.open({ path, readOnly: true });
    try {
      const [stopped] = log.query({ types: ['service.stopped'] });
      expect(stopped!.data).toMatchObject({ service: 'health', reason: 'error', error: 'uncaught exception: Unknown code: 1001783299 (thrown from inside a library)' });
      const alerts = new AlertRules({ node: 'lb1', vipUnownedMs: 3000, leaseDeniedMs: 3000, groupAddresses: new Map() }).apply(stopped!);
      expect(alerts.map((a) => `${a.severity}/${a.kind}`)).toEqual(['critical/service_gone']);
    } finally {
      log.close();
    }
  });
});

describe('a service whose own stop never ends', () => {
  it('records its stop and exits on SIGTERM anyway, saying what it did not finish', async () => {
    const file = join(tmp.path, 'vigil.yaml');
    writeFileSync(file, `cluster: t\nnodes: { lb1: {} }\nlog: { path: events.db }\nzookeeper: { hosts: [127.0.0.1:2181] }\n`);
    const child = spawnFixture('stuck-service.ts', ['--config', file, '--node', 'lb1']);
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve) => createInterface({ input: child.stdout }).on('line', (l) => l === 'ready' && resolve()));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('stuck-service: stop called');
    expect(stderr).toMatch(/"level":"error","msg":"the service did not finish stopping within \d+ ms of SIGTERM; it records its stop and exits anyway"/);
    const log = EventLog.open({ path, readOnly: true });
    try {
      expect(log.query({ types: ['service.stopped'] }).map((e) => e.data)).toEqual([expect.objectContaining({ service: 'health', reason: 'signal', signal: 'SIGTERM' })]);
    } finally {
      log.close();
    }
  });
});
