// The IPVS service against the real kernel table, inside the test VM (as root, with
// ip_vs loaded). `vigil run ipvs` runs as a process; the tests change health in its log,
// or the table by hand, and read the table back with ipvsadm -Sn.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logger.js';
import { EventLog, type NewEvent, type StoredEvent } from '../../shared/eventlog/index.js';
import { Ipvsadm } from '../../services/ipvs/ipvsadm.js';
import { IpvsService } from '../../services/ipvs/shell.js';
import { readEvents } from '../harness/log.js';
import { spawnVigil } from '../harness/node.js';
import { waitFor } from '../harness/process.js';
import { tempDir, type TempDir } from '../harness/tmp.js';

const ipvsadm = (...args: string[]) => execFileSync('ipvsadm', args, { encoding: 'utf8' });
const saved = () => ipvsadm('-Sn');

const CONFIG = `cluster: c
nodes: { n1: {} }
log: { path: events.db }
zookeeper: { hosts: ["127.0.0.1:1"] }
global_defs: { ipvs_drift_check: 0.5 }
virtual_servers:
  web:
    ip: 10.0.0.31
    port: 80
    lb_algo: wrr
    lb_kind: NAT
    persistence_timeout: 60
    quorum: 2
    sorry_server: { ip: 10.0.0.99, port: 8080 }
    real_servers:
      - { ip: 10.0.0.1, weight: 1, inhibit_on_failure: true, checks: [{ type: TCP_CHECK }] }
      - { ip: 10.0.0.2, weight: 1, checks: [{ type: TCP_CHECK }] }
      - { ip: 10.0.0.3, weight: 3, checks: [{ type: TCP_CHECK }] }
  dns:
    ip: 10.0.0.31
    port: 53
    protocol: UDP
    lb_algo: rr
    lb_kind: DR
    real_servers: [{ ip: 10.0.0.5 }, { ip: 10.0.0.6 }]
  marked:
    fwmark: 7
    lb_algo: sh
    lb_kind: TUN
    real_servers: [{ ip: 10.0.0.7, weight: 2 }]
`;

const EXPECTED = `-A -t 10.0.0.31:80 -s wrr -p 60
-a -t 10.0.0.31:80 -r 10.0.0.1:80 -m -w 1
-a -t 10.0.0.31:80 -r 10.0.0.2:80 -m -w 1
-a -t 10.0.0.31:80 -r 10.0.0.3:80 -m -w 3
-A -u 10.0.0.31:53 -s rr
-a -u 10.0.0.31:53 -r 10.0.0.5:53 -g -w 1
-a -u 10.0.0.31:53 -r 10.0.0.6:53 -g -w 1
-A -f 7 -s sh
-a -f 7 -r 10.0.0.7:0 -i -w 2 --tun-type ipip
`;

/** ipvsadm -Sn lines, sorted: the kernel lists services by hash, not by creation. */
const sortedLines = (text: string) => text.trim().split('\n').sort();

let d: TempDir;
let file: string;
let db: string;
let log: EventLog;

beforeAll(() => {
  d = tempDir('ipvs-vm');
  file = join(d.path, 'vigil.yaml');
  writeFileSync(file, CONFIG);
  db = join(d.path, 'events.db');
  log = EventLog.open({ path: db, node: 'n1' });
  ipvsadm('-C');
});

afterAll(() => {
  log.close();
  d.remove();
});

/** Services a failed test left running: they would repair the next test's table. */
const leftover = new Set<ChildProcess>();
afterEach(() => {
  for (const c of leftover) c.kill('SIGKILL');
  leftover.clear();
});

function startIpvs() {
  const child = spawnVigil(['run', 'ipvs', '--config', file]);
  leftover.add(child);
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    stderr: () => stderr,
    /** Resolves when the first reconcile is done (the service then follows the log). */
    ready: () => waitFor('the ipvs service to follow the log', () => (stderr.includes('"msg":"following the log"') ? true : undefined), 60_000, 100),
    async stop() {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      leftover.delete(child);
    },
  };
}

