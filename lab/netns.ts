// Hosts in network namespaces (the tests', the demo's), on one bridge inside a "switch"
// namespace of its own. Every name starts with "vg" and an id (random by default), so that
// runs never collide and `npm run test:clean` can remove whatever an interrupted run left.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { startChild, type Child, type StartOptions } from './process.js';

const run = promisify(execFile);
export const PREFIX = 'vg';

export async function sh(argv: string[], options: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const r = await run(argv[0]!, argv.slice(1), { timeout: options.timeoutMs ?? 10_000, maxBuffer: 16 << 20 });
    return { stdout: r.stdout, stderr: r.stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number | string };
    if (options.allowFail) return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : 1 };
    throw new Error(`${argv.join(' ')} failed: ${(e.stderr ?? String(err)).trim()}`);
  }
}

export interface Host {
  name: string;
  ns: string;
  /** The host's interface on the switch (inside its namespace). */
  ifname: string;
  address: string;
  prefix: number;
}

export interface Topology {
  id: string;
  switchNs: string;
  bridge: string;
  hosts: Record<string, Host>;
  /** Runs a command inside a host's namespace and waits for it. */
  exec(host: string, argv: string[], options?: { allowFail?: boolean; timeoutMs?: number }): Promise<{ stdout: string; stderr: string; code: number }>;
  /** Starts a long-running process inside a host's namespace. */
  spawn(host: string, argv: string[], options?: StartOptions): Child;
  /** Takes a host's link on the switch down or up (switch side, as a pulled cable). */
  setLink(host: string, up: boolean): Promise<void>;
  /** Ends what runs in the namespaces and deletes them (idempotent). */
  destroy(): Promise<void>;
}

export interface TopologyOptions {
  hosts: string[];
  /** First three octets of the hosts' /24; hosts get .1, .2, ... in order. */
  subnet?: string;
  /** The prefix of every name (starting with "vg"); default: "vg" and a random id. */
  id?: string;
}

export async function createTopology(o: TopologyOptions): Promise<Topology> {
  const id = o.id ?? PREFIX + randomBytes(2).toString('hex');
  if (!id.startsWith(PREFIX) || id.length > 6) throw new Error(`topology id "${id}" must start with ${PREFIX} and have at most 6 characters`);
  const subnet = o.subnet ?? '10.77.0';
  for (const h of o.hosts) if (!/^[a-z0-9]{1,6}$/.test(h)) throw new Error(`host name "${h}" must be 1-6 lower-case letters or digits (interface names are limited to 15 characters)`);
  const switchNs = `${id}-sw`;
  const bridge = `${id}br`;
  const created: string[] = [];
  const children: Child[] = [];
  const hosts: Record<string, Host> = {};

  const destroy = async () => {
    await Promise.all(children.map((c) => c.kill()));
    for (const ns of [...created].reverse()) await deleteNamespace(ns);
    created.length = 0;
  };

  try {
    await sh(['ip', 'netns', 'add', switchNs]);
    created.push(switchNs);
    await sh(['ip', '-n', switchNs, 'link', 'set', 'lo', 'up']);
    await sh(['ip', '-n', switchNs, 'link', 'add', bridge, 'type', 'bridge']);
    await sh(['ip', '-n', switchNs, 'link', 'set', bridge, 'up']);
    for (const [i, name] of o.hosts.entries()) {
      const ns = `${id}-${name}`;
      await sh(['ip', 'netns', 'add', ns]);
      created.push(ns);
      const inner = `${id}${name}a`;
      const outer = `${id}${name}b`;
      await sh(['ip', '-n', ns, 'link', 'add', inner, 'type', 'veth', 'peer', 'name', outer, 'netns', switchNs]);
      await sh(['ip', '-n', switchNs, 'link', 'set', outer, 'master', bridge, 'up']);
      const address = `${subnet}.${i + 1}`;
      await sh(['ip', '-n', ns, 'addr', 'add', `${address}/24`, 'dev', inner]);
      await sh(['ip', '-n', ns, 'link', 'set', inner, 'up']);
      await sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      // Namespaces inherit the host's forwarding setting; a lab host must not route.
      await sh(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=0']);
      hosts[name] = { name, ns, ifname: inner, address, prefix: 24 };
    }
  } catch (err) {
    await destroy();
    throw err;
  }

  const hostOf = (name: string): Host => {
    const h = hosts[name];
    if (!h) throw new Error(`no host "${name}" in topology ${id}`);
    return h;
  };
  return {
    id,
    switchNs,
    bridge,
    hosts,
    exec: (host, argv, options) => sh(['ip', 'netns', 'exec', hostOf(host).ns, ...argv], options),
    spawn(host, argv, options) {
      const c = startChild(['ip', 'netns', 'exec', hostOf(host).ns, ...argv], options);
      children.push(c);
      return c;
    },
    async setLink(host, up) {
      await sh(['ip', '-n', switchNs, 'link', 'set', `${id}${host}b`, up ? 'up' : 'down']);
    },
    destroy,
  };
}

/** Runs f with a fresh topology, and always deletes it, also when f throws. */
export async function withTopology<T>(o: TopologyOptions, f: (t: Topology) => Promise<T>): Promise<T> {
  const t = await createTopology(o);
  try {
    return await f(t);
  } finally {
    await t.destroy();
  }
}

/** Kills what still runs inside the namespace (only the lab's processes can be there), then deletes it. */
export async function deleteNamespace(ns: string): Promise<void> {
  if (!ns.startsWith(PREFIX)) throw new Error(`refusing to delete namespace ${ns}: not one of ours (prefix ${PREFIX})`);
  const pids = (await sh(['ip', 'netns', 'pids', ns], { allowFail: true })).stdout.split(/\s+/).filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await sh(['ip', 'netns', 'del', ns], { allowFail: true });
}

export async function listOurNamespaces(): Promise<string[]> {
  const out = (await sh(['ip', 'netns', 'list'], { allowFail: true })).stdout;
  return out.split('\n').map((l) => l.split(/\s+/)[0] ?? '').filter((n) => n.startsWith(PREFIX));
}

/** Links of the root namespace named like ours (vg*). */
export async function listOurLinks(): Promise<string[]> {
  const out = (await sh(['ip', '-o', 'link', 'show'], { allowFail: true })).stdout;
  return out.split('\n').map((l) => /^\d+: ([^:@\s]+)/.exec(l)?.[1] ?? '').filter((n) => n.startsWith(PREFIX));
}
