// The relay's alert rules and notify scripts, with a real nats-server, a real ZooKeeper and
// real scripts: scripted event sequences and ZooKeeper changes in, alerts out on NATS (read
// back with `vigil alerts`), scripts run in order with keepalived's arguments.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { NOTIFY_CURSOR } from '../../services/relay/notifier.js';
import { EventLog, type NewEvent } from '../../shared/eventlog/index.js';
import { alertMessageSchema, type AlertMessage } from '../../shared/nats.js';
import { ZkClient } from '../../shared/zookeeper/client.js';
import { readEvents } from '../harness/log.js';
import { startNats } from '../harness/nats.js';
import { spawnVigil, vigil } from '../harness/node.js';
import { waitFor } from '../harness/process.js';
import { teardown } from '../harness/teardown.js';
import type { TempDir } from '../harness/tmp.js';
import { startZooKeeper } from '../harness/zookeeper.js';

const cleanups = teardown();

const scratch = (): TempDir => cleanups.tempDir('relay-alerts');

function openLog(db: string, node: string): EventLog {
  const log = EventLog.open({ path: db, node });
  cleanups.push(() => log.close());
  return log;
}

/** A vigil process, killed at cleanup if the test did not stop it. */
function spawn(args: string[]) {
  const child = spawnVigil(args);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(() => (child.exitCode === null && child.signalCode === null ? (child.kill('SIGKILL'), exited) : undefined));
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
  return { child, exited, lines, stderr: () => stderr };
}

async function zkSession(connectString: string): Promise<ZkClient> {
  const c = await ZkClient.connect({ connectString, sessionTimeoutMs: 4000, connectTimeoutMs: 5000, requestTimeoutMs: 4000 });
  cleanups.push(() => c.close());
  return c;
}

const alertsOf = (db: string) => readEvents(db, ['relay.alert']);