const health = (ip: string, to: 'up' | 'down'): NewEvent => ({
  type: 'health.changed', source: 'health', subject: `rs:web/${ip}:80`,
  data: { target: `${ip}:80`, check: 'TCP_CHECK#0', from: to === 'up' ? 'down' : 'up', to, reason: 'test' },
});
const changes = (): StoredEvent[] => readEvents(db, ['ipvs.changed']);
const lines = (events: StoredEvent[]) => events.map((e) => (e.data as { line: string }).line);
const tableIs = (expected: string) => waitFor(`the table to be\n${expected}`, () => (JSON.stringify(sortedLines(saved())) === JSON.stringify(sortedLines(expected)) ? true : undefined), 60_000, 100);

describe('vigil run ipvs on a real IPVS table', () => {
  it('creates every service from empty, each line recorded as an event', async () => {
    const svc = startIpvs();
    await tableIs(EXPECTED);
    expect(sortedLines(lines(changes()).join('\n'))).toEqual(sortedLines(EXPECTED.replace(' --tun-type ipip', '')));
    const started = readEvents(db, ['service.started'])[0]!;
    expect(changes().every((e) => e.causation === started.seq)).toBe(true);
    const subjectOf = (service: string) => changes().find((e) => (e.data as { service: string }).service === service)!.subject;
    expect([subjectOf('TCP 10.0.0.31:80'), subjectOf('UDP 10.0.0.31:53'), subjectOf('FWM 7')]).toEqual(['vs:web', 'vs:dns', 'vs:marked']);

    // A real server down: with inhibit_on_failure weight 0, without it removed; the health event is the cause.
    const down1 = log.append(health('10.0.0.1', 'down'));
    const down2 = log.append(health('10.0.0.2', 'down'));
    await tableIs(EXPECTED.replace('-r 10.0.0.1:80 -m -w 1', '-r 10.0.0.1:80 -m -w 0').replace('-a -t 10.0.0.31:80 -r 10.0.0.2:80 -m -w 1\n', ''));
    const caused = changes().filter((e) => e.causation === down1.seq || e.causation === down2.seq);
    expect(lines(caused).sort()).toEqual(['-d -t 10.0.0.31:80 -r 10.0.0.2:80', '-e -t 10.0.0.31:80 -r 10.0.0.1:80 -m -w 0']);

    // Quorum 2 lost (only 10.0.0.3 ... is down too): the sorry server serves alone, and it is recorded.
    const down3 = log.append({ ...health('10.0.0.3', 'down') });
    await tableIs(EXPECTED.replace(/-a -t 10\.0\.0\.31:80 .*\n/g, '').replace('-A -t 10.0.0.31:80 -s wrr -p 60\n', '-A -t 10.0.0.31:80 -s wrr -p 60\n-a -t 10.0.0.31:80 -r 10.0.0.99:8080 -m -w 1\n'));
    const quorum = readEvents(db, ['ipvs.quorum_changed']);
    expect(quorum.map((e) => e.data)).toEqual([{ service: 'TCP 10.0.0.31:80', state: 'lost', up_weight: 0, quorum: 2, hysteresis: 0, sorry_server: '10.0.0.99:8080' }]);
    expect(quorum[0]!.causation).toBe(down3.seq);

    // Back up: the real servers return, the sorry server goes.
    log.appendBatch([health('10.0.0.1', 'up'), health('10.0.0.2', 'up'), health('10.0.0.3', 'up')]);
    await tableIs(EXPECTED);
    expect(readEvents(db, ['ipvs.quorum_changed']).map((e) => (e.data as { state: string }).state)).toEqual(['lost', 'regained']);
    await svc.stop();
  });

  it('repairs changes made by hand with ipvsadm, and records them as drift first', async () => {
    const svc = startIpvs();
    await svc.ready();
    await tableIs(EXPECTED);
    const before = log.lastSeq();
    // By hand (a drift check may fall between these commands: the differences are then in two events).
    ipvsadm('-e', '-t', '10.0.0.31:80', '-r', '10.0.0.3:80', '-m', '-w', '99');
    ipvsadm('-A', '-t', '10.9.9.9:22', '-s', 'rr');
    ipvsadm('-d', '-u', '10.0.0.31:53', '-r', '10.0.0.6:53');
    const drifts = () => readEvents(db, ['ipvs.drift']).filter((e) => e.seq > before);
    const differences = () => drifts().flatMap((e) => (e.data as { differences: string[] }).differences).sort();
    await waitFor('drift events naming all three changes', () => (differences().length === 3 ? true : undefined), 30_000, 100).catch((err: Error) => {
      throw new Error(`${err.message}; recorded: ${JSON.stringify(differences())}, table:\n${saved()}`);
    });
    await tableIs(EXPECTED);
    expect(differences()).toEqual([
      'differs: -e -t 10.0.0.31:80 -r 10.0.0.3:80 -m -w 3',
      'missing: -a -u 10.0.0.31:53 -r 10.0.0.6:53 -g -w 1',
      'not configured: -D -t 10.9.9.9:22',
    ]);
    const repairs = changes().filter((e) => drifts().some((d) => d.seq === e.causation));
    expect(lines(repairs).sort()).toEqual(['-D -t 10.9.9.9:22', '-a -u 10.0.0.31:53 -r 10.0.0.6:53 -g -w 1', '-e -t 10.0.0.31:80 -r 10.0.0.3:80 -m -w 3']);
    expect(repairs.find((e) => (e.data as { op: string }).op === 'del_service')!.subject).toBe('vs:unconfigured');
    await svc.stop();
  });

  it('a restart with a table that is already right changes nothing', async () => {
    await tableIs(EXPECTED);
    const n = changes().length;
    const drifts = readEvents(db, ['ipvs.drift']).length;
    const svc = startIpvs();
    await svc.ready();
    await new Promise((r) => setTimeout(r, 1000)); // two drift checks
    expect(changes()).toHaveLength(n);
    expect(readEvents(db, ['ipvs.drift'])).toHaveLength(drifts);
    await svc.stop();
    expect(sortedLines(saved())).toEqual(sortedLines(EXPECTED));
  });

  it('a line the kernel refuses is reported and retried; the other lines apply and only they are recorded', async () => {
    ipvsadm('-C');
    // Debian 12's kernel (6.1) has no "twos" scheduler: ipvsadm -R refuses that one line and goes on.
    const config = parseConfig(`cluster: c
nodes: { n1: {} }
zookeeper: { hosts: ["127.0.0.1:1"] }
global_defs: { ipvs_drift_check: 3600 }
virtual_servers:
  good: { ip: 10.0.5.1, port: 80, lb_algo: rr, real_servers: [{ ip: 10.0.6.1 }] }
  bad: { ip: 10.0.5.2, port: 80, lb_algo: twos, real_servers: [{ ip: 10.0.6.2 }] }
`, file).config;
    const logged: string[] = [];
    const counting = new Ipvsadm();
    const before = log.lastSeq();
    const svc = new IpvsService({ config, node: 'n1', log, logger: createLogger({ service: 'ipvs' }, { level: 'error', write: (l) => void logged.push(l) }), ipvsadm: counting });
    await svc.start();
    expect(sortedLines(saved())).toEqual(['-A -t 10.0.5.1:80 -s rr', '-a -t 10.0.5.1:80 -r 10.0.6.1:80 -m -w 1']);
    const recorded = changes().filter((e) => e.seq > before);
    expect(lines(recorded).sort()).toEqual(['-A -t 10.0.5.1:80 -s rr', '-a -t 10.0.5.1:80 -r 10.0.6.1:80 -m -w 1']);
    const error = JSON.parse(logged[0]!) as { msg: string; complaints: string; failed: string[] };
    expect(error.msg).toBe('ipvsadm could not apply every change; retrying');
    expect(error.complaints).toContain('Scheduler or persistence engine not found');
    expect(error.failed.sort()).toEqual(['-A -t 10.0.5.2:80 -s twos', '-a -t 10.0.5.2:80 -r 10.0.6.2:80 -m -w 1']);
    const runs = counting.invocations;
    await waitFor('a retry', () => (counting.invocations > runs ? true : undefined), 30_000, 50);
    await svc.stop();
    ipvsadm('-C');
  });

  it('one ipvsadm process per reconcile after the first read', async () => {
    ipvsadm('-C');
    const config = parseConfig(CONFIG.replace('ipvs_drift_check: 0.5', 'ipvs_drift_check: 3600'), file).config;
    const counting = new Ipvsadm();
    const svc = new IpvsService({ config, node: 'n1', log, logger: createLogger({ service: 'ipvs' }, { level: 'error' }), ipvsadm: counting });
    await svc.start();
    expect(counting.invocations).toBe(2); // read, then the one batch from empty
    await tableIs(EXPECTED);
    log.append(health('10.0.0.2', 'down'));
    await waitFor('the reconcile', () => (counting.invocations === 3 ? true : undefined), 30_000, 20);
    await svc.settled();
    expect(counting.invocations).toBe(3);
    expect(saved()).not.toContain('10.0.0.2:80');
    await svc.stop();
  });

  it('a drift check runs ipvsadm only when /proc/net/ip_vs changed (or each minute); a change by hand is still repaired', async () => {
    ipvsadm('-C');
    log.append(health('10.0.0.2', 'up')); // (down since the test before)
    const config = parseConfig(CONFIG, file).config; // a drift check every 0.5 s
    const counting = new Ipvsadm();
    const svc = new IpvsService({ config, node: 'n1', log, logger: createLogger({ service: 'ipvs' }, { level: 'error' }), ipvsadm: counting });
    try {
      await svc.start();
      await tableIs(EXPECTED);
      await new Promise((r) => setTimeout(r, 1500)); // the first check after the batch reads in full
      const runs = counting.invocations;
      await new Promise((r) => setTimeout(r, 3000)); // six checks of an unchanged table
      expect(counting.invocations).toBe(runs);
      ipvsadm('-e', '-t', '10.0.0.31:80', '-r', '10.0.0.3:80', '-m', '-w', '99');
      await waitFor('the weight by hand to be repaired', () => (saved().includes('-r 10.0.0.3:80 -m -w 3') ? true : undefined), 30_000, 100);
      await new Promise((r) => setTimeout(r, 1500));
      expect(counting.invocations).toBe(runs + 3); // the read that saw it, the repair, the read after the repair
      await tableIs(EXPECTED);
    } finally {
      await svc.stop();
    }
  });

  it('a reload applies only the difference: an unchanged virtual server is not touched, a new one is added, a removed one deleted, a changed one edited', async () => {
    ipvsadm('-C');
    const head = `cluster: c
nodes: { n1: {} }
zookeeper: { hosts: ["127.0.0.1:1"] }
global_defs: { ipvs_drift_check: 3600 }
virtual_servers:
`;
    const first = parseConfig(`${head}  same: { ip: 10.0.7.1, port: 80, lb_algo: rr, real_servers: [{ ip: 10.0.8.1 }] }
  gone: { ip: 10.0.7.2, port: 80, lb_algo: rr, real_servers: [{ ip: 10.0.8.2 }] }
  edited: { ip: 10.0.7.3, port: 80, lb_algo: rr, real_servers: [{ ip: 10.0.8.3, weight: 1 }] }
`, file).config;
    const second = parseConfig(`${head}  same: { ip: 10.0.7.1, port: 80, lb_algo: rr, real_servers: [{ ip: 10.0.8.1 }] }
  edited: { ip: 10.0.7.3, port: 80, lb_algo: rr, real_servers: [{ ip: 10.0.8.3, weight: 5 }] }
  added: { ip: 10.0.7.4, port: 80, lb_algo: rr, real_servers: [{ ip: 10.0.8.4 }] }
`, file).config;
    const svc = new IpvsService({ config: first, node: 'n1', log, logger: createLogger({ service: 'ipvs' }, { level: 'error' }) });
    await svc.start();
    const before = log.lastSeq();
    const changed = await svc.reload(second);
    expect(changed).toEqual({ added: ['virtual_server added'], removed: ['virtual_server gone'], changed: ['virtual_server edited'], unchanged: ['virtual_server same'] });
    expect(lines(changes().filter((e) => e.seq > before)).sort()).toEqual([
      '-A -t 10.0.7.4:80 -s rr',
      '-D -t 10.0.7.2:80',
      '-a -t 10.0.7.4:80 -r 10.0.8.4:80 -m -w 1',
      '-e -t 10.0.7.3:80 -r 10.0.8.3:80 -m -w 5',
    ]);
    expect(sortedLines(saved())).toEqual(sortedLines(`-A -t 10.0.7.1:80 -s rr
-a -t 10.0.7.1:80 -r 10.0.8.1:80 -m -w 1
-A -t 10.0.7.3:80 -s rr
-a -t 10.0.7.3:80 -r 10.0.8.3:80 -m -w 5
-A -t 10.0.7.4:80 -s rr
-a -t 10.0.7.4:80 -r 10.0.8.4:80 -m -w 1`));
    await svc.stop();
    ipvsadm('-C');
  });
});
