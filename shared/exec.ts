// Running an operator's program: argv only (never a shell string), in its own process
// group, killed at its timeout (SIGTERM to the group, SIGKILL after a grace), its output
// drained and only a bounded tail kept, so a script that hangs or prints megabytes
// costs nothing but its own time.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** After SIGTERM at the timeout, how long before SIGKILL. */
const KILL_GRACE_MS = 1000;

export interface ExecOptions {
  /** Without it the program may run forever (the caller then kills it). */
  timeoutMs?: number;
  /** Bytes of combined stdout/stderr kept (the end of it). */
  tailBytes?: number;
  uid?: number;
  gid?: number;
}

export interface ExecResult {
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  /** The last tailBytes of the output, as text. */
  tail: string;
  /** Total bytes the program wrote. */
  outputBytes: number;
  /** Set when the program could not be started at all. */
  spawnError?: string;
}

export interface RunningExec {
  readonly done: Promise<ExecResult>;
  /** Kill the program's process group now (the result then says timedOut: false, the signal). */
  kill(): void;
}

export function runArgv(argv: readonly string[], o: ExecOptions): RunningExec {
  const tailBytes = o.tailBytes ?? 4096;
  const started = performance.now();
  let tail: Buffer = Buffer.alloc(0);
  let outputBytes = 0;
  let timedOut = false;
  const child = spawn(argv[0]!, argv.slice(1), {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(o.uid !== undefined ? { uid: o.uid } : {}),
    ...(o.gid !== undefined ? { gid: o.gid } : {}),
  });
  const keep = (chunk: Buffer) => {
    outputBytes += chunk.length;
    tail = chunk.length >= tailBytes ? chunk.subarray(chunk.length - tailBytes) : Buffer.concat([tail, chunk]).subarray(-tailBytes);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const signalGroup = (sig: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  let graceTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    signalGroup('SIGTERM');
    graceTimer ??= setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS);
  };
  const timer =
    o.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          stop();
        }, o.timeoutMs);
  const done = new Promise<ExecResult>((resolve) => {
    let exit: { code: number | null; signal: string | null } | undefined;
    let settled = false;
    const finish = (r: { code: number | null; signal: string | null; spawnError?: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      resolve({ ...r, timedOut, durationMs: Math.round(performance.now() - started), tail: tail.toString('utf8'), outputBytes });
    };
    child.once('error', (err) => finish({ code: null, signal: null, spawnError: `cannot run ${argv[0]}: ${err.message}` }));
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      // What the program left behind (its own children, holding the pipes) goes with it.
      signalGroup('SIGKILL');
    });
    // 'close' comes after the pipes are drained, so the tail is complete.
    child.once('close', (code, signal) => finish(exit ?? { code, signal }));
  });
  return { done, kill: stop };
}

/** uid and gid of a local user, from /etc/passwd (Node has no getpwnam). */
export function lookupUser(name: string, passwd = '/etc/passwd'): { uid: number; gid: number } {
  for (const line of readFileSync(passwd, 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new Error(`no user "${name}" in ${passwd}`);
}
