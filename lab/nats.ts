// Real nats-server (Debian's package) with JetStream on a free loopback port.
import { readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startChild, waitFor, type Child } from './process.js';
import { tempDir } from './tmp.js';

export interface Nats {
  /** nats://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly pid: number | undefined;
  isRunning(): boolean;
  /** Stop and start again on the same port and store (an outage). */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  kill(): Promise<void>;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(500, () => done(false));
    s.once('data', (d) => done(d.toString().startsWith('INFO ')));
    s.once('error', () => done(false));
  });
}

export interface NatsOptions {
  /** Run the server inside this namespace, on this address, port 4222 (default: root namespace, loopback, a free port). */
  place?: { ns: string; host: string };
}

export async function startNats(o: NatsOptions = {}): Promise<Nats> {
  const tmp = tempDir('nats');
  const host = o.place?.host ?? '127.0.0.1';
  let port = o.place ? 4222 : -1;
  let child: Child | undefined;
  const launch = async () => {
    child = startChild(
      [...(o.place ? ['ip', 'netns', 'exec', o.place.ns] : []), 'nats-server', '-a', host, '-p', String(port), '-js', '-sd', join(tmp.path, 'store'), '--ports_file_dir', tmp.path, '-l', join(tmp.path, 'nats.log')],
      { cwd: tmp.path },
    );
    const pid = child.pid; // ip netns exec execs nats-server: the same process
    // nats-server writes its ports file once it listens.
    const listening = await waitFor('nats-server ports file', () => {
      const f = readdirSync(tmp.path).find((x) => x === `nats-server_${pid}.ports`);
      if (!f) return undefined;
      const info = JSON.parse(readFileSync(join(tmp.path, f), 'utf8')) as { nats?: string[] };
      const url = info.nats?.[0];
      return url ? Number(new URL(url).port) : undefined;
    }, 10_000, 10);
    if (port === -1) port = listening;
    if (!o.place) await waitFor('nats-server to accept clients', async () => ((await tcpOpen(port)) ? true : undefined), 10_000, 10);
  };
  try {
    await launch();
  } catch (err) {
    await child?.kill();
    tmp.remove();
    throw err;
  }
  return {
    get url() {
      return `nats://${host}:${port}`;
    },
    get port() {
      return port;
    },
    get pid() {
      return child?.isRunning() ? child.pid : undefined;
    },
    isRunning: () => child?.isRunning() ?? false,
    stopServer: async () => {
      await child?.stop();
    },
    startServer: async () => {
      if (!child?.isRunning()) await launch();
    },
    kill: async () => {
      await child?.kill();
    },
    stop: async () => {
      await child?.stop();
      tmp.remove();
    },
  };
}
