// Reading interfaces with iproute2's JSON output (validated: it is an edge like any other).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { z } from 'zod';
import { setChildPriority } from './priority.js';

const run = promisify(execFile);
const IP_TIMEOUT_MS = 5000;

const addrJson = z.array(
  z.object({
    ifname: z.string(),
    addr_info: z.array(z.object({ family: z.string(), local: z.string(), prefixlen: z.number(), label: z.string().optional() })).default([]),
  }),
);

/** `ip -j addr show ARGS`, validated. */
async function addrShow(args: string[], what: string): Promise<z.infer<typeof addrJson>> {
  let stdout: string;
  try {
    ({ stdout } = await run('ip', ['-j', 'addr', 'show', ...args], { timeout: IP_TIMEOUT_MS, maxBuffer: 16 << 20 }));
  } catch (err) {
    throw new Error(`cannot read ${what}: ${commandFailure(err, 'ip', IP_TIMEOUT_MS)}`);
  }
  const parsed = addrJson.safeParse(JSON.parse(stdout));
  if (!parsed.success) throw new Error(`unexpected output of ip -j addr show ${args.join(' ')}`);
  return parsed.data;
}

/** Why a command run with execFile failed, in words: its stderr, else how it ended (a timeout says nothing on stderr). */
export function commandFailure(err: unknown, command: string, timeoutMs: number): string {
  const e = err as { stderr?: string; killed?: boolean; signal?: string | null; code?: number | string; message?: string };
  const stderr = e.stderr?.trim();
  if (stderr) return stderr;
  if (e.killed) return `${command} did not finish within ${timeoutMs} ms`;
  if (e.signal) return `${command} ended by ${e.signal}`;
  return e.message?.trim() || String(err);
}

export interface InterfaceInfo {
  name: string;
  ipv4: { address: string; prefix: number }[];
}

export async function interfaceInfo(ifname: string): Promise<InterfaceInfo> {
  const found = await addrShow(['dev', ifname], `interface ${ifname}`);
  if (found.length !== 1) throw new Error(`unexpected output of ip -j addr show dev ${ifname}`);
  const i = found[0]!;
  return {
    name: i.ifname,
    ipv4: i.addr_info.filter((a) => a.family === 'inet').map((a) => ({ address: a.local, prefix: a.prefixlen })),
  };
}

export interface Ipv4Address {
  ifname: string;
  address: string;
  prefix: number;
  label: string | undefined;
}

/** Every IPv4 address on every interface of this network namespace. */
export async function allIpv4Addresses(): Promise<Ipv4Address[]> {
  return (await addrShow([], 'addresses')).flatMap((i) =>
    i.addr_info.filter((a) => a.family === 'inet').map((a) => ({ ifname: i.ifname, address: a.local, prefix: a.prefixlen, label: a.label !== i.ifname ? a.label : undefined })),
  );
}

/**
 * Runs iproute2 commands (one per line, without the leading "ip") in one process, going on
 * past failures; resolves with the failures, by line index.
 */
export function ipBatch(lines: string[], timeoutMs = 5000): Promise<{ failed: { line: number; message: string }[] }> {
  return new Promise((resolve, reject) => {
    const child = execFile('ip', ['-force', '-batch', '-'], { timeout: timeoutMs }, (err, _stdout, stderr) => {
      const failed: { line: number; message: string }[] = [];
      let pending: string[] = [];
      for (const l of stderr.split('\n').filter(Boolean)) {
        const m = /^Command failed -:(\d+)/.exec(l);
        if (m) {
          failed.push({ line: Number(m[1]) - 1, message: pending.join('; ') || 'failed' });
          pending = [];
        } else {
          pending.push(l.trim());
        }
      }
      if (err && failed.length === 0) reject(new Error(`ip -batch failed: ${stderr.trim() || err.message}`));
      else resolve({ failed });
    });
    child.stdin?.end(lines.join('\n') + '\n');
  });
}

/**
 * Whether ip's complaint about deleting an address says it was not there: strerror of
 * EADDRNOTAVAIL from older kernels, the kernel's own words (extack) from newer ones.
 */
export function addressWasAbsent(message: string): boolean {
  return /Cannot assign requested address|Address not found/.test(message);
}

/** A running `ip monitor`. */
export interface IpMonitor {
  close(): void;
}

/** argv run so that the kernel ends it with this process, even a SIGKILLed one (setpriv, util-linux). */
const endingWithUs = (argv: string[]) => ['setpriv', '--pdeathsig', 'KILL', '--', ...argv];

const HELPER_NICE = -10;

/**
 * Runs a helper ahead of ordinary processes (nice -10) where we may (root with
 * CAP_SYS_NICE): the link monitor, ip's address changes, the dead man's switch. On a busy machine a helper at
 * ordinary priority waits tens of ms for a CPU, and its times with it. Without the
 * privilege it keeps its ordinary priority.
 */
export function hurry(child: ChildProcess): void {
  setChildPriority(child.pid, HELPER_NICE);
}

/** Calls onLine with each whole line of a stream (a line split across chunks is joined). */
export function onLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      onLine(line);
    }
  });
}

/** ip -batch's complaints on stderr, in its own words (without its "Command failed -:N" markers). */
export function ipComplaints(stderr: NodeJS.ReadableStream, onError: (message: string) => void): void {
  onLines(stderr, (l) => {
    if (l.trim() !== '' && !/^Command failed -:\d+/.test(l)) onError(l.trim());
  });
}

/**
 * Calls onLine with each line `ip monitor` prints about one kind of object in this
 * namespace (netlink: nothing runs while nothing changes); restarts the monitor if it
 * dies, and says so.
 */
export function ipMonitor(object: 'address' | 'link', onLine: (line: string) => void, onTrouble: (message: string) => void): Promise<IpMonitor> {
  let closed = false;
  let child: ChildProcess | undefined;
  let restart: NodeJS.Timeout | undefined;
  const start = (): Promise<void> =>
    new Promise((ready) => {
      const [bin, ...args] = endingWithUs(['ip', '-ts', '-o', 'monitor', object]);
      const c = spawn(bin!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      hurry(c);
      child = c;
      onLines(c.stdout!, onLine);
      c.on('spawn', () => ready());
      c.on('error', (err) => {
        onTrouble(`ip monitor ${object}: ${err.message}`);
        ready();
      });
      c.on('exit', (code, signal) => {
        if (closed) return;
        onTrouble(`ip monitor ${object} ended (${signal ?? `exit ${code}`}); restarting it`);
        restart = setTimeout(() => void start(), 200);
      });
    });
  return start().then(() => ({
    close() {
      closed = true;
      clearTimeout(restart);
      child?.kill();
    },
  }));
}
