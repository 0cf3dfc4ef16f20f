// vigil's VRRP speaker and Debian's keepalived on one link, in namespaces, as peers.
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acceptAdvert, encodeAdvert } from '../../services/vrrp/codec.js';
import { EventLog, type StoredEvent } from '../../shared/eventlog/index.js';
import { serviceSubject } from '../../shared/eventlog/subjects.js';
import { startKeepalived } from '../harness/keepalived.js';
import { readEvents } from '../harness/log.js';
import { createTopology, type Topology } from '../harness/netns.js';
import { CLI, ROOT } from '../harness/node.js';
import type { Child } from '../harness/process.js';
import { tempDir, type TempDir } from '../harness/tmp.js';

const VIP = '10.77.0.100/24';
const VIP2 = '10.77.0.101/24';
let tmp: TempDir;
let t: Topology;
beforeEach(async () => {
  tmp = tempDir('interop');
  t = await createTopology({ hosts: ['n1', 'n2'] });
});
afterEach(async () => {
  await t.destroy();
  tmp.remove();
});

interface VigilOptions {
  version: 2 | 3; priority: number; advertInt: number; nopreempt?: boolean; unicastPeers?: string[]; fence?: boolean; trackWeight?: number; trackInterface?: string;
  /** VI_2 (vrid 52, VIP2) beside VI_1, both in sync group G1 (VI_1 tracks the script chk, weight 0 in the group). */
  syncGroup?: boolean;
  /** VI_1 tracks the quorum (2) of virtual server web (two real servers) with this weight. */
  trackVirtualServer?: number;
  /** global_defs.vrrp_log_unknown_vrids */
  logUnknownVrids?: boolean;
}

function startVigil(o: VigilOptions): { child: Child; db: string } {
  const h = t.hosts.n1!;
  const db = join(tmp.path, 'n1.db');
  const cfg = join(tmp.path, 'vigil.yaml');
  writeFileSync(cfg, `cluster: interop
nodes: { n1: {} }
log: { path: ${db} }
zookeeper: { hosts: [127.0.0.1:2181] }
fence: { required: ${o.fence ?? false} }
global_defs: { vrrp_bad_packet_summary: 1${o.logUnknownVrids ? ', vrrp_log_unknown_vrids: true' : ''} }
track_scripts:
  chk: { script: [/bin/true], weight: ${o.trackWeight ?? 0} }
vrrp_instances:
  VI_1:
    interface: ${h.ifname}
    virtual_router_id: 51
    version: ${o.version}
    priority: ${o.priority}
    advert_int: ${o.advertInt}
    nopreempt: ${o.nopreempt ?? false}
${o.trackWeight !== undefined || o.syncGroup ? '    track_script: [chk]\n' : ''}${o.trackInterface ? `    track_interface: [${o.trackInterface}]\n` : ''}${o.unicastPeers ? `    unicast_src_ip: ${h.address}\n    unicast_peer: [${o.unicastPeers.join(', ')}]\n` : ''}${
    o.trackVirtualServer !== undefined ? `    track_virtual_server: [{ name: web, weight: ${o.trackVirtualServer} }]\n` : ''}${
    o.syncGroup ? `  VI_2: { interface: ${h.ifname}, virtual_router_id: 52, version: ${o.version}, priority: ${o.priority}, advert_int: ${o.advertInt} }\n` : ''}vip_groups:
  web: { instance: VI_1, addresses: [${VIP}] }
${o.syncGroup ? `  web2: { instance: VI_2, addresses: [${VIP2}] }\nvrrp_sync_groups:\n  G1: { group: [VI_1, VI_2] }\n` : ''}${
    o.trackVirtualServer !== undefined ? `virtual_servers:
  web:
    ip: 10.77.0.100
    port: 80
    quorum: 2
    real_servers:
      - { ip: 10.77.0.11, checks: [{ type: TCP_CHECK }] }
      - { ip: 10.77.0.12, checks: [{ type: TCP_CHECK }] }
` : ''}`);
  const child = t.spawn('n1', [process.execPath, CLI, 'run', 'vrrp', '--config', cfg, '--node', 'n1'], { logFile: join(tmp.path, 'vigil-n1.log') });
  return { child, db };
}

/** Appends to vigil's log as another service of the node would. */
function appendTo(db: string, e: Parameters<EventLog['append']>[0]): StoredEvent {
  const log = EventLog.open({ path: db, node: 'n1' });
  try {
    return log.append(e);
  } finally {
    log.close();
  }
}

const vrrpStates = (db: string) => readEvents(db, ['vrrp.state_changed']);
const lastState = (db: string, instance = 'VI_1') => (vrrpStates(db).filter((e) => e.subject === `vrrp:${instance}`).at(-1)?.data as { to?: string } | undefined)?.to;
const groupStates = (db: string) => readEvents(db, ['vrrp.group_changed']).map((e) => (e.data as { to: string }).to);
const rsChange = (ip: string, from: 'unknown' | 'up' | 'down', to: 'up' | 'down') => ({
  type: 'health.changed' as const, source: 'health' as const, subject: `rs:web/${ip}:80`, data: { target: `${ip}:80`, check: 'TCP_CHECK#0', from, to, reason: `connection refused by ${ip}:80` },
});

