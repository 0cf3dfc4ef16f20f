// HTTP_GET and SSL_GET: each url in turn on its own connection; a url passes when the
// status is one of status_code (codes and ranges) and, if given, the body's MD5 equals digest and the body
// matches regex (or does not, with regex_no_match). The request is keepalived's: a plain
// GET with Host (virtualhost if set) and Connection: close.
import { createHash } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { ProbeResult } from '../decider.js';
import { HttpResponseReader, type HttpRead } from '../http-response.js';
import type { Endpoint, UrlSpec } from '../plan.js';
import { describeError, endpoint, type Abort, type ProbeDone } from './types.js';

export interface HttpProbeSpec extends Endpoint {
  tls: { verify: boolean; ca: Buffer | undefined; sni: string | undefined } | undefined;
  virtualhost: string | undefined;
  version: '1.0' | '1.1';
  urls: UrlSpec[];
}

export function httpRequest(p: HttpProbeSpec, path: string): string {
  const defaultPort = p.tls ? 443 : 80;
  const host = p.virtualhost ?? (p.port === defaultPort ? p.host : endpoint(p.host, p.port));
  return `GET ${path} HTTP/${p.version}\r\nHost: ${host}\r\nUser-Agent: vigil-health\r\nAccept: */*\r\nConnection: close\r\n\r\n`;
}

/** keepalived's regex is PCRE, whose "$" also matches before a final newline; JavaScript's does not. */
function pcreTest(re: RegExp, text: string): boolean {
  return re.test(text) || (text.endsWith('\n') && re.test(text.slice(0, -1)));
}

/** Whether a complete response passes url's tests, with the words for either answer. */
export function judgeResponse(u: UrlSpec, r: Extract<HttpRead, { kind: 'response' }>, on: string): ProbeResult {
  const head = `HTTP ${r.status} on ${on}`;
  if (!u.statusCodes.some(([lo, hi]) => r.status >= lo && r.status <= hi)) {
    return { ok: false, reason: `${head} (expected ${u.statusCodes.map(([lo, hi]) => (lo === hi ? String(lo) : `${lo}-${hi}`)).join(' or ')})` };
  }
  if (u.digest !== undefined) {
    const got = createHash('md5').update(r.body ?? Buffer.alloc(0)).digest('hex');
    if (got !== u.digest) return { ok: false, reason: `${head}: body MD5 ${got}, expected ${u.digest}` };
  }
  if (u.regex !== undefined) {
    const matched = pcreTest(u.regex, (r.body ?? Buffer.alloc(0)).toString('utf8'));
    if (matched === u.regexNoMatch) return { ok: false, reason: `${head}: body ${matched ? 'matches' : 'does not match'} ${u.regex}` };
  }
  return { ok: true, reason: head };
}

function fetchOne(p: HttpProbeSpec, u: UrlSpec, done: ProbeDone): Abort {
  const where = endpoint(p.host, p.port);
  const on = `GET ${u.path} from ${where}`;
  const opts = { host: p.host, port: p.port, localAddress: p.bindto, localPort: p.bindPort };
  const s = p.tls
    ? tls.connect({ ...opts, rejectUnauthorized: p.tls.verify, ...(p.tls.ca ? { ca: p.tls.ca } : {}), ...(p.tls.sni ? { servername: p.tls.sni } : {}) })
    : net.connect(opts);
  const reader = new HttpResponseReader(u.digest !== undefined || u.regex !== undefined);
  let finished = false;
  const finish = (r: ProbeResult) => {
    if (finished) return;
    finished = true;
    s.destroy();
    done(r);
  };
  const settle = (v: HttpRead) => {
    if (v.kind === 'response') finish(judgeResponse(u, v, on));
    else if (v.kind === 'garbage') finish({ ok: false, reason: `bad HTTP response on ${on}: ${v.reason}` });
  };
  s.write(httpRequest(p, u.path));
  s.on('data', (chunk: Buffer) => settle(reader.push(chunk)));
  s.once('close', () => settle(reader.end()));
  s.once('error', (err) => {
    const tlsProblem = p.tls && (err as NodeJS.ErrnoException).code !== 'ECONNREFUSED' ? 'TLS ' : '';
    finish({ ok: false, reason: `${on} failed: ${tlsProblem}${describeError(err)}` });
  });
  return () => {
    finished = true;
    s.destroy();
  };
}

export function httpProbe(p: HttpProbeSpec, done: ProbeDone): Abort {
  let i = 0;
  let abort: Abort = () => {};
  const next = (r: ProbeResult) => {
    i++;
    if (!r.ok || i === p.urls.length) return done(r);
    abort = fetchOne(p, p.urls[i]!, next);
  };
  abort = fetchOne(p, p.urls[0]!, next);
  return () => abort();
}
