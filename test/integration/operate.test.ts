// Operating a cluster: vigil status in each state a node can be in (exit 0 ok, 1 degraded,
// 2 critical), vigil zk, and the node's Prometheus /metrics (checked by Debian's promtool,
// values against the node's log), on the demo's three directors with real ZooKeeper and
// NATS in namespaces. Every command runs inside the node's namespace, as on a director.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { METRICS_PORT, startDemoCluster, type DemoCluster } from '../../lab/demo.js';
import { isEvent } from '../../shared/eventlog/index.js';
import { CLI, ROOT } from '../harness/node.js';
import { waitFor } from '../harness/process.js';

let c: DemoCluster | undefined;
const k = () => c!.k;

interface Report {
  level: 'ok' | 'degraded' | 'critical';
  problems: { level: string; text: string }[];
  zookeeper: { reachable: boolean; nodes: string[]; groups: { group: string; holder: { node: string } | null; waiting: { node: string }[] }[] };
  local: { instances: { name: string; state: string; priority: number }[]; services: { service: string; state: string }[] };
}

async function status(node: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return k().t.exec(node, [process.execPath, CLI, 'status', '--config', k().configFile, '--node', node, '--timeout', '2', ...args], { allowFail: true, timeoutMs: 30_000 });
}

async function report(node: string): Promise<{ code: number; r: Report; text: string }> {
  const s = await status(node, '--json');
  expect(s.stderr).toBe('');
  return { code: s.code, r: JSON.parse(s.stdout) as Report, text: s.stdout };
}

/** Waits until vigil status on node exits with code (it reads the record as it changes). */
async function statusBecomes(node: string, code: number, why: string): Promise<Report> {
  return waitFor(`vigil status on ${node} to exit ${code} (${why})`, async () => {
    const { code: got, r } = await report(node);
    return got === code ? r : undefined;
  }, 30_000, 250);
}

async function scrape(node: string): Promise<string> {
  const fetchPage = `fetch('http://127.0.0.1:${METRICS_PORT}/metrics').then(async (r) => { process.stdout.write(r.headers.get('content-type') + '\\n' + await r.text()); })`;
  const r = await k().t.exec(node, [process.execPath, '-e', fetchPage], { timeoutMs: 20_000 });
  const [type, ...page] = r.stdout.split('\n');
  expect(type).toBe('text/plain; version=0.0.4; charset=utf-8');
  return page.join('\n');
}