for (const version of [2, 3] as const) {
  const advertInt = version === 2 ? 1 : 0.1;
  describe(`VRRPv${version} with keepalived (advert ${advertInt * 1000} ms)`, () => {
    it('vigil with the higher priority is MASTER, keepalived BACKUP', async () => {
      const ka = startKeepalived(t, { host: 'n2', dir: tmp.path, version, vrid: 51, priority: 100, advertInt, vip: VIP });
      const vg = startVigil({ version, priority: 150, advertInt });
      await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 100 }).toBe('MASTER');
      // keepalived hears us and stays (or goes back to) BACKUP: it does not hold the VIP
      await expect.poll(() => ka.holdsVip(), { timeout: 10_000, interval: 100 }).toBe(false);
      await new Promise((r) => setTimeout(r, advertInt * 5000));
      expect(await ka.holdsVip()).toBe(false);
      expect(ka.child.isRunning()).toBe(true);
      expect(ka.lastState()).toBe('BACKUP');
      expect(lastState(vg.db)).toBe('MASTER');
      await vg.child.stop();
      await ka.stop();
    });

    it('keepalived with the higher priority is MASTER, vigil BACKUP', async () => {
      const ka = startKeepalived(t, { host: 'n2', dir: tmp.path, version, vrid: 51, priority: 200, advertInt, vip: VIP });
      await expect.poll(() => ka.holdsVip(), { timeout: 15_000, interval: 100 }).toBe(true);
      const vg = startVigil({ version, priority: 100, advertInt });
      await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 100 }).toBe('BACKUP');
      await new Promise((r) => setTimeout(r, advertInt * 5000));
      expect(vrrpStates(vg.db).map((e) => (e.data as { to: string }).to)).toEqual(['BACKUP']);
      expect(await ka.holdsVip()).toBe(true);
      expect(ka.lastState()).toBe('MASTER');
      await vg.child.stop();
      await ka.stop();
    });
  });
}

/** Resolves with the time a VIP appears on a host, as the kernel's notification is stamped by `ip -t monitor`. */
async function watchVipAdded(host: string): Promise<{ added: Promise<number>; stop: () => Promise<void> }> {
  const mon = t.spawn(host, ['ip', '-t', 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const address = VIP.split('/')[0]!;
  const added = new Promise<number>((resolve) => {
    let buf = '';
    let stamp = 0;
    mon.proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const line of lines) {
        const ts = /^Timestamp: (.+) (\d+) usec$/.exec(line);
        if (ts) stamp = Date.parse(ts[1]!) + Math.floor(Number(ts[2]) / 1000);
        else if (line.includes(` ${address}/`) && !line.startsWith('Deleted')) resolve(stamp);
      }
    });
  });
  await new Promise((r) => setTimeout(r, 100)); // the monitor is listening
  return { added, stop: () => mon.stop() };
}

function masterSince(db: string, after: number): number | undefined {
  return vrrpStates(db).find((e) => (e.data as { to: string }).to === 'MASTER' && e.ts >= after)?.ts;
}

