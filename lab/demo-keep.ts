// `vigil demo --keep`: the demo's cluster left running, with a live view of who holds what,
// acted on from another terminal (`vigil demo kill d1`, `cut d1 d2`, `heal`, `stop`, ...)
// through a Unix socket that only the running demo listens on.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { isEvent } from '../shared/eventlog/index.js';
import { CLIENT } from './cluster.js';
import { ZKCLI } from './zookeeper.js';
import { DIRECTOR_NAMES, REAL_SERVER_NAMES, DEMO_VIP, RS_PORT, startDemoCluster, type DemoCluster, type DemoOptions } from './demo.js';

export const CONTROL_SOCKET = join(tmpdir(), 'vigil-demo.sock');

const director = z.enum(DIRECTOR_NAMES);
const realServer = z.enum(REAL_SERVER_NAMES);
export const demoAction = z.discriminatedUnion('do', [
  z.strictObject({ do: z.literal('kill'), node: director }),
  z.strictObject({ do: z.literal('start'), node: director }),
  z.strictObject({ do: z.literal('cut'), a: director, b: director }),
  z.strictObject({ do: z.literal('heal') }),
  z.strictObject({ do: z.literal('down'), server: realServer }),
  z.strictObject({ do: z.literal('up'), server: realServer }),
  z.strictObject({ do: z.literal('stop') }),
]);
export type DemoAction = z.infer<typeof demoAction>;
const reply = z.strictObject({ ok: z.boolean(), message: z.string() });

/** Sends an action to the running demo; its answer. */
export function sendDemoAction(a: DemoAction): Promise<z.infer<typeof reply>> {
  return new Promise((resolve, reject) => {
    if (!existsSync(CONTROL_SOCKET)) return reject(new Error('no demo is running with --keep (start one: vigil demo --keep)'));
    const s = createConnection(CONTROL_SOCKET);
    s.on('error', (err) => reject(new Error(`cannot reach the running demo: ${err.message}`)));
    s.setTimeout(30_000, () => s.destroy(new Error('no answer from the running demo in 30 s')));
    createInterface({ input: s }).once('line', (l) => {
      s.end();
      const r = reply.safeParse(JSON.parse(l));
      if (r.success) resolve(r.data);
      else reject(new Error(`the running demo answered something unexpected: ${l.slice(0, 200)}`));
    });
    s.write(JSON.stringify(a) + '\n');
  });
}

/** Carries out one action on the kept cluster; what happened, in words. */
async function act(c: DemoCluster, a: DemoAction): Promise<string> {
  const { k, services } = c;
  switch (a.do) {
    case 'kill':
      await k.signal(a.node, services, 'SIGKILL');
      return `every service of ${a.node} SIGKILLed`;
    case 'start':
      k.start(a.node, services);
      return `the services of ${a.node} started`;
    case 'cut': {
      if (a.a === a.b) throw new Error('cut needs two different directors');
      await k.firewall(a.a, { input: [`ip saddr ${k.t.hosts[a.b]!.address} drop`] });
      await k.firewall(a.b, { input: [`ip saddr ${k.t.hosts[a.a]!.address} drop`] });
      return `${a.a} and ${a.b} no longer hear each other (both still reach ZooKeeper)`;
    }
    case 'heal':
      for (const d of DIRECTOR_NAMES) await k.t.exec(d, ['nft', 'delete table inet vgcut'], { allowFail: true });
      return 'every cut between the directors healed';
    case 'down':
      writeFileSync(join(k.dir, `${a.server}.down`), '');
      return `${a.server} answers 503 now`;
    case 'up':
      rmSync(join(k.dir, `${a.server}.down`), { force: true });
      return `${a.server} answers 200 again`;
    case 'stop':
      return 'stopping the demo';
  }
}