describe('alert rules', () => {
  it('raise each alert once on NATS, from scripted events, ZooKeeper changes and a silent service; vigil alerts prints them', async () => {
    const d = scratch();
    const nats = await startNats();
    cleanups.push(() => nats.stop());
    const zk = await startZooKeeper();
    cleanups.push(() => zk.stop());
    const file = join(d.path, 'vigil.yaml');
    writeFileSync(file, `cluster: c
nodes: { n1: {}, n2: {}, n3: {} }
log: { path: "events-{node}.db" }
zookeeper: { hosts: ["${zk.connectString}"] }
nats: { servers: ["${nats.url}"], stream: VIGIL }
alerts: { vip_unowned_ms: 800, service_silent_ms: 500, lease_denied_ms: 500 }
vrrp_instances: { VI_1: { interface: eth0, virtual_router_id: 51 } }
vip_groups: { web: { instance: VI_1, addresses: ["10.0.0.31/24 dev eth0"] } }
virtual_servers:
  web:
    ip: 10.0.0.31
    port: 80
    sorry_server: { ip: 10.0.0.99, port: 80 }
    real_servers: [{ ip: 10.0.0.29, checks: [{ type: TCP_CHECK }] }]
`);
    const db = join(d.path, 'events-n2.db');
    const log = openLog(db, 'n2');

    // n2 and n3 are alive (their fence services' nodes), n3 holds the lease of web.
    const asN2 = await zkSession(zk.connectString);
    const asN3 = await zkSession(zk.connectString);
    await asN2.mkdirp('/vigil/c/nodes');
    await asN2.mkdirp('/vigil/c/vips/web/lock');
    await asN2.create('/vigil/c/nodes/n2', Buffer.from('{}'), 'ephemeral');
    await asN3.create('/vigil/c/nodes/n3', Buffer.from('{}'), 'ephemeral');
    const n3Candidate = await asN3.create('/vigil/c/vips/web/lock/c-n3-', Buffer.from('{}'), 'ephemeral_sequential');

    const relay = spawn(['run', 'relay', '--config', file, '--node', 'n2']);
    await waitFor('the first lease observation', () => readEvents(db, ['relay.lease_observed']).find((e) => (e.data as { holder: { node: string } | null }).holder?.node === 'n3'), 20_000);
    await waitFor('the relay to create the stream', () => (log.getCursor('relay:nats') > 0 ? true : undefined), 20_000);

    // A live subscriber of the alert subjects, and vigil alerts --follow.
    const nc = await connect({ servers: nats.url });
    cleanups.push(() => nc.close());
    const subjects: string[] = [];
    const sub = nc.subscribe('vigil.c.alerts.>', { callback: (_err, m) => void subjects.push(m.subject) });
    cleanups.push(() => sub.unsubscribe());
    const follow = spawn(['alerts', '--follow', '--json', '--config', file, '--node', 'n2', '--since', '10m']);
    const printed = (): AlertMessage[] => follow.lines.map((l) => alertMessageSchema.parse(JSON.parse(l)));
    const printedKind = (kind: string) => waitFor(`vigil alerts to print ${kind}`, () => printed().find((a) => a.kind === kind), 15_000);

    // The lease holder goes away: nobody holds web for longer than 800 ms, then n2 takes it.
    await asN3.delete(n3Candidate);
    const unowned = await printedKind('vip_unowned');
    expect(unowned).toMatchObject({ severity: 'critical', node: 'n2', cluster: 'c', details: { group: 'web', last_holder: 'n3' } });
    expect(unowned.summary).toMatch(/^VIP group web \(10\.0\.0\.31\/24\) has had no owner for 0\.8\d s; last held by n3 \(epoch \d+\): no node is MASTER with a lease$/);
    const n2Candidate = await asN2.create('/vigil/c/vips/web/lock/c-n2-', Buffer.from('{}'), 'ephemeral_sequential');
    expect((await printedKind('vip_owned')).summary).toMatch(/held again, by n2 \(epoch \d+\), after [\d.]+ s without an owner/);
    // ... as this node's fence says it did: a failover from n3, with why and how long.
    const epoch = Number(n2Candidate.slice(-10));
    const master = log.append({ type: 'vrrp.state_changed', source: 'vrrp', subject: 'vrrp:VI_1', data: { instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer', detail: 'no advert for 3.6 s', priority: 100 } });
    log.append({ type: 'fence.lease_acquired', source: 'fence', subject: 'vip:web', causation: master.seq, data: { group: 'web', epoch } });
    log.append({ type: 'vip.bound', source: 'fence', subject: 'vip:web', causation: master.seq, data: { group: 'web', epoch, addresses: [{ address: '10.0.0.31', prefix: 24, interface: 'eth0' }], valid_lft_s: 1 } });
    const failover = await printedKind('failover');
    expect(failover.severity).toBe('warning');
    expect(failover.summary).toMatch(new RegExp(`^VIP group web \\(10\\.0\\.0\\.31/24\\) moved to n2 from n3 \\(epoch \\d+ -> ${epoch}\\): VI_1 became MASTER \\(master down timer: no advert for 3\\.6 s\\); unowned for at least [\\d.]+ s \\(between the leases\\)$`));

    // n3 dies: its session (and ephemeral node) ends.
    asN3.close();
    expect((await printedKind('node_gone')).summary).toBe("node n3 left ZooKeeper: its fence service's session ended (crash, network cut or stop); it can hold no VIP");

    // Events of this node's own services.
    const append = (e: NewEvent) => log.append(e);
    append({ type: 'fence.lease_denied', source: 'fence', subject: 'vip:web', data: { group: 'web', epoch: 12, holder: 'n1', holder_epoch: 11 } });
    const rs = (from: 'unknown' | 'up', to: 'up' | 'down', reason: string): NewEvent => ({ type: 'health.changed', source: 'health', subject: 'rs:web/10.0.0.29:80', data: { target: '10.0.0.29:80', check: 'TCP_CHECK#0', from, to, reason } });
    append(rs('unknown', 'up', 'connected'));
    const down = append(rs('up', 'down', 'connection refused by 10.0.0.29:80'));
    append({ type: 'ipvs.quorum_changed', source: 'ipvs', subject: 'vs:web', data: { service: 'TCP 10.0.0.31:80', state: 'lost', up_weight: 0, quorum: 1, hysteresis: 0, sorry_server: '10.0.0.99:80' } });
    log.beat('health', 4_000_000); // a health service that beats once and then goes silent (killed)

    expect((await printedKind('lease_denied')).severity).toBe('critical');
    const rsDown = await printedKind('rs_down');
    expect(rsDown.summary).toBe('real server web/10.0.0.29:80 is down: TCP_CHECK#0: connection refused by 10.0.0.29:80');
    expect(rsDown.events[0]).toBe(down.id);
    expect((await printedKind('quorum_lost')).summary).toContain('the sorry server 10.0.0.99:80 takes the traffic');
    expect((await printedKind('service_gone')).summary).toMatch(/^the health service of n2 \(pid 4000000\) stopped beating [\d.]+ s ago/);

    // Each once, on the subject of its severity and kind, and the log holds the same alerts.
    const kinds = ['vip_unowned', 'vip_owned', 'failover', 'node_gone', 'lease_denied', 'rs_down', 'quorum_lost', 'service_gone'];
    expect(printed().map((a) => a.kind).sort()).toEqual([...kinds].sort());
    expect(new Set(printed().map((a) => a.id)).size).toBe(kinds.length);
    await waitFor('the live subscriber to get every alert', () => (subjects.length >= kinds.length ? true : undefined));
    expect(subjects.sort()).toEqual(printed().map((a) => `vigil.c.alerts.${a.severity}.${a.kind}`).sort());
    expect(alertsOf(db).map((e) => (e.data as { kind: string }).kind).sort()).toEqual([...kinds].sort());
    for (const a of printed()) expect(a.events.at(-1)).toBe(alertsOf(db).find((e) => (e.data as { id: string }).id === a.id)!.id);

    // A restarted relay replays its state and raises nothing again.
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    const again = spawn(['run', 'relay', '--config', file, '--node', 'n2']);
    await waitFor('the restarted relay to publish', () => (readEvents(db, ['service.started']).length === 2 && log.getCursor('relay:nats') === log.lastSeq() ? true : undefined), 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(alertsOf(db)).toHaveLength(kinds.length);
    expect(printed()).toHaveLength(kinds.length);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    follow.child.kill('SIGTERM');
    expect(await follow.exited).toBe(0);

    // Without --follow: what the stream holds, filtered by severity, as a table.
    const table = await vigil(['alerts', '--config', file, '--severity', 'critical']);
    expect(table.code).toBe(0);
    const rows = table.stdout.trim().split('\n');
    expect(rows).toHaveLength(kinds.filter((k) => ['vip_unowned', 'node_gone', 'lease_denied', 'quorum_lost', 'service_gone'].includes(k)).length);
    expect(rows.every((r) => /^\d{4}-\d\d-\d\dT[\d:.]+Z  CRITICAL  [a-z_]+ +n2 +\S/.test(r))).toBe(true);
  });

  it('vigil alerts skips a malformed message with a warning, and says so when NATS is not configured or not reachable', async () => {
    const d = scratch();
    const nats = await startNats();
    cleanups.push(() => nats.stop());
    const file = join(d.path, 'vigil.yaml');
    const base = 'cluster: c\nnodes: { n1: {} }\nzookeeper: { hosts: ["127.0.0.1:1"] }\n';
    writeFileSync(file, `${base}nats: { servers: ["${nats.url}"], stream: VIGIL }\n`);
    const nc = await connect({ servers: nats.url });
    cleanups.push(() => nc.close());
    const { jetstreamManager, jetstream } = await import('@nats-io/jetstream');
    await (await jetstreamManager(nc)).streams.add({ name: 'VIGIL', subjects: ['vigil.c.alerts.>'] });
    await jetstream(nc).publish('vigil.c.alerts.warning.failover', '{"not":"an alert"}');
    const good: AlertMessage = { id: 'x:1', cluster: 'c', node: 'n1', ts: Date.now(), severity: 'warning', kind: 'failover', summary: 'a test alert', events: ['n1:l:1'], details: {} };
    await jetstream(nc).publish('vigil.c.alerts.warning.failover', JSON.stringify(good));
    const r = await vigil(['alerts', '--config', file, '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('skipped a malformed message on vigil.c.alerts.warning.failover');
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([good]);

    writeFileSync(file, base);
    const none = await vigil(['alerts', '--config', file]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no nats section');
    writeFileSync(file, `${base}nats: { servers: ["nats://127.0.0.1:1"] }\n`);
    const down = await vigil(['alerts', '--config', file]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot reach NATS at nats://127.0.0.1:1');
  });
});

describe('notify scripts', () => {
  it('run with keepalived arguments, one at a time per instance in log order, a slow one delaying only its own, a hung one killed at its timeout', async () => {
    const d = scratch();
    const out = join(d.path, 'out.txt');
    const script = (name: string, body: string) => {
      const p = join(d.path, name);
      writeFileSync(p, `#!/bin/sh\n${body}\n`);
      chmodSync(p, 0o755);
      return p;
    };
    const slow = script('slow.sh', `echo "slow-start $*" >> ${out}; sleep 0.6; echo "slow-end $*" >> ${out}`);
    const rec = script('rec.sh', `echo "rec $*" >> ${out}`);
    const hang = script('hang.sh', `echo $$ > ${out}.hang-pid; echo "hang $*" >> ${out}; exec sleep 60`);
    const fail = script('fail.sh', 'echo "cannot page the on-call"; exit 3');
    const file = join(d.path, 'vigil.yaml');
    // No nats section: notify scripts and alerts do not need NATS.
    writeFileSync(file, `cluster: c
nodes: { n1: {} }
log: { path: events.db }
zookeeper: { hosts: ["127.0.0.1:1"] }
global_defs: { notify_timeout: 1 }
vrrp_instances:
  VI_1: { interface: eth0, virtual_router_id: 51, notify_master: ["${slow}", "m"], notify_fault: ["${hang}"], notify: ["${rec}"] }
  VI_2: { interface: eth0, virtual_router_id: 52, notify: ["${rec}"] }
virtual_servers:
  web: { ip: 10.0.0.31, port: 80, real_servers: [{ ip: 10.0.0.29, notify_down: ["${fail}", "29"], checks: [{ type: TCP_CHECK }] }] }
`);
    const db = join(d.path, 'events.db');
    const log = openLog(db, 'n1');
    const relay = spawn(['run', 'relay', '--config', file]);
    await waitFor('the relay to start', () => (log.storedCursor(NOTIFY_CURSOR) !== undefined ? true : undefined), 20_000);

    type To = 'MASTER' | 'BACKUP' | 'FAULT';
    const vrrp = (instance: string, from: To | 'INIT', to: To, priority: number): NewEvent => ({
      type: 'vrrp.state_changed', source: 'vrrp', subject: `vrrp:${instance}`,
      data: { instance, from, to, priority, reason: to === 'FAULT' ? 'fault' : to === 'MASTER' ? 'master_down_timer' : 'fault_cleared' },
    });
    const rs = (from: 'unknown' | 'up', to: 'up' | 'down'): NewEvent => ({ type: 'health.changed', source: 'health', subject: 'rs:web/10.0.0.29:80', data: { target: '10.0.0.29:80', check: 'TCP_CHECK#0', from, to, reason: 'test' } });
    log.appendBatch([
      vrrp('VI_1', 'BACKUP', 'MASTER', 100),
      vrrp('VI_1', 'MASTER', 'FAULT', 0),
      vrrp('VI_1', 'FAULT', 'BACKUP', 100),
      vrrp('VI_2', 'INIT', 'BACKUP', 50),
      rs('unknown', 'up'),
      rs('up', 'down'),
    ]);
    const ran = () => readEvents(db, ['relay.notify_ran']);
    await waitFor('every script to run', () => (ran().length === 7 ? true : undefined), 20_000);

    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.filter((l) => !l.includes('VI_2'))).toEqual([
      'slow-start m',
      'slow-end m',
      'rec INSTANCE VI_1 MASTER 100',
      'hang ',
      'rec INSTANCE VI_1 FAULT 0',
      'rec INSTANCE VI_1 BACKUP 100',
    ]);
    // VI_2's script, appended after VI_1's, did not wait for VI_1's slow one.
    expect(lines.indexOf('rec INSTANCE VI_2 BACKUP 50')).toBeLessThan(lines.indexOf('slow-end m'));

    const byKey = (key: string) => ran().filter((e) => e.subject === `notify:${key}`).map((e) => e.data as { script: string; argv: string[]; exit_code: number | null; timed_out: boolean; signal: string | null; output_tail: string; duration_ms: number });
    expect(byKey('VI_1').map((r) => r.script)).toEqual(['notify_master', 'notify', 'notify_fault', 'notify', 'notify']);
    expect(byKey('VI_1')[1]!.argv).toEqual([rec, 'INSTANCE', 'VI_1', 'MASTER', '100']);
    const hung = byKey('VI_1')[2]!;
    expect(hung).toMatchObject({ timed_out: true, exit_code: null, signal: 'SIGTERM' });
    expect(hung.duration_ms).toBeGreaterThanOrEqual(1000);
    const hangPid = Number(readFileSync(`${out}.hang-pid`, 'utf8'));
    expect(() => process.kill(hangPid, 0)).toThrow(/ESRCH/);
    const failed = byKey('web/10.0.0.29:80');
    expect(failed).toEqual([expect.objectContaining({ script: 'notify_down', argv: [fail, '29'], exit_code: 3, timed_out: false, output_tail: 'cannot page the on-call\n' })]);
    for (const e of ran()) expect(e.causation).not.toBeNull();

    // Failures are alerts too (kept in the log when there is no NATS).
    const notifyFailed = () => alertsOf(db).filter((e) => e.subject === 'alert:notify_failed');
    await waitFor('the notify_failed alerts', () => (notifyFailed().length === 2 ? true : undefined));
    expect(notifyFailed().map((e) => (e.data as { summary: string }).summary).sort()).toEqual([
      `notify_down script ${fail} for web/10.0.0.29:80 exited with status 3: cannot page the on-call`,
      `notify_fault script ${hang} for VI_1 timed out after ${hung.duration_ms} ms and was killed`,
    ]);

    // Everything done: the cursor is at the end, and a restart runs nothing again.
    await waitFor('the notify cursor to reach the end', () => (log.getCursor(NOTIFY_CURSOR) >= 6 ? true : undefined));
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    const again = spawn(['run', 'relay', '--config', file]);
    await waitFor('the restarted relay', () => (readEvents(db, ['service.started']).length === 2 ? true : undefined), 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(ran()).toHaveLength(7);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    expect(existsSync(out)).toBe(true);
  });
});