for (const version of [2, 3] as const) describe(`failover between vigil and keepalived (VRRPv${version}, ${version === 2 ? 1000 : 100} ms adverts)`, () => {
  const advertInt = version === 2 ? 1 : 0.1;
  const advMs = advertInt * 1000;
  // RFC 3768: skew is a fraction of a second; RFC 5798: a fraction of the advert interval.
  const skew = (priority: number) => ((256 - priority) * (version === 2 ? 1000 : advMs)) / 256;
  const masterDown = (priority: number) => 3 * advMs + skew(priority);

  /** vigil (150) MASTER, keepalived (100) settled in BACKUP. */
  async function vigilMaster() {
    const ka = startKeepalived(t, { host: 'n2', dir: tmp.path, version, vrid: 51, priority: 100, advertInt, vip: VIP });
    const vg = startVigil({ version, priority: 150, advertInt });
    await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 50 }).toBe('MASTER');
    await expect.poll(() => ka.lastState(), { timeout: 10_000, interval: 50 }).toBe('BACKUP');
    return { ka, vg };
  }

  /** keepalived (200) MASTER, vigil (100) in BACKUP for a few adverts. */
  async function keepalivedMaster() {
    const ka = startKeepalived(t, { host: 'n2', dir: tmp.path, version, vrid: 51, priority: 200, advertInt, vip: VIP });
    await expect.poll(() => ka.holdsVip(), { timeout: 15_000, interval: 50 }).toBe(true);
    const vg = startVigil({ version, priority: 100, advertInt });
    await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 50 }).toBe('BACKUP');
    await new Promise((r) => setTimeout(r, 3 * advMs));
    return { ka, vg };
  }

  it('vigil SIGKILLed: keepalived takes over within its master-down interval + 10%', async () => {
    const { ka, vg } = await vigilMaster();
    const watch = await watchVipAdded('n2');
    const killedAt = Date.now();
    await vg.child.kill('SIGKILL');
    const took = (await watch.added) - killedAt;
    expect(took).toBeLessThanOrEqual(masterDown(100) * 1.1);
    expect(took).toBeGreaterThan(masterDown(100) - advMs - 20); // it did wait: the last advert was at most one interval before the kill
    await watch.stop();
    await ka.stop();
  });

  it('keepalived crashed (SIGKILL of its process group): vigil takes over within its master-down interval + 10%', async () => {
    const { ka, vg } = await keepalivedMaster();
    const killedAt = Date.now();
    await ka.crash();
    await expect.poll(() => masterSince(vg.db, killedAt), { timeout: 5000, interval: 20 }).toBeDefined();
    const took = masterSince(vg.db, killedAt)! - killedAt;
    expect(took).toBeLessThanOrEqual(masterDown(100) * 1.1);
    await vg.child.stop();
  });

  it('vigil stopped with SIGTERM: keepalived takes over after about its skew time', async () => {
    const { ka, vg } = await vigilMaster();
    const watch = await watchVipAdded('n2');
    const stoppedAt = Date.now();
    await vg.child.stop();
    const took = (await watch.added) - stoppedAt;
    expect(took).toBeLessThan(skew(100) + 100); // the skew time, far below the master-down interval of a crash
    expect(lastState(vg.db)).toBe('STOPPED');
    await watch.stop();
    await ka.stop();
  });

  it('keepalived stopped with SIGTERM: vigil takes over after about its skew time', async () => {
    const { ka, vg } = await keepalivedMaster();
    const stoppedAt = Date.now();
    await ka.stop();
    await expect.poll(() => masterSince(vg.db, stoppedAt), { timeout: 5000, interval: 20 }).toBeDefined();
    const e = vrrpStates(vg.db).find((x) => x.ts >= stoppedAt && (x.data as { to: string }).to === 'MASTER')!;
    expect(e.data).toMatchObject({ reason: 'priority_zero_advert' });
    expect(e.ts - stoppedAt).toBeLessThan(skew(100) + 100);
    await vg.child.stop();
  });

  it('preemption: vigil with a higher priority takes over from a keepalived master; with nopreempt it does not', async () => {
    const ka = startKeepalived(t, { host: 'n2', dir: tmp.path, version, vrid: 51, priority: 100, advertInt, vip: VIP });
    await expect.poll(() => ka.holdsVip(), { timeout: 15_000, interval: 50 }).toBe(true);
    const lazy = startVigil({ version, priority: 150, advertInt, nopreempt: true });
    await expect.poll(() => lastState(lazy.db), { timeout: 15_000, interval: 50 }).toBe('BACKUP');
    await new Promise((r) => setTimeout(r, 15 * advMs));
    expect(lastState(lazy.db)).toBe('BACKUP');
    expect(await ka.holdsVip()).toBe(true);
    await lazy.child.stop();
    const eager = startVigil({ version, priority: 150, advertInt });
    await expect.poll(() => lastState(eager.db), { timeout: 15_000, interval: 50 }).toBe('MASTER');
    const e = vrrpStates(eager.db).at(-1)!;
    expect(e.data).toMatchObject({ reason: 'preempted' });
    await expect.poll(() => ka.holdsVip(), { timeout: 5000, interval: 50 }).toBe(false);
    await eager.child.stop();
    await ka.stop();
  });

  it('unicast peers: both sides send to each other and elect one master', async () => {
    const [a, b] = [t.hosts.n1!.address, t.hosts.n2!.address];
    const ka = startKeepalived(t, { host: 'n2', dir: tmp.path, version, vrid: 51, priority: 100, advertInt, vip: VIP, unicastPeers: [a] });
    const vg = startVigil({ version, priority: 150, advertInt, unicastPeers: [b] });
    await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 50 }).toBe('MASTER');
    await expect.poll(() => ka.lastState(), { timeout: 10_000, interval: 50 }).toBe('BACKUP');
    expect(await ka.holdsVip()).toBe(false);
    await vg.child.stop();
    await expect.poll(() => ka.holdsVip(), { timeout: 5000, interval: 50 }).toBe(true);
    await ka.stop();
  });
});

/** Stands in for a live fence service: its heartbeat in the node's log, every 100 ms. */
function fencePulse(db: string): { stop: () => void } {
  const log = EventLog.open({ path: db, node: 'n1' });
  const timer = setInterval(() => log.beat('fence', process.pid), 100);
  log.beat('fence', process.pid);
  return { stop: () => (clearInterval(timer), log.close()) };
}

