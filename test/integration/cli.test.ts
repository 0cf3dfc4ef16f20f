// The vigil command as an operator runs it (the built bin, in its own process).
import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventLog } from '../../shared/eventlog/index.js';
import { smallDisk } from '../harness/disk.js';
import { spawnVigil, vigil } from '../harness/node.js';
import { tempDir, type TempDir } from '../harness/tmp.js';

let tmp: TempDir;
let db: string;
beforeEach(() => {
  tmp = tempDir('cli');
  db = join(tmp.path, 'lb1.db');
});
afterEach(() => tmp.remove());

function seed(): EventLog {
  const log = EventLog.open({ path: db, node: 'lb1' });
  const now = Date.now();
  log.appendBatch([
    { type: 'operator.note', source: 'cli', subject: 'operator:ann', ts: now - 3_600_000, data: { text: 'an hour ago', author: 'ann' } },
    { type: 'vrrp.state_changed', source: 'vrrp', subject: 'vrrp:VI_1', ts: now - 60_000, data: { instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer', priority: 150 } },
    { type: 'vip.bound', source: 'fence', subject: 'vip:web', ts: now - 59_000, causation: 2, data: { group: 'web', epoch: 7, addresses: [{ address: '10.0.0.31', prefix: 24, interface: 'eth0' }], valid_lft_s: 2 } },
  ]);
  return log;
}

describe('vigil config check', () => {
  it('prints a summary of a valid file', async () => {
    const r = await vigil(['config', 'check', 'deploy/vigil.example.yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/OK, cluster prod-lb/);
    expect(r.stdout).toMatch(/lb1 VI_1: vrid 51 on eth0, VRRPv3 every 0.1 s, priority 150/);
    expect(r.stdout).toMatch(/profile default: ZooKeeper session 1\.5 s, fence liveness 0\.5 s/);
    const j = await vigil(['config', 'check', 'deploy/vigil.example.yaml', '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: true, cluster: 'prod-lb', nodes: ['lb1', 'lb2'] });
  });

  it('names file, line and field of every problem and exits 2', async () => {
    const file = join(tmp.path, 'bad.yaml');
    writeFileSync(file, 'cluster: t\nnodes: { lb1: {} }\nzookeeper: { hosts: [127.0.0.1:2181] }\nvrrp_instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 256\n    advert: 1\n');
    const r = await vigil(['config', 'check', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:7:5: vrrp_instances.VI_1.virtual_router_id: must be at most 255`);
    expect(r.stderr).toContain(`${file}:8:5: vrrp_instances.VI_1.advert: unknown field`);
    expect(r.stderr).toMatch(/2 problems in the configuration/);
    expect((await vigil(['config', 'check', join(tmp.path, 'none.yaml')])).stderr).toMatch(/none\.yaml:0:0: \(file\): cannot read: ENOENT/);
  });
});

describe('vigil log', () => {
  it('shows events as a table, filters them, and prints JSON lines', async () => {
    seed().close();
    const all = await vigil(['log', '--db', db]);
    expect(all.code).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/SEQ\s+TIME \(UTC\)\s+NODE\s+TYPE\s+SUBJECT\s+WHAT/);
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(/^\s+2 .* lb1 +vrrp\.state_changed +vrrp:VI_1 +BACKUP -> MASTER \(master_down_timer\) prio 150/);
    expect(lines[3]).toMatch(/bound 10\.0\.0\.31\/24 dev eth0 \(epoch 7\) \(after #2\)/);

    const since = await vigil(['log', '--db', db, '--since', '10m', '--json']);
    expect(since.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([2, 3]);
    const bySubject = await vigil(['log', '--db', db, '--subject', 'vip:web', '--json']);
    expect(JSON.parse(bySubject.stdout)).toMatchObject({ seq: 3, type: 'vip.bound', data: { epoch: 7 } });
    const byType = await vigil(['log', '--db', db, '--type', 'vrrp.*,operator.note', '--json']);
    expect(byType.stdout.trim().split('\n')).toHaveLength(2);
    const limited = await vigil(['log', '--db', db, '--limit', '1']);
    expect(limited.stdout).toMatch(/vip\.bound/);
    expect(limited.stdout).not.toMatch(/state_changed/);
    expect(limited.stderr).toMatch(/newest 1 matching events/);
    // a node's folder, as vigil postmortem takes it: the events.db in it
    const folder = join(tmp.path, 'd1');
    mkdirSync(folder);
    for (const suffix of ['', '-wal']) if (existsSync(db + suffix)) copyFileSync(db + suffix, join(folder, 'events.db' + suffix));
    expect((await vigil(['log', '--db', folder])).stdout).toBe(all.stdout);
  });

  it('refuses what it cannot read, with exit status 2', async () => {
    seed().close();
    expect(await vigil(['log', '--db', db, '--since', 'last tuesday'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--since: cannot read time "last tuesday"/) });
    expect(await vigil(['log', '--db', db, '--bogus'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/Unknown option '--bogus'/) });
    expect(await vigil(['log', '--db', join(tmp.path, 'nope.db')])).toMatchObject({ code: 2, stderr: expect.stringMatching(/no event log at/) });
    expect(await vigil(['log', '--db', tmp.path])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--db .*: a folder without events\.db in it/) });
    expect(await vigil(['log'], { VIGIL_CONFIG: '' })).toMatchObject({ code: 2 });
  });

  it('finds the log through the config file and the node name', async () => {
    const cfg = join(tmp.path, 'vigil.yaml');
    writeFileSync(cfg, 'cluster: t\nnodes: { lb1: {}, lb2: {} }\nlog: { path: "{node}.db" }\nzookeeper: { hosts: [127.0.0.1:2181] }\n');
    seed().close();
    const r = await vigil(['log', '--config', cfg, '--node', 'lb1', '--subject', 'vrrp:VI_1', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ seq: 2 });
    expect(await vigil(['log', '--config', cfg])).toMatchObject({ code: 2, stderr: expect.stringMatching(/which node is this\? give --node/) });
    expect(await vigil(['log', '--config', cfg, '--node', 'lb9'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/"lb9" is not in the configuration/) });
  });

  it('note appends an operator annotation', async () => {
    seed().close();
    const r = await vigil(['log', 'note', '--db', db, '--author', 'ann', 'maintenance on lb2 started']);
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^noted as seq 4 \(lb1:[0-9a-f]+:4\)/) });
    const shown = await vigil(['log', '--db', db, '--type', 'operator.note', '--json']);
    expect(JSON.parse(shown.stdout.trim().split('\n').pop()!)).toMatchObject({ subject: 'operator:ann', data: { text: 'maintenance on lb2 started', author: 'ann' } });
    expect(await vigil(['log', 'note', '--db', db])).toMatchObject({ code: 2 });
  });

  it('verify passes on an intact log and names the first bad seq of a tampered one', async () => {
    const log = seed();
    for (let i = 0; i < 20; i++) log.append({ type: 'operator.note', source: 'cli', subject: 'operator:x', data: { text: `n${i}`, author: 'x' } });
    log.close();
    const ok = await vigil(['log', 'verify', '--db', db]);
    expect(ok).toMatchObject({ code: 0, stdout: expect.stringMatching(/chain intact, 23 events \(seq 1\.\.23\)/) });
    execFileSync('sqlite3', [db, "INSERT INTO subject_index VALUES ('operator:eve', 5)"]);
    const wrongIndex = await vigil(['log', 'verify', '--db', db]);
    expect(wrongIndex.code).toBe(1);
    expect(wrongIndex.stdout).toMatch(/chain intact, 23 events/);
    expect(wrongIndex.stdout).toMatch(/SUBJECT INDEX WRONG: entry \("operator:eve", seq 5\) is not an event of the log up to seq 0/);
    execFileSync('sqlite3', [db, `DROP TRIGGER events_no_update; UPDATE events SET ts = ts + 1 WHERE seq = 12;`]);
    const bad = await vigil(['log', 'verify', '--db', db]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/BROKEN at seq 12: hash mismatch at seq 12/);
    expect(bad.stdout).toMatch(/append-only triggers missing \(events_no_update\)/);
    const json = JSON.parse((await vigil(['log', 'verify', '--db', db, '--json'])).stdout) as { ok: boolean; firstBadSeq: number };
    expect(json).toMatchObject({ ok: false, firstBadSeq: 12 });
  });

  it('--follow prints events appended by another process as they come', async () => {
    const log = seed();
    const child = spawnVigil(['log', '--db', db, '--follow', '--type', 'operator.note', '--json']);
    const seen: { seq: number }[] = [];
    createInterface({ input: child.stdout }).on('line', (l) => seen.push(JSON.parse(l) as { seq: number }));
    try {
      await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(1); // the old note
      log.append({ type: 'vrrp.priority_changed', source: 'vrrp', subject: 'vrrp:VI_1', data: { instance: 'VI_1', from: 150, to: 130, reason: 'chk_haproxy failed' } });
      log.append({ type: 'operator.note', source: 'cli', subject: 'operator:bob', data: { text: 'live', author: 'bob' } });
      await expect.poll(() => seen.map((e) => e.seq), { timeout: 5000 }).toEqual([1, 5]);
    } finally {
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      log.close();
    }
  });

  it('--follow holds bounded memory with a reader that does not read, over 1,000,000 events, and ends on SIGINT', async () => {
    const log = seed();
    const child = spawnVigil(['log', '--follow', '--db', db]); // stdout is never read: the pipe fills
    try {
      await new Promise((r) => setTimeout(r, 1000));
      for (let i = 0; i < 1_000_000; i += 1000) {
        log.appendBatch(Array.from({ length: 1000 }, (_, j) => ({ type: 'operator.note' as const, source: 'cli' as const, subject: 'operator:load', data: { text: `event ${i + j} ${'x'.repeat(80)}`, author: 'load' } })));
      }
      await new Promise((r) => setTimeout(r, 2000));
      const peakKiB = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]);
      expect(peakKiB / 1024, 'peak resident memory (MiB)').toBeLessThan(150);
      const ended = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const t = performance.now();
      child.kill('SIGINT');
      expect(await ended).toBe(0);
      expect(performance.now() - t).toBeLessThan(3000);
    } finally {
      child.kill('SIGKILL');
      log.close();
    }
  }, 120_000);

  it('reads a log on a read-only mount (log, verify), and refuses to write there', async () => {
    seed().close();
    const ro = join(tmp.path, 'ro');
    const disk = smallDisk(ro, 8);
    expect(disk.path).toBe(ro);
    copyFileSync(db, join(ro, 'lb1.db'));
    execFileSync('mount', ['-o', 'remount,ro', ro]);
    const r = await vigil(['log', '--db', join(ro, 'lb1.db')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/vip\.bound/);
    const v = await vigil(['log', 'verify', '--db', join(ro, 'lb1.db')]);
    expect(v.stdout).toMatch(/chain intact, 3 events/);
    expect(v.code).toBe(0);
    const n = await vigil(['log', 'note', 'hello', '--db', join(ro, 'lb1.db')]);
    expect(n.code).toBe(2);
    expect(n.stderr).toMatch(/^vigil: cannot open event log .*lb1\.db: .*read-only filesystem or not writable: it can be read, not appended to/m);
  });

  it('verify names the damaged range of a file with a damaged page and exits 1; appends to it are refused', async () => {
    const log = EventLog.open({ path: db, node: 'lb1' });
    for (let i = 0; i < 5000; i += 500) log.appendBatch(Array.from({ length: 500 }, (_, j) => ({ type: 'operator.note' as const, source: 'cli' as const, subject: 'operator:x', data: { text: `note ${i + j} ${'x'.repeat(100)}`, author: 'x' } })));
    log.close();
    const fd = openSync(db, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, 60 * 4096); // one page in the middle, garbage
    closeSync(fd);
    const v = await vigil(['log', 'verify', '--db', db]);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/BROKEN at seq (\d+): cannot read seqs? \1(\.\.\d+)?: database disk image is malformed .*seq \d+ on can be read again/);
    // A service's log (with its checkpoint thread) checks the file once at start, then refuses appends.
    const appender = EventLog.open({ path: db, node: 'lb1', backgroundCheckpoint: true });
    try {
      await expect.poll(() => appender.damaged, { timeout: 5000 }).toMatch(/malformed/);
      expect(() => appender.append({ type: 'operator.note', source: 'cli', subject: 'operator:x', data: { text: 'more', author: 'x' } })).toThrow(/is damaged .* appends are refused/);
    } finally {
      appender.close();
    }
  });

  it('run names the services and refuses unknown ones', async () => {
    expect(await vigil(['run', 'dhcp'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown service "dhcp"/) });
    expect(await vigil(['frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command/) });
  });
});

describe('vigil status', () => {
  it('says which services of the node are alive from their heartbeats; --service is a health check (exit 0 alive, 2 not)', async () => {
    const log = EventLog.open({ path: db, node: 'lb1' });
    log.beat('fence', 4242);
    log.beat('vrrp', 4343, Date.now() - 60_000); // silent for a minute: hung, or its disk refuses writes
    log.beat('relay', 4444, 0); // recorded its stop
    log.close();
    // (--within 30: this test's own steps may take seconds on a busy machine)
    const fence = await vigil(['status', '--db', db, '--service', 'fence', '--within', '30']);
    expect(fence.code, fence.stderr).toBe(0);
    expect(fence.stdout).toMatch(/^fence +alive +pid 4242, last heartbeat \d+ ms ago\n$/);
    for (const [service, state] of [['vrrp', 'silent'], ['relay', 'stopped'], ['ipvs', 'never ran']]) {
      const r = await vigil(['status', '--db', db, '--service', service!]);
      expect(r.code, `${service}: ${r.stdout}`).toBe(2);
      expect(r.stdout).toContain(state);
    }
    // a heartbeat a minute old is alive for --within 120
    expect((await vigil(['status', '--db', db, '--service', 'vrrp', '--within', '120'])).code).toBe(0);
    const all = await vigil(['status', '--db', db, '--json', '--within', '30']);
    expect(all.code).toBe(2);
    const j = JSON.parse(all.stdout) as { ok: boolean; services: { service: string; state: string }[] };
    expect(j.ok).toBe(false);
    expect(j.services.map((s) => `${s.service}:${s.state}`)).toEqual(['vrrp:silent', 'fence:alive', 'health:never ran', 'ipvs:never ran', 'relay:stopped']);
    const bad = await vigil(['status', '--db', db, '--service', 'dns']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--service: "dns" is not a service/);
  });
});

describe('help and version', () => {
  it('every verb and sub-verb answers --help with its usage on stdout and exit 0; --version names the version', async () => {
    const cases: [string[], RegExp][] = [
      [['--help'], /^vigil — /],
      [['run', '--help'], /^vigil run <service>/],
      ...(['vrrp', 'fence', 'health', 'ipvs', 'relay'].map((s) => [['run', s, '--help'], new RegExp(`^vigil run ${s} \\[--config FILE\\]`)] as [string[], RegExp])),
      [['log', '--help'], /^vigil log /],
      [['log', 'verify', '--help'], /vigil log verify/],
      [['log', 'note', '--help'], /vigil log note/],
      [['config', '--help'], /^vigil config check/],
      [['config', 'check', '--help'], /^vigil config check/],
      [['status', '--help'], /^vigil status/],
      [['zk', '--help'], /^vigil zk/],
      [['health', '--help'], /^vigil health/],
      [['alerts', '--help'], /^vigil alerts/],
      [['postmortem', '--help'], /^vigil postmortem/],
      [['demo', '--help'], /^vigil demo/],
    ];
    for (const [args, usage] of cases) {
      const r = await vigil(args);
      expect(r.code, `vigil ${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout, `vigil ${args.join(' ')}`).toMatch(usage);
    }
    const v = await vigil(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^vigil \d+\.\d+\.\d+ \(node v20\.\d+\.\d+\)\n$/);
  });
});
