// DNS_CHECK: one query of dns_type for dns_name to the server; up when it answers with
// at least one record of that type and, with expect, every expected value is among them.
import { Resolver } from 'node:dns';
import type { ProbeResult } from '../decider.js';
import type { Endpoint } from '../plan.js';
import { describeError, endpoint, type Abort, type ProbeDone } from './types.js';

export interface DnsProbeSpec extends Endpoint {
  type: string;
  name: string;
  expect: string[] | undefined;
}

const dnsErrors: Record<string, string> = {
  ENODATA: 'no record of that type (NOERROR, empty answer)',
  ENOTFOUND: 'no such name (NXDOMAIN)',
  ESERVFAIL: 'server failure (SERVFAIL)',
  EREFUSED: 'query refused (REFUSED)',
  EBADRESP: 'malformed DNS response',
  ETIMEOUT: 'no answer',
  ECONNREFUSED: 'connection refused',
  EFORMERR: 'server says the query is malformed (FORMERR)',
  ENOTIMP: 'query type not implemented by the server (NOTIMP)',
};

const bare = (s: string) => s.toLowerCase().replace(/\.$/, '');

/** A record as text, the way expect values are written ("10 mail.example.com" for MX). */
export function recordText(r: unknown): string {
  if (typeof r === 'string') return r;
  if (Array.isArray(r)) return r.join('');
  const o = r as Record<string, unknown>;
  if ('exchange' in o) return `${String(o.priority)} ${String(o.exchange)}`;
  if ('nsname' in o) return `${String(o.nsname)} ${String(o.hostmaster)} ${String(o.serial)}`;
  if ('port' in o && 'name' in o) return `${String(o.priority)} ${String(o.weight)} ${String(o.port)} ${String(o.name)}`;
  return JSON.stringify(r);
}

export function judgeAnswer(p: DnsProbeSpec, records: unknown[], on: string): ProbeResult {
  const texts = records.map(recordText);
  if (texts.length === 0) return { ok: false, reason: `${on}: empty answer` };
  const missing = (p.expect ?? []).filter((want) => !texts.some((t) => bare(t) === bare(want)));
  const shown = texts.slice(0, 3).join(', ') + (texts.length > 3 ? ', ...' : '');
  if (missing.length > 0) return { ok: false, reason: `${on}: answer ${shown} lacks ${missing.join(', ')}` };
  return { ok: true, reason: `${on}: ${shown}` };
}

export function dnsProbe(p: DnsProbeSpec, timeoutMs: number, done: ProbeDone): Abort {
  const on = `DNS ${p.type} ${p.name} from ${endpoint(p.host, p.port)}`;
  const r = new Resolver({ timeout: timeoutMs, tries: 1 });
  let over = false;
  try {
    r.setServers([endpoint(p.host, p.port)]);
    if (p.bindto) r.setLocalAddress(p.bindto);
  } catch (err) {
    queueMicrotask(() => done({ ok: false, reason: `${on}: ${describeError(err)}` }));
    return () => {};
  }
  r.resolve(p.name, p.type, (err: NodeJS.ErrnoException | null, records: unknown) => {
    if (over) return;
    over = true;
    if (err) done({ ok: false, reason: `${on}: ${(err.code && dnsErrors[err.code]) ?? describeError(err)}` });
    else done(judgeAnswer(p, Array.isArray(records) ? records : [records], on));
  });
  return () => {
    over = true;
    r.cancel();
  };
}