describe('vigil reacts to events in its log', () => {
  const advertInt = 0.1;

  it('a failed track script lowers the priority and keepalived preempts; recovery gives it back', async () => {
    const ka = startKeepalived(t, { host: 'n2', dir: tmp.path, version: 3, vrid: 51, priority: 100, advertInt, vip: VIP });
    const vg = startVigil({ version: 3, priority: 150, advertInt, trackWeight: -100 });
    await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 50 }).toBe('MASTER');
    const failed = appendTo(vg.db, { type: 'track.changed', source: 'health', subject: 'track:chk', data: { name: 'chk', from: 'ok', to: 'fail', reason: 'exit status 1' } });
    await expect.poll(() => ka.holdsVip(), { timeout: 5000, interval: 50 }).toBe(true);
    await expect.poll(() => lastState(vg.db), { timeout: 5000, interval: 50 }).toBe('BACKUP');
    const prio = readEvents(vg.db, ['vrrp.priority_changed']);
    expect(prio).toHaveLength(1);
    expect(prio[0]).toMatchObject({ causation: failed.seq, data: { from: 150, to: 50, reason: 'script:chk failed: exit status 1' } });
    appendTo(vg.db, { type: 'track.changed', source: 'health', subject: 'track:chk', data: { name: 'chk', from: 'fail', to: 'ok', reason: 'exit status 0' } });
    await expect.poll(() => lastState(vg.db), { timeout: 5000, interval: 50 }).toBe('MASTER');
    await expect.poll(() => ka.holdsVip(), { timeout: 5000, interval: 50 }).toBe(false);
    await vg.child.stop();
    await ka.stop();
  });

  it('without a fence that can hold leases the node stays in FAULT; a lost ZooKeeper session hands over at once, a suspended one does not', async () => {
    const ka = startKeepalived(t, { host: 'n2', dir: tmp.path, version: 3, vrid: 51, priority: 100, advertInt, vip: VIP });
    await expect.poll(() => ka.holdsVip(), { timeout: 15_000, interval: 50 }).toBe(true);
    const vg = startVigil({ version: 3, priority: 150, advertInt, fence: true });
    await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 50 }).toBe('FAULT');
    await new Promise((r) => setTimeout(r, 1000));
    expect(await ka.holdsVip()).toBe(true); // a FAULT node does not advertise, so it cannot win
    appendTo(vg.db, { type: 'fence.zk_state', source: 'fence', subject: 'node:n1', data: { state: 'connected', session_timeout_ms: 2000 } });
    await new Promise((r) => setTimeout(r, 1000));
    expect(lastState(vg.db)).toBe('FAULT'); // ZooKeeper is up, but no fence service is alive to hold a lease
    const pulse = fencePulse(vg.db);
    await expect.poll(() => lastState(vg.db), { timeout: 5000, interval: 50 }).toBe('MASTER');
    await expect.poll(() => ka.holdsVip(), { timeout: 5000, interval: 50 }).toBe(false);
    // Listen on keepalived's host for vigil's adverts.
    const rx = t.spawn('n2', [process.execPath, '--import', 'tsx', join(ROOT, 'test/fixtures/vrrp-socket.ts'), 'recv', t.hosts.n2!.ifname], { stdio: ['ignore', 'pipe', 'inherit'] });
    const priorityZeroAt: number[] = [];
    let lastAdvertAt = 0;
    let ready!: () => void;
    const listening = new Promise<void>((r) => (ready = r));
    createInterface({ input: rx.proc.stdout! }).on('line', (l) => {
      if (l === 'ready') return ready();
      const v = acceptAdvert(Buffer.from(l, 'hex'), { version: 3, vrid: 51, interval: 10 });
      if (!v.ok || v.value.ip.src !== t.hosts.n1!.address) return;
      if (v.value.advert.priority === 0) priorityZeroAt.push(Date.now());
      else lastAdvertAt = Date.now();
    });
    await listening;
    // Suspended (lease deadline running, e.g. a ZooKeeper leader election) is not FAULT yet.
    appendTo(vg.db, { type: 'fence.zk_state', source: 'fence', subject: 'node:n1', data: { state: 'suspended', detail: 'no answered heartbeat for 300 ms' } });
    await new Promise((r) => setTimeout(r, 300));
    expect(lastState(vg.db)).toBe('MASTER');
    expect(priorityZeroAt).toEqual([]);
    const watch = await watchVipAdded('n2');
    const lostAt = Date.now();
    appendTo(vg.db, { type: 'fence.zk_state', source: 'fence', subject: 'node:n1', data: { state: 'lost', detail: 'no answered heartbeat for 1350 ms' } });
    // vigil stops advertising at once, with a priority-0 advert so that a peer need not wait a master-down interval
    await expect.poll(() => priorityZeroAt.length, { timeout: 2000, interval: 10 }).toBe(1);
    expect(priorityZeroAt[0]! - lostAt).toBeLessThan(100);
    // keepalived then takes over after its skew time, before its master-down timer (3 adverts + skew
    // after vigil's last ordinary advert) could have fired.
    const skewMs = ((256 - 100) * 100) / 256;
    expect((await watch.added) - lastAdvertAt).toBeLessThan(3 * 100 + skewMs);
    await new Promise((r) => setTimeout(r, 500));
    expect(priorityZeroAt).toHaveLength(1); // and then silence: a FAULT node does not advertise
    await rx.stop();
    pulse.stop();
    expect(lastState(vg.db)).toBe('FAULT');
    await watch.stop();
    await vg.child.stop();
    await ka.stop();
  });
});

