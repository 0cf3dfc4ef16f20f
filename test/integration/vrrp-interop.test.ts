// vigil's VRRP speaker and Debian's keepalived on one link, in namespaces, as peers.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventLog, type StoredEvent } from '../../shared/eventlog/index.js';
import { startKeepalived } from '../harness/keepalived.js';
import { createTopology, type Topology } from '../harness/netns.js';
import { CLI } from '../harness/node.js';
import type { Child } from '../harness/process.js';
import { tempDir, type TempDir } from '../harness/tmp.js';

const VIP = '10.77.0.100/24';
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

interface VigilOptions { version: 2 | 3; priority: number; advertInt: number; nopreempt?: boolean; unicastPeers?: string[] }

function startVigil(o: VigilOptions): { child: Child; db: string } {
  const h = t.hosts.n1!;
  const db = join(tmp.path, 'n1.db');
  const cfg = join(tmp.path, 'vigil.yaml');
  writeFileSync(cfg, `cluster: interop
nodes: { n1: {} }
log: { path: ${db} }
zookeeper: { hosts: [127.0.0.1:2181] }
fence: { required: false }
vrrp_instances:
  VI_1:
    interface: ${h.ifname}
    virtual_router_id: 51
    version: ${o.version}
    priority: ${o.priority}
    advert_int: ${o.advertInt}
    nopreempt: ${o.nopreempt ?? false}
${o.unicastPeers ? `    unicast_src_ip: ${h.address}\n    unicast_peer: [${o.unicastPeers.join(', ')}]\n` : ''}vip_groups:
  web: { instance: VI_1, addresses: [${VIP}] }
`);
  const child = t.spawn('n1', [process.execPath, CLI, 'run', 'vrrp', '--config', cfg, '--node', 'n1'], { logFile: join(tmp.path, 'vigil-n1.log') });
  return { child, db };
}

function vrrpStates(db: string): StoredEvent[] {
  try {
    const log = EventLog.open({ path: db, mustExist: true });
    try {
      return log.query({ types: ['vrrp.state_changed'] });
    } finally {
      log.close();
    }
  } catch {
    return [];
  }
}
const lastState = (db: string) => (vrrpStates(db).at(-1)?.data as { to?: string } | undefined)?.to;

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

/** Resolves with the time a VIP appears on a host, seen through `ip monitor address` (no polling delay). */
async function watchVipAdded(host: string): Promise<{ added: Promise<number>; stop: () => Promise<void> }> {
  const mon = t.spawn(host, ['ip', 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const address = VIP.split('/')[0]!;
  const added = new Promise<number>((resolve) => {
    let buf = '';
    mon.proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (const line of buf.split('\n')) if (line.includes(` ${address}/`) && !line.startsWith('Deleted')) resolve(Date.now());
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    });
  });
  await new Promise((r) => setTimeout(r, 100)); // the monitor is listening
  return { added, stop: () => mon.stop() };
}

function masterSince(db: string, after: number): number | undefined {
  return vrrpStates(db).find((e) => (e.data as { to: string }).to === 'MASTER' && e.ts >= after)?.ts;
}

