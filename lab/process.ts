// Child processes of the lab: spawned in their own process group, recorded for
// test:clean, stopped with SIGTERM then SIGKILL, always by their own PID.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { forgetProcess, recordProcess } from './state.js';

export interface Child {
  readonly pid: number;
  readonly proc: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
  /** SIGTERM, then SIGKILL after graceMs (10 s by default); resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartOptions extends Omit<SpawnOptions, 'stdio' | 'detached'> {
  /** stdout and stderr go to this file (kept for post-mortems of failed tests). */
  logFile?: string;
  stdio?: SpawnOptions['stdio'];
}

export function startChild(argv: string[], options: StartOptions = {}): Child {
  const { logFile, stdio, ...rest } = options;
  const fd = logFile ? openSync(logFile, 'a') : undefined;
  const proc = spawn(argv[0]!, argv.slice(1), {
    ...rest,
    detached: true,
    stdio: stdio ?? (fd !== undefined ? ['ignore', fd, fd] : ['ignore', 'ignore', 'ignore']),
  });
  if (fd !== undefined) closeSync(fd);
  if (proc.pid === undefined) throw new Error(`cannot start ${argv[0]}`);
  const pid = proc.pid;
  const registry = recordProcess(pid, argv);
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      running = false;
      forgetProcess(pid, registry);
      resolve({ code, signal });
    });
    proc.once('error', () => {
      running = false;
      forgetProcess(pid, registry);
      resolve({ code: null, signal: null });
    });
  });
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (running) proc.kill(signal);
    await exited;
  };
  return {
    pid,
    proc,
    exited,
    isRunning: () => running,
    kill,
    // 10 s before SIGKILL, as docker and systemd give: a vigil service may take about 7 s to stop.
    async stop(graceMs = 10_000) {
      if (!running) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => running && proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