describe('fence liveness', () => {
  it('a fence service that stops beating (killed) puts the node in FAULT and keepalived takes over', async () => {
    const ka = startKeepalived(t, { host: 'n2', dir: tmp.path, version: 3, vrid: 51, priority: 100, advertInt: 0.1, vip: VIP });
    const vg = startVigil({ version: 3, priority: 150, advertInt: 0.1, fence: true });
    await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 50 }).toBe('FAULT');
    const pulse = fencePulse(vg.db);
    appendTo(vg.db, { type: 'fence.zk_state', source: 'fence', subject: 'node:n1', data: { state: 'connected' } });
    await expect.poll(() => lastState(vg.db), { timeout: 5000, interval: 50 }).toBe('MASTER');
    await expect.poll(() => ka.holdsVip(), { timeout: 5000, interval: 50 }).toBe(false);
    pulse.stop(); // as if the fence process had been SIGKILLed: no event, only silence
    const silentAt = Date.now();
    await expect.poll(() => lastState(vg.db), { timeout: 5000, interval: 20 }).toBe('FAULT');
    const fault = vrrpStates(vg.db).at(-1)!;
    expect(fault.data).toMatchObject({ reason: 'fault', detail: expect.stringMatching(/fence service not alive \(last heartbeat \d+ ms ago\)/) });
    expect(fault.ts - silentAt).toBeLessThan(500 + 100 + 150); // liveness_timeout + poll + last beat's age
    await expect.poll(() => ka.holdsVip(), { timeout: 2000, interval: 20 }).toBe(true);
    await vg.child.stop();
    await ka.stop();
  });
});

describe('fence restarted after a crash', () => {
  it("a vrrp service started beside it does not take the crashed fence's last 'connected' for the new one's: FAULT (no advert, keepalived keeps the VIP) until the new fence says connected", async () => {
    const ka = startKeepalived(t, { host: 'n2', dir: tmp.path, version: 3, vrid: 51, priority: 100, advertInt: 0.1, vip: VIP });
    await expect.poll(() => ka.holdsVip(), { timeout: 10_000, interval: 50 }).toBe(true);
    // the log as a crashed and restarted fence leaves it: connected (before the crash), then a start, and fresh beats
    const db = join(tmp.path, 'n1.db');
    const started = (pid: number) => appendTo(db, { type: 'service.started', source: 'fence', subject: serviceSubject('fence'), data: { service: 'fence', version: '0', pid } });
    started(1);
    appendTo(db, { type: 'fence.zk_state', source: 'fence', subject: 'node:n1', data: { state: 'connected' } });
    started(2);
    const pulse = fencePulse(db);
    const vg = startVigil({ version: 3, priority: 150, advertInt: 0.1, fence: true });
    await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 50 }).toBe('FAULT');
    await new Promise((r) => setTimeout(r, 1000)); // ten of keepalived's adverts, at a lower priority than ours
    expect(vrrpStates(vg.db).map((e) => (e.data as { to: string }).to), 'never MASTER on the crashed fence\'s word').not.toContain('MASTER');
    expect(await ka.holdsVip()).toBe(true);
    appendTo(db, { type: 'fence.zk_state', source: 'fence', subject: 'node:n1', data: { state: 'connected' } });
    await expect.poll(() => lastState(vg.db), { timeout: 5000, interval: 50 }).toBe('MASTER');
    await expect.poll(() => ka.holdsVip(), { timeout: 5000, interval: 50 }).toBe(false);
    pulse.stop();
    await vg.child.stop();
    await ka.stop();
  });
});