/** The live view: who holds the VIP, each director's state, the real servers. */
export function demoView(c: DemoCluster): string[] {
  const { k, services } = c;
  const holders = k.holders();
  const last = k.answers().at(-1);
  const overlap = Math.round(Math.max(0, ...k.overlaps().map((x) => x.ms)));
  const stateOf = (node: string) => {
    let vrrp = '-';
    let zk = '-';
    for (const e of k.events(node, ['vrrp.state_changed', 'fence.zk_state'])) {
      if (isEvent(e, 'vrrp.state_changed')) vrrp = e.data.to;
      if (isEvent(e, 'fence.zk_state')) zk = e.data.state;
    }
    const epoch = k.events(node, ['vip.bound']).filter((e) => isEvent(e, 'vip.bound')).at(-1)?.data.epoch;
    return { vrrp, zk, epoch };
  };
  const lines = [
    `VIP ${DEMO_VIP}: ${holders.length === 0 ? 'held by nobody' : `held by ${holders.join(' and ')}`}; the client hears ${last?.answer ?? 'nothing'}; longest overlap so far ${overlap} ms`,
    '',
    `${'NODE'.padEnd(6)}${'VRRP'.padEnd(9)}${'ZOOKEEPER'.padEnd(11)}${'VIP'.padEnd(12)}SERVICES RUNNING`,
  ];
  for (const d of DIRECTOR_NAMES) {
    const s = stateOf(d);
    const running = services.filter((x) => k.running(d, x));
    lines.push(`${d.padEnd(6)}${s.vrrp.padEnd(9)}${s.zk.padEnd(11)}${(holders.includes(d) ? `yes (${s.epoch ?? '?'})` : 'no').padEnd(12)}${running.length > 0 ? running.join(' ') : 'none'}`);
  }
  // As a director whose health service runs checks them (every director checks every real server).
  const checker = DIRECTOR_NAMES.find((d) => k.running(d, 'health')) ?? 'd1';
  const health = new Map<string, string>();
  for (const e of k.events(checker, ['health.changed'])) if (isEvent(e, 'health.changed')) health.set(e.data.target, e.data.to);
  lines.push('', `real servers (as ${checker} checks them): ${REAL_SERVER_NAMES.map((rs) => `${rs} ${health.get(`${k.t.hosts[rs]!.address}:${RS_PORT}`) ?? 'not checked yet'}`).join(', ')}`);
  lines.push('', 'act on it from another terminal: vigil demo kill d1 | start d1 | cut d1 d2 | heal | down rs1 | up rs1 | stop   (or Ctrl-C here)');
  // From the client's namespace, which reaches ZooKeeper and NATS on the demo's network.
  const inClient = `ip netns exec ${k.t.hosts[CLIENT]!.ns}`;
  lines.push(
    `look inside: ${inClient} ${ZKCLI} -server ${k.zk.connectString.split(',')[0]} ls /vigil/demo/vips/web/lock`,
    `             ${inClient} ${process.execPath} ${process.argv[1] ?? 'vigil'} alerts --config ${k.configFile} --node d1`,
    `             ${process.execPath} ${process.argv[1] ?? 'vigil'} log --db ${k.logPath('d1')} --follow`,
  );
  return lines;
}

/** Keeps the demo's cluster until Ctrl-C or `vigil demo stop`; calls view with the live view every half second. */
export async function keepDemo(o: Omit<DemoOptions, 'step'> & { view(lines: string[]): void; acted(line: string): void }): Promise<void> {
  const c = await startDemoCluster(o);
  let server: Server | undefined;
  let stopRequested: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stopRequested = resolve;
    o.stop.addEventListener('abort', () => resolve(), { once: true });
  });
  try {
    rmSync(CONTROL_SOCKET, { force: true });
    server = createServer((sock) => {
      sock.on('error', () => {});
      createInterface({ input: sock }).once('line', (l) => {
        void (async () => {
          let answer: z.infer<typeof reply>;
          try {
            const a = demoAction.safeParse(JSON.parse(l));
            if (!a.success) throw new Error(`not an action: ${a.error.issues.map((i) => i.message).join('; ')}`);
            const message = await act(c, a.data);
            o.acted(message);
            answer = { ok: true, message };
            if (a.data.do === 'stop') setImmediate(stopRequested);
          } catch (err) {
            answer = { ok: false, message: err instanceof Error ? err.message : String(err) };
          }
          sock.end(JSON.stringify(answer) + '\n');
        })();
      });
    });
    await new Promise<void>((resolve, reject) => server!.once('error', reject).listen(CONTROL_SOCKET, resolve));
    const timer = setInterval(() => o.view(demoView(c)), 500);
    o.view(demoView(c));
    await stopped;
    clearInterval(timer);
  } finally {
    server?.close();
    rmSync(CONTROL_SOCKET, { force: true });
    await c.close();
  }
}
