// MISC_CHECK, track scripts and PING_CHECK: a program run from argv (never a shell).
// The scheduler's deadline kills it (the abort); its exit code is read as keepalived does.
import { runArgv } from '../../../shared/exec.js';
import { exitVerdict, type ProbeResult } from '../decider.js';
import type { Abort, ProbeDone } from './types.js';

export interface ExecProbeSpec {
  argv: string[];
  what: string;
  dynamic: boolean;
  uid: number | undefined;
  gid: number | undefined;
  timeoutMs: number;
}

export function execProbe(p: ExecProbeSpec, done: ProbeDone): Abort {
  const run = runArgv(p.argv, { tailBytes: 2048, uid: p.uid, gid: p.gid });
  let over = false;
  void run.done.then((r) => {
    if (over) return;
    over = true;
    if (r.spawnError) return done({ ok: false, reason: `${p.what}: ${r.spawnError}` });
    done(exitVerdict(p.what, { ...r, timeoutMs: p.timeoutMs }, p.dynamic));
  });
  return () => {
    over = true;
    run.kill();
  };
}

/** PING_CHECK through iputils ping (argv, no shell): one echo request, no name lookups. */
export function pingArgv(host: string, bindto: string | undefined, timeoutMs: number): string[] {
  return ['ping', '-n', '-q', '-c', '1', '-W', String(Math.max(1, Math.ceil(timeoutMs / 1000))), ...(bindto ? ['-I', bindto] : []), host];
}

/** iputils ping's exit: 0 a reply, 1 no reply, anything else an error it printed. */
export function pingVerdict(host: string, r: ProbeResult): ProbeResult {
  if (r.ok) return { ok: true, reason: `ICMP echo reply from ${host}` };
  if (/ exited 1(:|$)/.test(r.reason)) return { ok: false, reason: `no ICMP echo reply from ${host}` };
  return { ok: false, reason: r.reason };
}

export function pingProbe(host: string, bindto: string | undefined, timeoutMs: number, done: ProbeDone): Abort {
  const argv = pingArgv(host, bindto, timeoutMs);
  return execProbe({ argv, what: `ping ${host}`, dynamic: false, uid: undefined, gid: undefined, timeoutMs }, (r) => done(pingVerdict(host, r)));
}