describe('bad packets', () => {
  /** Five each of: a bad checksum, another VRID, other addresses; the summaries' counts added up, and the dropped-packet counters vigil stored for /metrics. */
  async function sendBadPackets(logUnknownVrids: boolean) {
    const vg = startVigil({ version: 3, priority: 150, advertInt: 0.1, logUnknownVrids });
    await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 50 }).toBe('MASTER');
    const h2 = t.hosts.n2!;
    const good = { version: 3 as const, vrid: 51, priority: 100, addresses: ['10.77.0.100'], interval: 10, authType: 'none' as const };
    const badSum = encodeAdvert(good, { src: h2.address, dst: '224.0.0.18' });
    badSum[2] = 99; // priority changed after the checksum was computed
    const otherVrid = encodeAdvert({ ...good, vrid: 52 }, { src: h2.address, dst: '224.0.0.18' });
    const wrongVips = encodeAdvert({ ...good, addresses: ['10.77.0.200'] }, { src: h2.address, dst: '224.0.0.18' });
    // One burst of 15 (300 ms) from one process: it meets at most one boundary of the 1 s summary window.
    const burst = [badSum, otherVrid, wrongVips].map((p) => p.toString('hex')).join(',');
    const r = await t.exec('n2', [process.execPath, '--import', 'tsx', join(ROOT, 'test/fixtures/vrrp-socket.ts'), 'send', h2.ifname, h2.address, '224.0.0.18', burst, '5'], { timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    const summaries = () => readEvents(vg.db, ['vrrp.bad_packets']);
    const total = () => {
      const counts: Record<string, number> = {};
      for (const e of summaries()) for (const [k, v] of Object.entries((e.data as { counts: Record<string, number> }).counts)) counts[k] = (counts[k] ?? 0) + v;
      return counts;
    };
    const dropped = () => {
      const log = EventLog.open({ path: vg.db, readOnly: true });
      try {
        const vrrp = log.serviceMetrics().find((m) => m.service === 'vrrp');
        const counters = vrrp ? (JSON.parse(vrrp.data) as { counters: { name: string; labels: Record<string, string>; value: number }[] }).counters : [];
        return Object.fromEntries(counters.filter((c) => c.name === 'vigil_vrrp_dropped_packets_total').map((c) => [c.labels.reason, c.value]));
      } finally {
        log.close();
      }
    };
    return { vg, summaries, total, dropped };
  }

  it('are counted by reason and summarised, never one event per packet; adverts of other VRIDs only counted, as keepalived', async () => {
    const { vg, summaries, total, dropped } = await sendBadPackets(false);
    await expect.poll(total, { timeout: 5000, interval: 200 }).toEqual({ bad_checksum: 5, address_mismatch: 5 });
    expect(summaries().length).toBeLessThanOrEqual(2); // 10 packets in one burst: one summary, two if it met a window's end
    expect(summaries()[0]).toMatchObject({ subject: 'vrrp:VI_1', data: { interface: t.hosts.n1!.ifname, last_source: t.hosts.n2!.address } });
    // other routers' adverts (VRID 52) are stored for /metrics within two periods (METRICS_MS), never as an event
    await expect.poll(dropped, { timeout: 15_000, interval: 500 }).toMatchObject({ wrong_vrid: 5 });
    expect(total()).not.toHaveProperty('wrong_vrid');
    expect(lastState(vg.db)).toBe('MASTER'); // none of them moved the election
    await vg.child.stop();
  });

  it('with vrrp_log_unknown_vrids, adverts of other VRIDs are bad packets too', async () => {
    const { vg, summaries, total } = await sendBadPackets(true);
    await expect.poll(total, { timeout: 5000, interval: 200 }).toEqual({ bad_checksum: 5, wrong_vrid: 5, address_mismatch: 5 });
    expect(summaries().length).toBeLessThanOrEqual(2);
    expect(lastState(vg.db)).toBe('MASTER');
    await vg.child.stop();
  });
});

describe('forged adverts', () => {
  const badCounts = (db: string) => {
    const counts: Record<string, number> = {};
    for (const e of readEvents(db, ['vrrp.bad_packets'])) for (const [k, v] of Object.entries((e.data as { counts: Record<string, number> }).counts)) counts[k] = (counts[k] ?? 0) + v;
    return counts;
  };
  const flood = async (p: Buffer, dst: string, count: number) => {
    const h2 = t.hosts.n2!;
    const r = await t.exec('n2', [process.execPath, '--import', 'tsx', join(ROOT, 'test/fixtures/vrrp-socket.ts'), 'send', h2.ifname, h2.address, dst, p.toString('hex'), String(count)], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
  };
  const forged = (dst: string, interval: number) => encodeAdvert({ version: 3, vrid: 51, priority: 254, addresses: ['10.77.0.100'], interval, authType: 'none' }, { src: t.hosts.n2!.address, dst });

  it('a flood of higher-priority adverts with an interval of 0 is dropped as malformed and changes nothing', async () => {
    const vg = startVigil({ version: 3, priority: 150, advertInt: 0.1 });
    await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 50 }).toBe('MASTER');
    const before = vrrpStates(vg.db).length;
    await flood(forged('224.0.0.18', 0), '224.0.0.18', 150);
    await expect.poll(() => badCounts(vg.db).bad_interval, { timeout: 5000, interval: 200 }).toBe(150);
    expect(vrrpStates(vg.db).length, 'state changes during the flood').toBe(before);
    expect(lastState(vg.db)).toBe('MASTER');
    await vg.child.stop();
  });

  it('with unicast peers, adverts from any other source are dropped (check_unicast_src on by default) and change nothing', async () => {
    const peer = t.hosts.n1!.address.replace(/\.\d+$/, '.250'); // a peer that never speaks
    const vg = startVigil({ version: 3, priority: 150, advertInt: 0.1, unicastPeers: [peer] });
    await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 50 }).toBe('MASTER');
    const before = vrrpStates(vg.db).length;
    await flood(forged(t.hosts.n1!.address, 10), t.hosts.n1!.address, 150);
    await expect.poll(() => badCounts(vg.db).not_a_peer, { timeout: 5000, interval: 200 }).toBe(150);
    expect(vrrpStates(vg.db).length, 'state changes during the flood').toBe(before);
    expect(lastState(vg.db)).toBe('MASTER');
    await vg.child.stop();
  });
});

