// `vigil demo`: a whole vigil cluster on this machine and a narrated scenario of faults,
// each measured by a client and by samplers of every director's interfaces that are
// independent of vigil. Three directors run the five services as separate processes;
// two real servers answer HTTP with their name; ZooKeeper and NATS run on a coordination
// host; a client keeps asking the VIP who holds it.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEvent } from '../shared/eventlog/index.js';
import { COORDINATOR, startLab, type Answer, type LabCluster, type LabContext, type ServiceName } from './cluster.js';
import { waitFor, type Child } from './process.js';
import { waitForQuorum } from './zookeeper.js';

export { DEMO_ID } from './demo-id.js';
import { DEMO_ID } from './demo-id.js';
/** Each director's Prometheus endpoint, on its namespace's loopback. */
export const METRICS_PORT = 9650;
export const DEMO_VIP = '10.77.0.100';
export const DEMO_PORT = 8080;
export const DIRECTOR_NAMES = ['d1', 'd2', 'd3'] as const;
export const REAL_SERVER_NAMES = ['rs1', 'rs2'] as const;
const DIRECTORS: readonly string[] = DIRECTOR_NAMES;
const REAL_SERVERS: readonly string[] = REAL_SERVER_NAMES;
const PRIORITIES: Record<string, number> = { d1: 150, d2: 100, d3: 50 };
export const RS_PORT = 8000;
const SESSION_S = 1.5;
/** Where the last run's event logs, configuration and client record are kept for a look afterwards. */
export const KEPT = join(tmpdir(), 'vigil-demo-last');
/** The demo's own record of what it started (never the tests'): `vigil demo --clean` ends that, and nothing else. */
export const DEMO_REGISTRY = join(tmpdir(), 'vigil-demo-state');

export interface StepResult {
  step: string;
  /** Seconds since the demo started. */
  at_s: number;
  what: string;
  holder: string | null;
  epoch: number | null;
  /** Longest time the client got no answer from the VIP during the step (ms). */
  outage_ms: number;
  /** Longest time two directors held the VIP at once, by the samplers (ms). */
  overlap_ms: number;
  /** The step's time span (unix ms), in which outage_ms was measured. */
  from: number;
  to: number;
}

export interface DemoOptions {
  cli: string;
  labDist: string;
  cwd: string;
  ensemble: boolean;
  stop: AbortSignal;
  /** A line of narration (before the step's figures are known). */
  say(line: string): void;
  /** What the demo is doing now (a progress line on a terminal). */
  doing?(what: string): void;
  step(result: StepResult): void;
}

export interface DemoResult {
  steps: StepResult[];
  kept: string;
  ipvs: boolean;
}

class Stopped extends Error {}

function demoConfig({ t, zk, nats, dir }: LabContext, withIpvs: boolean): string {
  const nodes = DIRECTORS.map((n) => `  ${n}: { address: ${t.hosts[n]!.address} }`).join('\n');
  const perNode = DIRECTORS.map((n) => `      ${n}: { interface: ${t.hosts[n]!.ifname}, priority: ${PRIORITIES[n]} }`).join('\n');
  const realServers = REAL_SERVERS.map((rs) => `      - ip: ${t.hosts[rs]!.address}
        port: ${RS_PORT}
        checks: [{ type: HTTP_GET, url: [{ path: /, status_code: 200 }], connect_timeout: 1, delay_before_retry: 0.2, retry: 0 }]
        notify_down: ["${join(dir, 'notify.sh')}", "${rs} down"]
        notify_up: ["${join(dir, 'notify.sh')}", "${rs} up"]`).join('\n');
  return `# The cluster of vigil demo (written by vigil demo; read it, it is a real configuration).
cluster: demo
nodes:
${nodes}
log: { path: '${join(dir, '{node}', 'events.db')}' }
zookeeper: { hosts: [${zk.connectString.split(',').join(', ')}], session_timeout: ${SESSION_S} }
${nats ? `nats: { servers: ["${nats.url}"] }\n` : ''}metrics: { listen: "127.0.0.1:${METRICS_PORT}" }   # each director's relay serves http://127.0.0.1:${METRICS_PORT}/metrics in its namespace
track_scripts:
  chk_true: { script: [/bin/true], interval: 1, weight: 0 }
vrrp_instances:
  VI_1:
    interface: placeholder0
    virtual_router_id: 51
    version: 3
    advert_int: 0.1
    garp_master_delay: 1
    track_script: [chk_true]
    notify: ["${join(dir, 'notify.sh')}"]
    nodes:
${perNode}
vip_groups:
  web: { instance: VI_1, addresses: [${DEMO_VIP}/32] }
virtual_servers:
  web:
    ip: ${DEMO_VIP}
    port: 80
    lb_kind: ${withIpvs ? 'DR' : 'NAT'}
    delay_loop: 0.5
    real_servers:
${realServers}
`;
}

