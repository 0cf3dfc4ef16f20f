// Real ZooKeeper (Debian's package) as child processes on free loopback ports:
// standalone or an ensemble, each server with its own config and data folder.
import { execFile } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePorts } from './ports.js';
import { startChild, waitFor, type Child } from './process.js';
import { tempDir, type TempDir } from './tmp.js';

const CLASSPATH = ['/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-simple.jar'];
export const ZKCLI = '/usr/share/zookeeper/bin/zkCli.sh';

/** Where servers listen: loopback of the root namespace, or an address inside a test namespace. */
export interface ZkPlace {
  ns: string;
  host: string;
}

const FLW_IN_NAMESPACE = `const [h, p, w, t] = process.argv.slice(1);
const s = require('net').connect({ host: h, port: +p });
let out = ''; setTimeout(() => process.exit(2), +t);
s.on('connect', () => s.write(w)); s.on('data', (d) => (out += d)); s.on('error', () => process.exit(1));
s.on('close', () => { process.stdout.write(out); process.exit(0); });`;

/** Sends a four-letter word; resolves with the answer, rejects after timeoutMs (a probe during start-up can hang). */
export function fourLetterWord(port: number, word: string, timeoutMs = 1000, at?: ZkPlace): Promise<string> {
  if (at) {
    return new Promise((resolve, reject) => {
      execFile('ip', ['netns', 'exec', at.ns, process.execPath, '-e', FLW_IN_NAMESPACE, at.host, String(port), word, String(timeoutMs)], { timeout: timeoutMs + 2000 }, (err, stdout) => {
        if (err) reject(new Error(`${word} on ${at.host}:${port} in ${at.ns}: ${err.message}`));
        else resolve(stdout);
      });
    });
  }
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    let out = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`${word} on port ${port}: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(word));
    sock.on('data', (d) => (out += d.toString()));
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

export async function zkMode(port: number, at?: ZkPlace): Promise<string | undefined> {
  // 2 s: a JVM on a busy machine can take longer than half a second to answer.
  const answer = await fourLetterWord(port, 'srvr', 2000, at);
  return /^Mode: (\w+)/m.exec(answer)?.[1];
}

export interface ZkServer {
  readonly id: number;
  readonly clientPort: number;
  readonly dir: string;
  readonly pid: number | undefined;
  isRunning(): boolean;
  start(): Promise<void>;
  /** SIGTERM (clean shutdown). */
  stop(): Promise<void>;
  /** SIGKILL (crash). */
  kill(): Promise<void>;
}

export interface ZooKeeper {
  readonly servers: ZkServer[];
  /** host:port,host:port,... */
  readonly connectString: string;
  /** Set when the servers run inside a test namespace. */
  readonly place: ZkPlace | undefined;
  leader(): Promise<ZkServer | undefined>;
  /** Runs zkCli.sh with these arguments against the first running server; resolves with its output. */
  cli(args: string[]): Promise<string>;
  /** Stops every server and removes all files (unless kept). */
  stop(): Promise<void>;
  /** Keeps the servers' folders (their logs: when an election ended) when they stop. */
  keep(): void;
}

export interface ZooKeeperOptions {
  servers?: 1 | 3 | 5;
  tickTime?: number;
  minSessionTimeout?: number;
  /** Run the servers inside this namespace, listening on this address (default: root namespace, 127.0.0.1). */
  place?: ZkPlace;
}

export async function startZooKeeper(o: ZooKeeperOptions = {}): Promise<ZooKeeper> {
  const n = o.servers ?? 1;
  const tmp: TempDir = tempDir('zk');
  const ports = await freePorts(n * 3);
  const place = o.place;
  const host = place?.host ?? '127.0.0.1';
  const quorum = Array.from({ length: n }, (_, i) => `server.${i + 1}=${host}:${ports[n + i]}:${ports[2 * n + i]}`);
  const servers: ZkServer[] = [];
  for (let i = 0; i < n; i++) {
    const id = i + 1;
    const dir = join(tmp.path, `zk${id}`);
    mkdirSync(join(dir, 'data'), { recursive: true });
    const clientPort = ports[i]!;
    writeFileSync(
      join(dir, 'zoo.cfg'),
      [
        `tickTime=${o.tickTime ?? 100}`,
        'initLimit=50',
        'syncLimit=20',
        `dataDir=${join(dir, 'data')}`,
        `clientPort=${clientPort}`,
        `clientPortAddress=${host}`,
        'admin.enableServer=false',
        '4lw.commands.whitelist=*',
        `minSessionTimeout=${o.minSessionTimeout ?? 200}`,
        'maxSessionTimeout=60000',
        'autopurge.purgeInterval=0',
        ...(n > 1 ? quorum : []),
        '',
      ].join('\n'),
    );
    if (n > 1) writeFileSync(join(dir, 'data', 'myid'), `${id}\n`);
    let child: Child | undefined;
    const server: ZkServer = {
      id,
      clientPort,
      dir,
      get pid() {
        return child?.isRunning() ? child.pid : undefined;
      },
      isRunning: () => child?.isRunning() ?? false,
      async start() {
        if (child?.isRunning()) return;
        child = startChild(
          [...(place ? ['ip', 'netns', 'exec', place.ns] : []), 'java', '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto', '-Dzookeeper.jmx.log4j.disable=true',
            '-cp', [dir, ...CLASSPATH].join(':'), 'org.apache.zookeeper.server.quorum.QuorumPeerMain', join(dir, 'zoo.cfg')],
          { logFile: join(dir, 'zookeeper.log'), cwd: dir },
        );
      },
      async stop() {
        await child?.stop();
      },
      async kill() {
        await child?.kill('SIGKILL');
      },
    };
    servers.push(server);
  }
  const zk: ZooKeeper = {
    servers,
    connectString: servers.map((s) => `${host}:${s.clientPort}`).join(','),
    place,
    async leader() {
      for (const s of servers) if (s.isRunning() && (await zkMode(s.clientPort, place).catch(() => undefined)) === (n === 1 ? 'standalone' : 'leader')) return s;
      return undefined;
    },
    async cli(args) {
      const s = servers.find((x) => x.isRunning());
      if (!s) throw new Error('no ZooKeeper server is running');
      const argv = [...(place ? ['ip', 'netns', 'exec', place.ns] : []), ZKCLI, '-server', `${host}:${s.clientPort}`, ...args];
      return new Promise((resolve, reject) => {
        execFile(argv[0]!, argv.slice(1), { timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(`zkCli.sh ${args.join(' ')}: ${stderr || err.message}`)) : resolve(withoutWatcherNotices(stdout))));
      });
    },
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
      tmp.remove();
    },
    keep: () => tmp.keep(),
  };
  try {
    await Promise.all(servers.map((s) => s.start()));
    await waitForQuorum(zk);
  } catch (err) {
    await zk.stop();
    throw err;
  }
  return zk;
}

/** Every running server serves (standalone, or follower/leader with a leader elected). */
export async function waitForQuorum(zk: ZooKeeper, timeoutMs = 30_000): Promise<void> {
  await waitFor('ZooKeeper to serve', async () => {
    for (const s of zk.servers) {
      if (!s.isRunning()) continue;
      const mode = await zkMode(s.clientPort, zk.place).catch(() => undefined);
      if (mode === undefined) return undefined;
    }
    return true;
  }, timeoutMs);
}

/**
 * zkCli.sh's output without the notice its watcher thread prints when the session connects
 * ("\nWATCHER::\n" and "\nWatchedEvent ...\n", each println'd): printed concurrently with the
 * command's own output, it can land in the middle of a line ("[n1, " notice "n2]", seen in CI).
 */
export function withoutWatcherNotices(out: string): string {
  return out.replace(/\nWATCHER::\n\nWatchedEvent [^\n]*\n/g, '');
}