describe('vigil alone', () => {
  it('a tracked interface going down puts the instance in FAULT, and back up brings it back', async () => {
    const dummy = `${t.id}d`; // a veth pair inside n1 (this kernel has no dummy interfaces)
    await t.exec('n1', ['ip', 'link', 'add', dummy, 'type', 'veth', 'peer', 'name', `${t.id}e`]);
    await t.exec('n1', ['ip', 'link', 'set', `${t.id}e`, 'up']);
    await t.exec('n1', ['ip', 'link', 'set', dummy, 'up']);
    const vg = startVigil({ version: 3, priority: 150, advertInt: 0.1, trackInterface: dummy });
    await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 50 }).toBe('MASTER');
    await t.exec('n1', ['ip', 'link', 'set', dummy, 'down']);
    await expect.poll(() => lastState(vg.db), { timeout: 5000, interval: 50 }).toBe('FAULT');
    await t.exec('n1', ['ip', 'link', 'set', dummy, 'up']);
    await expect.poll(() => lastState(vg.db), { timeout: 5000, interval: 50 }).toBe('MASTER');
    const tracks = readEvents(vg.db, ['track.changed']).map((e) => (e.data as { to: string; reason: string }).reason);
    const fault = vrrpStates(vg.db).find((e) => (e.data as { to: string }).to === 'FAULT')!;
    expect(tracks).toEqual([`link ${dummy} down`, `link ${dummy} up`]);
    expect(fault.causation).not.toBeNull(); // points at the track.changed event
    await vg.child.stop();
  });

});

