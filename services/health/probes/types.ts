import type { ProbeResult } from '../decider.js';

/** Called once with the probe's result (later calls are ignored by the scheduler). */
export type ProbeDone = (r: ProbeResult) => void;
/** Stops a probe and frees what it holds; the scheduler then reports the timeout itself. */
export type Abort = () => void;

const words: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'cannot bind the source address (bindto)',
  EADDRINUSE: 'source port in use (bind_port)',
  EPIPE: 'connection closed while sending',
  EMFILE: 'out of file descriptors on this node',
};

/** A socket error as a person reads it: "connection refused (ECONNREFUSED)". */
export function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && words[code]) return `${words[code]} (${code})`;
  const msg = e instanceof Error ? e.message : String(err);
  return code && !msg.includes(code) ? `${msg} (${code})` : msg;
}

export const endpoint = (host: string, port: number) => `${host}:${port}`;