interface Ctl {
  stop: AbortSignal;
  say(line: string): void;
  doing?(what: string): void;
}

/** Waits for probe (checking for Ctrl-C in between). */
function waitStoppable<T>(c: Ctl, what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  return waitFor(what, () => {
    if (c.stop.aborted) throw new Stopped('stopped');
    return probe();
  }, timeoutMs, 10);
}

const clock = () => performance.timeOrigin + performance.now();

async function pause(c: Ctl, ms: number): Promise<void> {
  const until = clock() + ms;
  await waitStoppable(c, 'time to pass', () => (clock() >= until ? true : undefined), ms + 5000);
}

/** The kernel's IPVS is the same in every namespace; reading the (root) table changes nothing. */
export function kernelHasIpvs(): boolean {
  try {
    execFileSync('ipvsadm', ['-Ln'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

export interface DemoCluster {
  k: LabCluster;
  services: ServiceName[];
  ipvs: boolean;
  started: number;
  /** Ends the real servers and the whole lab. */
  close(): Promise<void>;
}

/** The demo's network, coordination services and three directors running, d1 holding the VIP. */
/** id: the topology's prefix (the demo's own by default; a test passes its own, so that it never meets a demo). */
export async function startDemoCluster(o: Omit<DemoOptions, 'step'> & { id?: string }): Promise<DemoCluster> {
  const started = clock();
  const withIpvs = kernelHasIpvs();
  const rsChildren: Child[] = [];
  let lab: LabCluster | undefined;
  const close = async () => {
    await Promise.all(rsChildren.map((c) => c.kill()));
    await lab?.destroy();
  };
  try {
    lab = await startLab({
      nodes: [...DIRECTORS], extraHosts: [...REAL_SERVERS], zkServers: o.ensemble ? 3 : 1, nats: true, id: o.id ?? DEMO_ID, folder: 'demo',
      vip: DEMO_VIP, vipPort: DEMO_PORT, cli: o.cli, labDist: o.labDist, cwd: o.cwd,
      config: (ctx) => {
        writeFileSync(join(ctx.dir, 'notify.sh'), `#!/bin/sh\necho "$(date +%T.%3N) $*" >> "${join(ctx.dir, 'notify.log')}"\n`);
        chmodSync(join(ctx.dir, 'notify.sh'), 0o755);
        return demoConfig(ctx, withIpvs);
      },
    });
    const k = lab;
    const services: ServiceName[] = ['fence', 'vrrp', 'health', 'relay', ...(withIpvs ? ['ipvs' as const] : [])];
    o.say(`files of this run (configuration, logs of every process): ${k.dir}`);
    o.say(`configuration: ${k.configFile}`);
    o.say(`directors ${DIRECTORS.join(', ')} (priorities ${DIRECTORS.map((d) => PRIORITIES[d]).join(', ')}); real servers ${REAL_SERVERS.join(', ')}; ZooKeeper (${o.ensemble ? '3 servers' : 'standalone'}) and NATS on ${COORDINATOR}; VIP ${DEMO_VIP}`);
    if (!withIpvs) o.say('the ipvs service is left out: this kernel has no IPVS (ipvsadm -Ln fails); each director answers the VIP itself, the rest is unchanged');
    for (const rs of REAL_SERVERS) {
      rsChildren.push(k.t.spawn(rs, [process.execPath, join(o.labDist, 'http-server.js'), rs, k.t.hosts[rs]!.address, String(RS_PORT), join(k.dir, `${rs}.down`)], { stdio: ['ignore', 'pipe', 'ignore'], cwd: o.cwd }));
    }
    o.doing?.('starting the services of d1');
    k.start('d1', services);
    await k.settled('d1', 30_000);
    o.doing?.('starting the services of d2 and d3');
    for (const d of DIRECTORS.slice(1)) k.start(d, services);
    for (const d of DIRECTORS.slice(1)) await k.fenceReady(d);
    return { k, services, ipvs: withIpvs, started, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The longest time (ms) the client got no answer in [from, to], from its record (a line per change of answer). */
export function clientOutage(answers: readonly Answer[], from: number, to: number): number {
  let longest = 0;
  let down: number | undefined = answers.filter((a) => a.t < from).at(-1)?.answer === null ? from : undefined;
  for (const a of answers) {
    if (a.t < from || a.t > to) continue;
    if (a.answer === null) down ??= a.t;
    else if (down !== undefined) {
      longest = Math.max(longest, a.t - down);
      down = undefined;
    }
  }
  if (down !== undefined) longest = Math.max(longest, to - down);
  return Math.round(longest);
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const now = clock;
  const steps: StepResult[] = [];
  const wait = <T>(what: string, probe: () => T | undefined, timeoutMs = 20_000) => waitStoppable(o, what, probe, timeoutMs);
  const sleep = (ms: number) => pause(o, ms);
  const c = await startDemoCluster(o);
  const { k, services, started } = c;
  const withIpvs = c.ipvs;
  try {
    const epochOf = (node: string): number | null => {
      const e = k.events(node, ['vip.bound']).at(-1);
      return e && isEvent(e, 'vip.bound') ? e.data.epoch : null;
    };
    const overlap = (): number => Math.round(Math.max(0, ...k.overlaps().map((x) => x.ms)));
    const record = async (step: string, from: number, what: string, holder: string | null) => {
      const to = now();
      await sleep(100); // the client's and the samplers' lines up to now are in
      const r: StepResult = {
        step, at_s: Math.round((to - started) / 100) / 10, what, holder, epoch: holder ? epochOf(holder) : null, outage_ms: clientOutage(k.answers(), from, to), overlap_ms: overlap(), from, to,
      };
      steps.push(r);
      o.step(r);
    };
    const answeringFrom = (other: string) => wait(`the VIP to answer from a node other than ${other}`, () => {
      const h = k.holders();
      const last = k.answers().at(-1);
      return h.length === 1 && h[0] !== other && last?.answer === h[0] ? h[0] : undefined;
    });

    // 1. Steady state (the outage counts once the VIP first answered).
    const doing = (what: string) => o.doing?.(what);
    const from0 = k.answers().find((a) => a.answer !== null)?.t ?? now();
    let from = now();
    await record('steady', from, `all three directors run (the VIP answered ${((from0 - started) / 1000).toFixed(1)} s after the start); d1, highest priority, is VRRP master and holds the lease`, 'd1');

    // 2. The holder crashes.
    doing('SIGKILL to every service of d1; waiting for another director to answer');
    from = now();
    await k.signal('d1', services, 'SIGKILL');
    let holder = await answeringFrom('d1');
    await record('crash', from, `every service of d1 SIGKILLed: its VIP stops answering at its lease deadline (kernel fence) and goes (dead man's switch), ${holder} takes over when d1's ZooKeeper session expires`, holder);

    // 3. It comes back and preempts.
    doing('starting d1 again; waiting for it to preempt');
    from = now();
    k.start('d1', services);
    await k.settled('d1', 30_000);
    await record('return', from, 'd1 started again: it preempts (higher priority), the other releases first, then d1 binds', 'd1');

    // 4. A partition between the directors: d3 alone on one side, VRRP master too; one lease.
    doing('cutting d3 from d1 and d2 (nftables in their namespaces)');
    from = now();
    const cutOff = async (d: string, from: string[]) => [
      await k.firewall(d, { input: from.map((x) => `ip saddr ${k.t.hosts[x]!.address} drop`) }),
      ...(await Promise.all(from.map((x) => k.firewall(x, { input: [`ip saddr ${k.t.hosts[d]!.address} drop`] })))),
    ];
    let heals = await cutOff('d3', ['d1', 'd2']);
    await wait('d3 to be refused the lease', () => (k.events('d3', ['fence.lease_denied']).some((e) => e.ts >= from) ? true : undefined));
    await record('partition', from, 'd3 cut from d1 and d2: d3 becomes VRRP master too and records fence.lease_denied; d1 keeps the lease (d2 still hears it, so the directors most of them hear are with d1)', k.holders()[0] ?? null);

    // 5. Healed.
    doing('healing the partition');
    from = now();
    for (const h of heals) await h();
    await wait('d3 to leave the lock', () => (k.events('d3', ['fence.lease_candidate']).some((e) => e.ts >= from && isEvent(e, 'fence.lease_candidate') && e.data.action === 'left') ? true : undefined));
    await record('heal', from, 'the directors hear each other again: d3 is BACKUP again and leaves the lock', k.holders()[0] ?? null);

    // 5b. The holder cut from the other directors (it still reaches ZooKeeper and the client).
    doing('cutting d1 from d2 and d3');
    from = now();
    heals = await cutOff('d1', ['d2', 'd3']);
    const gave = await wait('d1 to give the lease up', () => {
      const e = k.events('d1', ['fence.gave_way']).find((x) => x.ts >= from);
      return e && isEvent(e, 'fence.gave_way') ? e : undefined;
    });
    const taker = await answeringFrom('d1');
    await record('holder cut off', from, `d1 cut from d2 and d3: ${gave.data.heard_by.join(' and ')} no longer hear d1's adverts and ${gave.data.to} wants the lease, so d1 gives it to ${gave.data.to} (fence.gave_way): the side most directors are on serves`, taker);

    doing('healing the cut');
    from = now();
    for (const h of heals) await h();
    await k.settled('d1', 30_000);
    await record('rejoin', from, `d1 is heard again: ${taker} (lower priority) goes BACKUP and lets go, d1 binds`, 'd1');

    // 6. A real server fails its check and comes back.
    doing('rs1 answers 503 now; waiting for the checks');
    from = now();
    const rs = REAL_SERVERS[0]!;
    const rsAddress = k.t.hosts[rs]!.address;
    const healthOf = (to: 'up' | 'down', since: number) =>
      k.events('d1', ['health.changed']).filter((e) => isEvent(e, 'health.changed')).find((e) => e.ts >= since && e.data.target === `${rsAddress}:${RS_PORT}` && e.data.to === to);
    writeFileSync(join(k.dir, `${rs}.down`), '');
    const down = await wait(`${rs} to be seen down`, () => healthOf('down', from));
    rmSync(join(k.dir, `${rs}.down`));
    const upFrom = now();
    await wait(`${rs} to be seen up`, () => healthOf('up', upFrom));
    await record('real server', from, `${rs} answers 503: every director's health service records it down (${down.data.reason}) and runs notify_down; then up again`, k.holders()[0] ?? null);

    // 7. Graceful stop of the holder.
    doing('SIGTERM to every service of the holder');
    from = now();
    const old = k.holders()[0] ?? 'd1';
    await k.signal(old, services, 'SIGTERM');
    holder = await answeringFrom(old);
    await record('graceful stop', from, `every service of ${old} stopped with SIGTERM: it unbinds, leaves the lock and sends priority 0; ${holder} takes over at once`, holder);

    // 8. The whole ZooKeeper ensemble stopped, then started.
    doing('stopping every ZooKeeper server');
    from = now();
    for (const s of k.zk.servers) await s.stop();
    await wait('the VIP to be released everywhere', () => (k.holders().length === 0 ? true : undefined));
    const released = now();
    await sleep(1000);
    doing('starting ZooKeeper again');
    const restarted = now();
    for (const s of k.zk.servers) await s.start();
    await waitForQuorum(k.zk); // seconds: a JVM starting (the probe sees it a little late)
    const serving = now();
    // The client reports an attempt once it ended, in the order they began: the first answer
    // since the release is waited for itself (the last report may still be from before it),
    // and then an answer from the holder the samplers see (the first to bind may be
    // preempted by a director of higher priority that left FAULT a moment later).
    const backAnswer = await wait('the VIP back', () => {
      const a = k.answers().find((x) => x.t >= released && x.answer !== null);
      const h = k.holders();
      return a && h.length === 1 && k.answers().at(-1)?.answer === h[0] ? { a, h: h[0]! } : undefined;
    }, 60_000);
    holder = backAnswer.h;
    const back = backAnswer.a.t;
    await record('ZooKeeper down', from, `every ZooKeeper server stopped: no quorum, no VIP (released ${Math.round(released - from)} ms later, by the lease deadline); started again, it served ${((serving - restarted) / 1000).toFixed(1)} s later, and the VIP was back ${Math.max(0, Math.round(back - serving))} ms after that`, holder);

    // What to look at afterwards (the services stopped first, so that their logs are whole).
    doing('stopping the services and keeping the record of this run');
    for (const d of DIRECTORS) await k.signal(d, services, 'SIGTERM');
    rmSync(KEPT, { recursive: true, force: true });
    mkdirSync(KEPT, { recursive: true });
    for (const d of DIRECTORS) if (existsSync(join(k.dir, d))) cpSync(join(k.dir, d), join(KEPT, d), { recursive: true, filter: (src) => !src.endsWith('-shm') });
    cpSync(k.configFile, join(KEPT, 'vigil.yaml'));
    if (existsSync(join(k.dir, 'notify.log'))) cpSync(join(k.dir, 'notify.log'), join(KEPT, 'notify.log'));
    // Each service's own log (JSON lines on stderr), for what the events do not say.
    mkdirSync(join(KEPT, 'logs'));
    for (const f of readdirSync(k.dir).filter((x) => /^d\d-[a-z]+\.log$/.test(x))) cpSync(join(k.dir, f), join(KEPT, 'logs', f));
    writeFileSync(join(KEPT, 'client.jsonl'), k.answers().map((a) => JSON.stringify(a)).join('\n') + '\n');
    writeFileSync(join(KEPT, 'presence.jsonl'), k.presence().map((p) => JSON.stringify({ ...p, to: Number.isFinite(p.to) ? p.to : null })).join('\n') + '\n');
    writeFileSync(join(KEPT, 'summary.json'), JSON.stringify({ steps, ipvs: withIpvs }, null, 2) + '\n');
    return { steps, kept: KEPT, ipvs: withIpvs };
  } finally {
    await c.close();
  }
}

export { Stopped as DemoStopped };