describe('vigil and keepalived, each with a vrrp_sync_group of two instances', () => {
  const advertInt = 0.1;
  const kaGroup = (priority: number) =>
    startKeepalived(t, { host: 'n2', dir: tmp.path, version: 3, vrid: 51, priority, advertInt, vip: VIP, more: [{ vrid: 52, priority, vip: VIP2 }], syncGroup: true });

  it("one member's fault moves the whole group: keepalived takes both VIPs, and vigil takes both back together when it clears", async () => {
    const ka = kaGroup(100);
    const vg = startVigil({ version: 3, priority: 150, advertInt, syncGroup: true });
    await expect.poll(() => [lastState(vg.db, 'VI_1'), lastState(vg.db, 'VI_2')], { timeout: 15_000, interval: 50 }).toEqual(['MASTER', 'MASTER']);
    await expect.poll(() => groupStates(vg.db), { timeout: 5000, interval: 50 }).toEqual(['BACKUP', 'MASTER']);
    await expect.poll(async () => [await ka.holdsVip(VIP), await ka.holdsVip(VIP2)], { timeout: 5000, interval: 50 }).toEqual([false, false]);

    // Only VI_1 tracks chk; in a sync group its weight is 0: a FAULT of the group.
    const failed = appendTo(vg.db, { type: 'track.changed', source: 'health', subject: 'track:chk', data: { name: 'chk', from: 'ok', to: 'fail', reason: 'exit status 1' } });
    await expect.poll(() => [lastState(vg.db, 'VI_1'), lastState(vg.db, 'VI_2')], { timeout: 5000, interval: 50 }).toEqual(['FAULT', 'FAULT']);
    await expect.poll(async () => [await ka.holdsVip(VIP), await ka.holdsVip(VIP2)], { timeout: 5000, interval: 50 }).toEqual([true, true]);
    const fault = readEvents(vg.db, ['vrrp.group_changed']).at(-1)!;
    expect(fault).toMatchObject({ causation: failed.seq, subject: 'vrrp_group:G1', data: { from: 'MASTER', to: 'FAULT', members: { VI_1: 'FAULT', VI_2: 'FAULT' } } });
    const vi2 = vrrpStates(vg.db).filter((e) => e.subject === 'vrrp:VI_2').at(-1)!;
    expect(vi2.data).toMatchObject({ reason: 'fault', detail: expect.stringContaining('sync group G1: VI_1 in fault (script:chk)') });

    appendTo(vg.db, { type: 'track.changed', source: 'health', subject: 'track:chk', data: { name: 'chk', from: 'fail', to: 'ok', reason: 'exit status 0' } });
    await expect.poll(() => groupStates(vg.db).at(-1), { timeout: 5000, interval: 50 }).toBe('MASTER');
    expect(groupStates(vg.db)).toEqual(['BACKUP', 'MASTER', 'FAULT', 'BACKUP', 'MASTER']);
    await expect.poll(async () => [await ka.holdsVip(VIP), await ka.holdsVip(VIP2)], { timeout: 5000, interval: 50 }).toEqual([false, false]);
    // Both members became MASTER in one step: no moment with one MASTER and one BACKUP was recorded as a group state.
    const last = vrrpStates(vg.db).slice(-2).map((e) => e.data as { instance: string; to: string });
    expect(last.map((d) => d.to)).toEqual(['MASTER', 'MASTER']);
    await vg.child.stop();
    expect(groupStates(vg.db).at(-1)).toBe('STOPPED');
    await ka.stop();
  });

  it('keepalived crashed: both vigil members take over as one group, within the master-down interval + 10%', async () => {
    const ka = kaGroup(200);
    await expect.poll(async () => [await ka.holdsVip(VIP), await ka.holdsVip(VIP2)], { timeout: 15_000, interval: 50 }).toEqual([true, true]);
    const vg = startVigil({ version: 3, priority: 150, advertInt, syncGroup: true });
    await expect.poll(() => groupStates(vg.db), { timeout: 15_000, interval: 50 }).toEqual(['BACKUP']);
    await new Promise((r) => setTimeout(r, 1000));
    expect(groupStates(vg.db)).toEqual(['BACKUP']);
    const crashedAt = Date.now();
    await ka.crash();
    await expect.poll(() => groupStates(vg.db).at(-1), { timeout: 5000, interval: 20 }).toBe('MASTER');
    const masters = vrrpStates(vg.db).filter((e) => (e.data as { to: string }).to === 'MASTER');
    expect(masters.map((e) => e.subject).sort()).toEqual(['vrrp:VI_1', 'vrrp:VI_2']);
    // master-down interval at priority 150, 100 ms adverts: 3 x 100 + (256 - 150) x 100 / 256 = 341 ms
    for (const m of masters) {
      expect(m.data).toMatchObject({ reason: 'master_down_timer' });
      expect(m.ts - crashedAt).toBeLessThan(341 * 1.1 + 100); // + the time to notice the crash and read the log
    }
    await vg.child.stop();
  });
});

describe('vigil tracks a virtual server', () => {
  it("quorum lost on this node lowers the priority and keepalived preempts; regained gives it back; a restart starts from the log's quorum", async () => {
    const advertInt = 0.1;
    const ka = startKeepalived(t, { host: 'n2', dir: tmp.path, version: 3, vrid: 51, priority: 100, advertInt, vip: VIP });
    let vg = startVigil({ version: 3, priority: 150, advertInt, trackVirtualServer: -100 });
    await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 50 }).toBe('MASTER');
    appendTo(vg.db, rsChange('10.77.0.11', 'unknown', 'up'));
    const down = appendTo(vg.db, rsChange('10.77.0.12', 'unknown', 'down'));
    await expect.poll(() => ka.holdsVip(), { timeout: 5000, interval: 50 }).toBe(true);
    expect(lastState(vg.db)).toBe('BACKUP');
    const prio = readEvents(vg.db, ['vrrp.priority_changed']);
    expect(prio).toHaveLength(1);
    expect(prio[0]).toMatchObject({ causation: down.seq, data: { from: 150, to: 50, reason: 'vs:web failed: quorum lost: up weight 1, quorum 2' } });

    await vg.child.stop();
    vg = startVigil({ version: 3, priority: 150, advertInt, trackVirtualServer: -100 });
    await expect.poll(() => readEvents(vg.db, ['service.started']).length, { timeout: 15_000, interval: 50 }).toBe(2);
    await new Promise((r) => setTimeout(r, 1500));
    expect(lastState(vg.db)).toBe('BACKUP'); // starts at 50: no preemption of keepalived
    expect(await ka.holdsVip()).toBe(true);

    const up = appendTo(vg.db, rsChange('10.77.0.12', 'down', 'up'));
    await expect.poll(() => lastState(vg.db), { timeout: 5000, interval: 50 }).toBe('MASTER');
    await expect.poll(() => ka.holdsVip(), { timeout: 5000, interval: 50 }).toBe(false);
    expect(readEvents(vg.db, ['vrrp.priority_changed']).at(-1)).toMatchObject({ causation: up.seq, data: { from: 50, to: 150 } });
    await vg.child.stop();
    await ka.stop();
  });
});
