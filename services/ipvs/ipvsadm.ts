// The kernel's IPVS table through ipvsadm: read it whole (-Sn), change it in one batch
// (-R, restore lines on stdin). ipvsadm -R goes on after a line it cannot apply and still
// exits 0, printing the error: any output on stderr counts as a failed batch.
import { execFile } from 'node:child_process';
import { parseTable, type Table } from './table.js';

const TIMEOUT_MS = 30_000;
/** ipvsadm -Sn of a table of 100,000 real servers is about 5 MB. */
const MAX_OUTPUT = 256 * 1024 * 1024;

export class IpvsadmError extends Error {}

function ipvsadm(bin: string, args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = execFile(bin, args, { timeout: TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT }, (err, stdout, stderr) => {
      // A string code: ipvsadm did not run (ENOENT, EACCES) or said too much; a number: its exit status.
      if (typeof err?.code === 'string') reject(new IpvsadmError(`cannot run ${bin}: ${err.message}`));
      else resolve({ stdout, stderr, code: err ? (err.code ?? null) : 0 });
    });
    child.stdin?.on('error', () => {}); // a failed start is reported above
    child.stdin?.end(input ?? '');
  });
}

export class Ipvsadm {
  /** ipvsadm processes started (a reconcile should cost one). */
  invocations = 0;

  constructor(private readonly bin = 'ipvsadm') {}

  async read(): Promise<Table> {
    this.invocations++;
    const r = await ipvsadm(this.bin, ['-Sn']);
    if (r.code !== 0) throw new IpvsadmError(`ipvsadm -Sn failed (exit ${r.code}): ${r.stderr.trim() || 'no message'}`);
    return parseTable(r.stdout);
  }

  /** Applies restore lines in one ipvsadm -R; resolves with ipvsadm's complaints (empty: every line applied). */
  async restore(lines: readonly string[]): Promise<string> {
    this.invocations++;
    const r = await ipvsadm(this.bin, ['-R'], lines.join('\n') + '\n');
    return r.code === 0 ? r.stderr.trim() : `exit ${r.code}: ${r.stderr.trim() || 'no message'}`;
  }
}
