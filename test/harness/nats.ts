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

export async function startNats(): Promise<Nats> {
  const tmp = tempDir('nats');
  let port = -1;
  let child: Child | undefined;
  const launch = async () => {
    child = startChild(
      ['nats-server', '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(tmp.path, 'store'), '--ports_file_dir', tmp.path, '-l', join(tmp.path, 'nats.log')],
      { cwd: tmp.path },
    );
    const pid = child.pid;
    if (port === -1) {
      port = await waitFor('nats-server ports file', () => {
        const f = readdirSync(tmp.path).find((x) => x === `nats-server_${pid}.ports`);
        if (!f) return undefined;
        const info = JSON.parse(readFileSync(join(tmp.path, f), 'utf8')) as { nats?: string[] };
        const url = info.nats?.[0];
        return url ? Number(new URL(url).port) : undefined;
      }, 10_000, 10);
    }
    await waitFor('nats-server to accept clients', async () => ((await tcpOpen(port)) ? true : undefined), 10_000, 10);
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
      return `nats://127.0.0.1:${port}`;
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
