// A Docker engine of the test's own: Debian's dockerd with its own data root, exec root,
// socket and pid file (never the machine's default daemon), in the root network namespace
// but with no bridge, no iptables rules and no forwarding of its own: the test's containers
// talk over a macvlan network whose parent is a veth link the test makes (named vg*), so
// no address is added to any interface of the root namespace. Images are built with the
// host's network (`docker build --network host`: npm registry and Debian mirror), and run
// on that internal network only.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { unmountUnder } from '../../lab/disk.js';
import { startChild, waitFor, type Child } from '../../lab/process.js';
import { forgetDir, recordDir } from '../../lab/state.js';

const run = promisify(execFile);

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DockerEngine {
  /** DOCKER_HOST for docker and docker-compose. */
  host: string;
  /** dockerd's PID and its folder (data root, exec root, socket). */
  pid: number;
  dir: string;
  /** Runs Debian's docker client against this engine. */
  docker(args: string[], o?: { allowFail?: boolean; timeoutMs?: number; cwd?: string }): Promise<CommandResult>;
  /** Runs Debian's docker-compose 1.29 against this engine. */
  compose(args: string[], o?: { allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<CommandResult>;
  stop(): Promise<void>;
}

/** Debian's client (the machine's /usr/local/bin/docker may be another version without compose). */
export const DOCKER = '/usr/bin/docker';
export const DOCKER_COMPOSE = '/usr/bin/docker-compose';

async function command(bin: string, args: string[], env: NodeJS.ProcessEnv, o: { allowFail?: boolean; timeoutMs?: number; cwd?: string } = {}): Promise<CommandResult> {
  try {
    const r = await run(bin, args, { env, timeout: o.timeoutMs ?? 120_000, maxBuffer: 64 << 20, ...(o.cwd ? { cwd: o.cwd } : {}) });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    const result = { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
    if (o.allowFail) return result;
    throw new Error(`${bin} ${args.join(' ')} failed (${e.code}): ${result.stderr.trim().slice(-2000)}\n${result.stdout.trim().slice(-3000)}`);
  }
}

export async function startDocker(): Promise<DockerEngine> {
  if (!existsSync('/usr/sbin/dockerd') || !existsSync(DOCKER) || !existsSync(DOCKER_COMPOSE)) {
    throw new Error('Debian\'s docker.io and docker-compose are not installed (npm run setup installs them)');
  }
  // Short paths: containerd's sockets live under the exec root (a socket path has 108 bytes).
  const dir = mkdtempSync('/tmp/vgdk-');
  const registry = recordDir(dir);
  const host = `unix://${join(dir, 'docker.sock')}`;
  const env = { ...process.env, DOCKER_HOST: host, COMPOSE_INTERACTIVE_NO_CLI: '1', DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0' };
  let daemon: Child | undefined;
  const removeDir = () => {
    unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
    forgetDir(dir, registry);
  };
  try {
    daemon = startChild(['/usr/sbin/dockerd', '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '-H', host, '--pidfile', join(dir, 'docker.pid'),
      '--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false', '--userland-proxy=false', '--log-level=warn'], { logFile: join(dir, 'dockerd.log') });
    await waitFor('the test\'s Docker engine to answer', async () => ((await command(DOCKER, ['version', '--format', '{{.Server.Version}}'], env, { allowFail: true })).code === 0 ? true : undefined), 60_000, 200);
  } catch (err) {
    await daemon?.stop(20_000);
    removeDir();
    throw err;
  }
  const engine = daemon;
  return {
    host,
    pid: engine.pid,
    dir,
    docker: (args, o = {}) => command(DOCKER, args, env, o),
    compose: (args, o = {}) => command(DOCKER_COMPOSE, args, { ...env, ...o.env }, o),
    async stop() {
      // dockerd stops the containers it runs when it ends (no live-restore): SIGTERM first.
      await engine.stop(30_000);
      removeDir();
    },
  };
}