/** name{labels} -> value. */
function values(page: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of page.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

const vi1 = (node: string) => `iname="VI_1",intf="${k().t.hosts[node]!.ifname}",vrid="51"`;
const mastered = (node: string) => k().events(node, ['vrrp.state_changed']).filter((e) => isEvent(e, 'vrrp.state_changed') && e.data.to === 'MASTER' && e.data.from !== 'MASTER').length;

beforeAll(async () => {
  c = await startDemoCluster({ cli: CLI, labDist: join(ROOT, 'dist/lab'), cwd: ROOT, ensemble: false, stop: new AbortController().signal, say: () => undefined, id: `vg${randomBytes(2).toString('hex')}` });
}, 120_000);

// A failed test keeps the cluster's folder (service logs, event logs) for a postmortem.
beforeEach(({ onTestFailed }) => onTestFailed(() => k().keepFolder()));

afterAll(async () => {
  await c?.close();
});

describe('vigil status, vigil zk and /metrics on a running cluster', () => {
  it('healthy: exit 0 on every node, the holder and every node seen in ZooKeeper; vigil zk decodes the tree', async () => {
    for (const d of ['d1', 'd2', 'd3']) {
      const r = await statusBecomes(d, 0, 'the cluster settled');
      expect(r.level).toBe('ok');
      expect(r.problems).toEqual([]);
      expect(r.zookeeper.nodes).toEqual(['d1', 'd2', 'd3']);
      expect(r.zookeeper.groups).toMatchObject([{ group: 'web', holder: { node: 'd1' }, waiting: [] }]);
    }
    const text = (await status('d1')).stdout;
    expect(text).toMatch(/^vigil status: cluster demo, node d1: OK \(/);
    expect(text).toMatch(/\n {2}web {6}held by d1 \(epoch \d+, since [^)]+\); bound here since /);
    expect(text).toMatch(/\n {2}VI_1 {5}MASTER since \S+ \(/);
    // --watch: a report per interval until Ctrl-C, then the exit status of the last one
    const watch = k().t.spawn('d1', [process.execPath, CLI, 'status', '--config', k().configFile, '--node', 'd1', '--watch', '--json', '--interval', '0.3'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    watch.proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    await waitFor('three reports', () => (out.split('\n').filter((l) => l.startsWith('{')).length >= 3 ? true : undefined), 20_000);
    watch.proc.kill('SIGINT');
    expect(await watch.exited).toEqual({ code: 0, signal: null });
    for (const line of out.trim().split('\n')) expect((JSON.parse(line) as Report).level).toBe('ok');
    const zk = await k().t.exec('d2', [process.execPath, CLI, 'zk', '--config', k().configFile], { timeoutMs: 30_000 });
    expect(zk.stdout).toMatch(/\/vigil\/demo\/nodes\/d3 +0x[0-9a-f]+ +\S+ +node d3 alive: its fence service has a session pid \d+ since /);
    expect(zk.stdout).toMatch(/\/vigil\/demo\/vips\/web\/lock\/c-d1-\d{10} +0x[0-9a-f]+ +\S+ +d1 holds the lease of web \(epoch \d+\)/);
    expect(zk.stdout).toMatch(/\/vigil\/demo\/vips\/web\/owner +0x[0-9a-f]+ +\S+ +web bound on d1 \(epoch \d+\) since \S+: 10\.\d+\.\d+\.\d+\/32 dev /);
    expect(zk.stdout).toMatch(/\/vigil\/demo\/vips\/web\/tenure +- +\S+ +tenure of web: d1 \(epoch \d+\), addresses kept by the kernel until /);
  }, 60_000);

  it('/metrics: keepalived-exporter names, valid for promtool, values as the log says', async () => {
    // adverts are counted in memory and stored once a second
    await waitFor('d2 to count adverts received', async () => ((values(await scrape('d2')).get(`keepalived_advertisements_received_total{${vi1('d2')}}`) ?? 0) > 0 ? true : undefined), 20_000, 250);
    for (const d of ['d1', 'd2']) {
      const page = await scrape(d);
      const check = spawnSync('promtool', ['check', 'metrics'], { input: page, encoding: 'utf8' });
      expect(check.status, `promtool check metrics on ${d}'s page:\n${check.stdout}${check.stderr}`).toBe(0);
      const v = values(page);
      const state = d === 'd1' ? 2 : 1;
      const vipLabel = [...v.keys()].find((key) => key.startsWith(`keepalived_vrrp_state{${vi1(d)},ip_address="`));
      expect(vipLabel, `${d} keepalived_vrrp_state`).toMatch(/ip_address="10\.\d+\.\d+\.\d+\/32"/);
      expect(v.get(vipLabel!)).toBe(state);
      expect(v.get(`keepalived_become_master_total{${vi1(d)}}`)).toBe(mastered(d));
      expect(v.get(`keepalived_script_status{name="chk_true"}`)).toBe(1);
      expect(v.get('keepalived_up')).toBe(1);
      for (const s of ['vrrp', 'fence', 'health', 'relay']) expect(v.get(`vigil_service_up{service="${s}"}`), s).toBe(1);
      expect(v.get('vigil_lease_held{group="web"}')).toBe(d === 'd1' ? 1 : 0);
      expect(v.get('vigil_zookeeper_session{state="connected"}')).toBe(1);
      const checks = k().events(d, ['health.changed']);
      const last = new Map<string, string>();
      for (const e of checks) if (isEvent(e, 'health.changed')) last.set(`vigil_check_up{target="${e.data.target}",check="${e.data.check}"}`, e.data.to);
      expect(last.size).toBeGreaterThan(0);
      for (const [key, to] of last) expect(v.get(key), key).toBe(to === 'up' ? 1 : to === 'down' ? 0 : -1);
      expect(v.get('vigil_eventlog_append_seconds_count{service="vrrp"}')).toBeGreaterThan(0);
      expect(v.get('vigil_relay_backlog_events')).toBeGreaterThanOrEqual(0);
    }
    const d1 = values(await scrape('d1'));
    expect(d1.get(`keepalived_advertisements_sent_total{${vi1('d1')}}`)).toBeGreaterThan(0);
    expect(d1.get('vigil_lease_deadline_margin_seconds')).toBeGreaterThan(0);
  }, 60_000);

  it('lease denied: a node that stops hearing the master becomes MASTER without the lease: exit 1, then 0 again', async () => {
    const heal = await k().firewall('d2', { input: [`ip saddr ${k().t.hosts.d1!.address} ip protocol vrrp drop`] });
    try {
      const r = await statusBecomes('d2', 1, 'd2 denied the lease');
      expect(r.level).toBe('degraded');
      expect(r.problems.map((p) => p.text).join('\n')).toMatch(/VIP group web: d2 is VRRP MASTER and waits for the lease held by d1/);
      expect(r.local.instances[0]).toMatchObject({ name: 'VI_1', state: 'MASTER' });
    } finally {
      await heal();
    }
    await statusBecomes('d2', 0, 'd2 hears d1 again');
    expect(k().holders()).toEqual(['d1']);
  }, 60_000);

  it('a service dead: exit 2 (critical), --service says which; back to 0 once it runs again', async () => {
    await k().signal('d3', ['health'], 'SIGKILL');
    const r = await statusBecomes('d3', 2, 'the health service killed');
    expect(r.problems.map((p) => p.text)).toContainEqual(expect.stringMatching(/^health service not alive: last heartbeat [\d.]+ s ago \(pid \d+\)$/));
    expect((await status('d3', '--service', 'health')).code).toBe(2);
    expect((await status('d3', '--service', 'vrrp')).code).toBe(0);
    k().start('d3', ['health']);
    await statusBecomes('d3', 0, 'health running again');
  }, 60_000);

  it('FAULT for lost ZooKeeper: the holder cut from ZooKeeper says critical and why; the VIP moves, never twice', async () => {
    const zk = k().t.hosts.zk!.address;
    const heal = await k().firewall('d1', { input: [`ip saddr ${zk} drop`], output: [`ip daddr ${zk} drop`] });
    try {
      const r = await statusBecomes('d1', 2, 'd1 cut from ZooKeeper');
      const problems = r.problems.map((p) => p.text).join('\n');
      expect(problems).toMatch(/ZooKeeper unreachable from here/);
      await waitFor('d1 in FAULT', async () => ((await report('d1')).r.local.instances[0]?.state === 'FAULT' ? true : undefined), 20_000, 250);
      const again = (await report('d1')).r;
      expect(again.problems.map((p) => p.text)).toContainEqual(expect.stringMatching(/^VI_1 is in FAULT/));
      expect(again.problems.map((p) => p.text)).toContainEqual(expect.stringMatching(/^the fence's ZooKeeper session is lost/));
      await waitFor('d2 to hold the VIP', () => (k().holders().join() === 'd2' ? true : undefined), 20_000);
    } finally {
      await heal();
    }
    await k().settled('d1', 30_000);
    await statusBecomes('d1', 0, 'd1 back');
    const v = values(await scrape('d1'));
    expect(v.get(`keepalived_become_master_total{${vi1('d1')}}`)).toBe(mastered('d1'));
    expect(v.get(`keepalived_release_master_total{${vi1('d1')}}`)).toBeGreaterThanOrEqual(1);
    expect(k().overlaps(), 'two nodes held the VIP at once').toEqual([]);
  }, 90_000);
});