describe('failover between vigil and keepalived (VRRPv3, 100 ms adverts)', () => {
  const advertInt = 0.1;
  const masterDown = (priority: number) => 3 * 100 + ((256 - priority) * 100) / 256;
  const skew = (priority: number) => ((256 - priority) * 100) / 256;

  it('vigil SIGKILLed: keepalived takes over within its master-down interval + 10%', async () => {
    const ka = startKeepalived(t, { host: 'n2', dir: tmp.path, version: 3, vrid: 51, priority: 100, advertInt, vip: VIP });
    const vg = startVigil({ version: 3, priority: 150, advertInt });
    await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 50 }).toBe('MASTER');
    await expect.poll(() => ka.lastState(), { timeout: 10_000, interval: 50 }).toBe('BACKUP');
    const watch = await watchVipAdded('n2');
    const killedAt = Date.now();
    await vg.child.kill('SIGKILL');
    const took = (await watch.added) - killedAt;
    expect(took).toBeLessThanOrEqual(masterDown(100) * 1.1);
    expect(took).toBeGreaterThan(masterDown(100) - 100 - 20); // it did wait: the last advert was at most 100 ms before the kill
    await watch.stop();
    await ka.stop();
  });

  it('keepalived crashed (SIGKILL of its process group): vigil takes over within its master-down interval + 10%', async () => {
    const ka = startKeepalived(t, { host: 'n2', dir: tmp.path, version: 3, vrid: 51, priority: 200, advertInt, vip: VIP });
    await expect.poll(() => ka.holdsVip(), { timeout: 15_000, interval: 50 }).toBe(true);
    const vg = startVigil({ version: 3, priority: 100, advertInt });
    await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 50 }).toBe('BACKUP');
    await new Promise((r) => setTimeout(r, 300));
    const killedAt = Date.now();
    await ka.crash();
    await expect.poll(() => masterSince(vg.db, killedAt), { timeout: 5000, interval: 20 }).toBeDefined();
    const took = masterSince(vg.db, killedAt)! - killedAt;
    expect(took).toBeLessThanOrEqual(masterDown(100) * 1.1);
    await vg.child.stop();
  });

  it('vigil stopped with SIGTERM: keepalived takes over after about its skew time', async () => {
    const ka = startKeepalived(t, { host: 'n2', dir: tmp.path, version: 3, vrid: 51, priority: 100, advertInt, vip: VIP });
    const vg = startVigil({ version: 3, priority: 150, advertInt });
    await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 50 }).toBe('MASTER');
    await expect.poll(() => ka.lastState(), { timeout: 10_000, interval: 50 }).toBe('BACKUP');
    const watch = await watchVipAdded('n2');
    const stoppedAt = Date.now();
    await vg.child.stop();
    const took = (await watch.added) - stoppedAt;
    expect(took).toBeLessThan(skew(100) + 100); // skew 61 ms, far below the 361 ms of a crash
    expect(lastState(vg.db)).toBe('STOPPED');
    await watch.stop();
    await ka.stop();
  });

  it('keepalived stopped with SIGTERM: vigil takes over after about its skew time', async () => {
    const ka = startKeepalived(t, { host: 'n2', dir: tmp.path, version: 3, vrid: 51, priority: 200, advertInt, vip: VIP });
    await expect.poll(() => ka.holdsVip(), { timeout: 15_000, interval: 50 }).toBe(true);
    const vg = startVigil({ version: 3, priority: 100, advertInt });
    await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 50 }).toBe('BACKUP');
    await new Promise((r) => setTimeout(r, 300));
    const stoppedAt = Date.now();
    await ka.stop();
    await expect.poll(() => masterSince(vg.db, stoppedAt), { timeout: 5000, interval: 20 }).toBeDefined();
    const e = vrrpStates(vg.db).find((x) => x.ts >= stoppedAt && (x.data as { to: string }).to === 'MASTER')!;
    expect(e.data).toMatchObject({ reason: 'priority_zero_advert' });
    expect(e.ts - stoppedAt).toBeLessThan(skew(100) + 100);
    await vg.child.stop();
  });

  it('preemption: vigil with a higher priority takes over from a keepalived master; with nopreempt it does not', async () => {
    const ka = startKeepalived(t, { host: 'n2', dir: tmp.path, version: 3, vrid: 51, priority: 100, advertInt, vip: VIP });
    await expect.poll(() => ka.holdsVip(), { timeout: 15_000, interval: 50 }).toBe(true);
    const lazy = startVigil({ version: 3, priority: 150, advertInt, nopreempt: true });
    await expect.poll(() => lastState(lazy.db), { timeout: 15_000, interval: 50 }).toBe('BACKUP');
    await new Promise((r) => setTimeout(r, 1500));
    expect(lastState(lazy.db)).toBe('BACKUP');
    expect(await ka.holdsVip()).toBe(true);
    await lazy.child.stop();
    const eager = startVigil({ version: 3, priority: 150, advertInt });
    await expect.poll(() => lastState(eager.db), { timeout: 15_000, interval: 50 }).toBe('MASTER');
    const e = vrrpStates(eager.db).at(-1)!;
    expect(e.data).toMatchObject({ reason: 'preempted' });
    await expect.poll(() => ka.holdsVip(), { timeout: 5000, interval: 50 }).toBe(false);
    await eager.child.stop();
    await ka.stop();
  });

  it('unicast peers: both sides send to each other and elect one master', async () => {
    const [a, b] = [t.hosts.n1!.address, t.hosts.n2!.address];
    const ka = startKeepalived(t, { host: 'n2', dir: tmp.path, version: 3, vrid: 51, priority: 100, advertInt, vip: VIP, unicastPeers: [a] });
    const vg = startVigil({ version: 3, priority: 150, advertInt, unicastPeers: [b] });
    await expect.poll(() => lastState(vg.db), { timeout: 15_000, interval: 50 }).toBe('MASTER');
    await expect.poll(() => ka.lastState(), { timeout: 10_000, interval: 50 }).toBe('BACKUP');
    expect(await ka.holdsVip()).toBe(false);
    await vg.child.stop();
    await expect.poll(() => ka.holdsVip(), { timeout: 5000, interval: 50 }).toBe(true);
    await ka.stop();
  });
});
