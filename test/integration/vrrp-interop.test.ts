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
