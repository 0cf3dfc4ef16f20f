// CPU of the VRRP service: 100 instances at 100 ms adverts on one node (masters), and a
// second node running the same 100 instances as backups (receiving 1000 adverts/s).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTopology } from '../test/harness/netns.js';
import { CLI } from '../test/harness/node.js';
import { tempDir } from '../test/harness/tmp.js';
import { EventLog } from '../shared/eventlog/index.js';
import { cpuSeconds, rssMiB } from './proc.js';
import { printTable } from './stats.js';

export async function benchVrrp(): Promise<void> {
  const n = 100;
  const tmp = tempDir('bench-vrrp');
  const t = await createTopology({ hosts: ['n1', 'n2'] });
  try {
    const config = (node: 'n1' | 'n2') => {
      const h = t.hosts[node]!;
      const lines = [`cluster: bench`, `nodes: { ${node}: {} }`, `log: { path: ${join(tmp.path, node + '.db')} }`, `zookeeper: { hosts: [127.0.0.1:2181] }`, `fence: { required: false }`, `vrrp_instances:`];
      for (let i = 1; i <= n; i++) lines.push(`  VI_${i}: { interface: ${h.ifname}, virtual_router_id: ${i}, version: 3, advert_int: 0.1, priority: ${node === 'n1' ? 150 : 100} }`);
      lines.push('vip_groups:');
      for (let i = 1; i <= n; i++) lines.push(`  g${i}: { instance: VI_${i}, addresses: [10.77.1.${i}/24] }`);
      const file = join(tmp.path, `${node}.yaml`);
      writeFileSync(file, lines.join('\n') + '\n');
      return file;
    };
    const masters = t.spawn('n1', [process.execPath, CLI, 'run', 'vrrp', '--config', config('n1'), '--node', 'n1'], { logFile: join(tmp.path, 'n1.log') });
    await new Promise((r) => setTimeout(r, 1500));
    const backups = t.spawn('n2', [process.execPath, CLI, 'run', 'vrrp', '--config', config('n2'), '--node', 'n2'], { logFile: join(tmp.path, 'n2.log') });
    await new Promise((r) => setTimeout(r, 3000)); // elections settle
    const seconds = 10;
    const [m0, b0] = [cpuSeconds(masters.pid).total, cpuSeconds(backups.pid).total];
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const [m1, b1] = [cpuSeconds(masters.pid).total, cpuSeconds(backups.pid).total];
    const rows = [
      { metric: `${n} masters (1000 adverts/s sent), CPU % of one core`, value: (((m1 - m0) / seconds) * 100).toFixed(1) },
      { metric: `${n} backups (1000 adverts/s received), CPU % of one core`, value: (((b1 - b0) / seconds) * 100).toFixed(1) },
      { metric: 'masters RSS MiB', value: rssMiB(masters.pid).toFixed(0) },
      { metric: 'backups RSS MiB', value: rssMiB(backups.pid).toFixed(0) },
    ];
    await masters.stop();
    await backups.stop();
    for (const node of ['n1', 'n2']) {
      const log = EventLog.open({ path: join(tmp.path, node + '.db'), mustExist: true });
      const states = log.query({ types: ['vrrp.state_changed'] });
      const final = new Map(states.map((e) => [(e.data as { instance: string }).instance, (e.data as { from: string; to: string })]));
      const masterCount = [...final.values()].filter((d) => d.from === 'MASTER' || d.to === 'MASTER').length;
      rows.push({ metric: `${node}: instances that were MASTER before stopping`, value: String(masterCount) });
      log.close();
    }
    printTable(`VRRP service, ${n} instances, VRRPv3 at 100 ms (namespaces on one machine)`, rows);
  } finally {
    await t.destroy();
    tmp.remove();
  }
}
