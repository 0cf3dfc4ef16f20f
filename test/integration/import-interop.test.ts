// An imported pair in service: two keepalived node files, as a keepalived user has them;
// lb2 goes on running keepalived with its own file, lb1 runs vigil (fence and vrrp, with
// ZooKeeper) from `vigil import keepalived` of both files. Same VRID, same VIP: the
// election and the VIP behave as between two keepalived nodes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { createTopology, type Topology } from '../harness/netns.js';
import { CLI, vigil } from '../harness/node.js';
import type { Child } from '../harness/process.js';
import { tempDir, type TempDir } from '../harness/tmp.js';
import { startZooKeeper, type ZooKeeper } from '../harness/zookeeper.js';

const VIP = '10.77.0.100';
let tmp: TempDir;
let t: Topology;
let zk: ZooKeeper | undefined;
const children: Child[] = [];
beforeEach(async () => {
  tmp = tempDir('import-interop');
  t = await createTopology({ hosts: ['n1', 'n2', 'zk'] });
});
afterEach(async () => {
  for (const c of children.splice(0)) await c.stop(5000);
  await zk?.stop();
  zk = undefined;
  await t.destroy();
  tmp.remove();
});

/** A keepalived.conf as such pairs are written (VRRPv2, 1 s adverts, PASS authentication). */
function keepalivedConf(node: 'lb1' | 'lb2', ifname: string): string {
  return `! ${node}
global_defs {
   router_id ${node}
   notification_email {
     ops@example.com
   }
   vrrp_garp_master_delay 0
}
vrrp_instance VI_1 {
    state ${node === 'lb1' ? 'MASTER' : 'BACKUP'}
    interface ${ifname}
    virtual_router_id 51
    priority ${node === 'lb1' ? 150 : 100}
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        ${VIP}/24 dev ${ifname}
    }
}
`;
}

async function holds(host: string): Promise<boolean> {
  const r = await t.exec(host, ['ip', '-4', '-o', 'addr', 'show', 'dev', t.hosts[host]!.ifname]);
  return r.stdout.includes(` ${VIP}/`);
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  await expect.poll(probe, { timeout: timeoutMs, interval: 50, message: what }).toBe(true);
}

describe('an imported keepalived pair: keepalived on one node, vigil on the other', () => {
  it('elects and moves the VIP as two keepalived nodes would', async () => {
    zk = await startZooKeeper({ place: { ns: t.hosts.zk!.ns, host: t.hosts.zk!.address } });
    const files = { lb1: join(tmp.path, 'lb1.conf'), lb2: join(tmp.path, 'lb2.conf') };
    writeFileSync(files.lb1, keepalivedConf('lb1', t.hosts.n1!.ifname));
    writeFileSync(files.lb2, keepalivedConf('lb2', t.hosts.n2!.ifname));
    const out = join(tmp.path, 'vigil.yaml');
    const imported = await vigil(['import', 'keepalived', files.lb1, files.lb2, '-o', out, '--cluster', 'pair', '--zookeeper', zk.connectString]);
    expect(imported.code, imported.stderr).toBe(1); // warnings: the mail settings
    expect(imported.stderr).toMatch(/notification_email: not carried over/);
    // The one thing keepalived has no word for: where this node keeps its log.
    const config = parseYaml(readFileSync(out, 'utf8')) as Record<string, unknown>;
    writeFileSync(out, stringify({ ...config, log: { path: join(tmp.path, '{node}.db') }, zookeeper: { ...(config.zookeeper as object), session_timeout: 1.5 } }));

    // lb2: keepalived with its own file, as before the migration.
    const ka = t.spawn('n2', ['keepalived', '--dont-fork', '--log-console', '--log-detail', '--vrrp', '--use-file', files.lb2, '--pid', join(tmp.path, 'ka.pid'), '--vrrp_pid', join(tmp.path, 'ka-vrrp.pid')], { logFile: join(tmp.path, 'keepalived.log') });
    children.push(ka);
    await until('keepalived (alone) to hold the VIP', () => holds('n2'));

    // lb1: vigil from the imported file. Priority 150 > 100: it preempts, keepalived lets go.
    const start = () => (['fence', 'vrrp'] as const).map((s) => {
      const c = t.spawn('n1', [process.execPath, CLI, 'run', s, '--config', out, '--node', 'lb1'], { logFile: join(tmp.path, `lb1-${s}.log`) });
      children.push(c);
      return c;
    });
    let lb1 = start();
    await until('vigil to take the VIP', async () => (await holds('n1')) && !(await holds('n2')));
    await new Promise((r) => setTimeout(r, 3000)); // and keep it: keepalived stays BACKUP
    expect(await holds('n1')).toBe(true);
    expect(await holds('n2')).toBe(false);
    expect(readFileSync(join(tmp.path, 'keepalived.log'), 'utf8')).toMatch(/Entering BACKUP STATE/);

    // vigil stops (SIGTERM: priority 0, unbind): keepalived takes over at once.
    for (const c of lb1) await c.stop(10_000);
    await until('keepalived to take the VIP back', async () => (await holds('n2')) && !(await holds('n1')), 10_000);

    // vigil back: it preempts again.
    lb1 = start();
    await until('vigil to take the VIP again', async () => (await holds('n1')) && !(await holds('n2')));
    expect(ka.isRunning()).toBe(true);
  }, 120_000);
});
