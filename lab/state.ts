// What the lab started (for the tests, or for vigil demo in a registry of its own), written
// down so that `npm run test:clean` (or `vigil demo --clean`) can end it after an
// interrupted run: one file per process (pid + kernel start time, so a reused pid is
// never killed) and one folder per temporary directory.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let own: string | undefined;

/** Where this process records what it starts: the tests' registry unless a user of the lab (vigil demo) has its own. */
export function useRegistry(dir: string): void {
  own = dir;
}

/** Read at each call, so that a test of test:clean can use a registry of its own. */
export function stateDir(): string {
  return own ?? (process.env.VIGIL_TEST_STATE || join(tmpdir(), 'vigil-test-state'));
}
const pidsDir = () => join(stateDir(), 'pids');
const dirsDir = () => join(stateDir(), 'dirs');

export interface ProcessRecord {
  pid: number;
  starttime: string;
  argv: string[];
}

export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may contain spaces, so count after its ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Returns the registry folder it was written to (pass it back to forgetProcess). */
export function recordProcess(pid: number, argv: string[]): string {
  const dir = pidsDir();
  mkdirSync(dir, { recursive: true });
  const starttime = processStartTime(pid);
  if (starttime !== undefined) writeFileSync(join(dir, String(pid)), JSON.stringify({ pid, starttime, argv } satisfies ProcessRecord));
  return dir;
}

export function forgetProcess(pid: number, registry = pidsDir()): void {
  rmSync(join(registry, String(pid)), { force: true });
}

export function recordedProcesses(): ProcessRecord[] {
  try {
    return readdirSync(pidsDir()).map((f) => JSON.parse(readFileSync(join(pidsDir(), f), 'utf8')) as ProcessRecord);
  } catch {
    return [];
  }
}

export function recordDir(dir: string): string {
  const registry = dirsDir();
  mkdirSync(registry, { recursive: true });
  writeFileSync(join(registry, Buffer.from(dir).toString('base64url')), dir);
  return registry;
}

export function forgetDir(dir: string, registry = dirsDir()): void {
  rmSync(join(registry, Buffer.from(dir).toString('base64url')), { force: true });
}

export function recordedDirs(): string[] {
  try {
    return readdirSync(dirsDir()).map((f) => readFileSync(join(dirsDir(), f), 'utf8'));
  } catch {
    return [];
  }
}
