import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startSettledCluster } from '../test/harness/fenced.js';
const cpu = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return Number(f[11]) + Number(f[12]); };
async function main() {
  const c = await startSettledCluster({ nodes: ['n1', 'n2'], profile: 'default' }, ['fence', 'vrrp', 'relay']);
  try {
    await new Promise((r) => setTimeout(r, 8000));
    for (const n of ['n1', 'n2']) for (const s of ['fence', 'vrrp', 'relay'] as const) {
      const pid = c.pid(n, s)!;
      let out = '';
      try { execFileSync('timeout', ['-s', 'INT', '10', 'strace', '-c', '-e', 'trace=epoll_pwait,epoll_wait', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] }); } catch (e) { out = String((e as { stderr?: Buffer }).stderr ?? ''); }
      console.log(`== ${n}/${s} ${out.split('\n').filter((l) => /epoll/.test(l)).join(' ')}`);
    }
    const pids = ['n1', 'n2'].flatMap((n) => (['fence', 'vrrp', 'relay'] as const).map((s) => [`${n}/${s}`, c.pid(n, s)!] as const));
    const before = pids.map(([, p]) => cpu(p));
    await new Promise((r) => setTimeout(r, 30000));
    pids.forEach(([k, p], i) => console.log(k, ((cpu(p) - before[i]!) / 100 / 30 * 100).toFixed(2), '% (30 s, own threads only)'));
  } finally {
    await c.destroy();
  }
}
void main();
