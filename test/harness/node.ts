// Runs the project's TypeScript (fixtures) and the built CLI as real child processes.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forgetProcess, recordProcess } from './state.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The CLI as users run it: the bundle (scripts/bundle.mjs) of the built TypeScript. */
export const CLI = join(ROOT, 'dist/bundle/main.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function collect(argv: string[], env?: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd: ROOT, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The vigil command as users run it (the built bin). */
export function vigil(args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return collect([CLI, ...args], env);
}

/** A child with piped stdio, recorded for test:clean until it exits. */
function spawnRecorded(argv: string[]): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, argv, { cwd: ROOT });
  if (child.pid !== undefined) {
    const registry = recordProcess(child.pid, [process.execPath, ...argv]);
    child.once('exit', () => forgetProcess(child.pid!, registry));
  }
  return child;
}

export function spawnVigil(args: string[]): ChildProcessWithoutNullStreams {
  return spawnRecorded([CLI, ...args]);
}

/** A TypeScript fixture, in its own Node process. */
export function runFixture(file: string, args: string[]): Promise<RunResult> {
  return collect(['--import', 'tsx', join(ROOT, 'test/fixtures', file), ...args]);
}

export function spawnFixture(file: string, args: string[]): ChildProcessWithoutNullStreams {
  return spawnRecorded(['--import', 'tsx', join(ROOT, 'test/fixtures', file), ...args]);
}
