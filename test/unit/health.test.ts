import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/index.js';
import { exitVerdict, initialCheckState, onResult, type CheckRules, type CheckState, type ProbeResult } from '../../services/health/decider.js';
import { TimeHeap } from '../../services/health/heap.js';
import { HttpResponseReader, MAX_HEAD_BYTES, type HttpRead } from '../../services/health/http-response.js';
import { LateHistogram } from '../../services/health/lateness.js';
import { planChecks, statusRanges, type UrlSpec } from '../../services/health/plan.js';
import { judgeAnswer, recordText } from '../../services/health/probes/dns.js';
import { pingArgv, pingVerdict } from '../../services/health/probes/exec.js';
import { httpRequest, judgeResponse } from '../../services/health/probes/http.js';

const rules = (o: Partial<CheckRules> = {}): CheckRules => ({ rise: 1, fall: 1, retries: 0, retryDelayMs: 100, intervalMs: 1000, ...o });
const good: ProbeResult = { ok: true, reason: 'HTTP 200 on GET / from 10.0.0.29:80' };
const bad: ProbeResult = { ok: false, reason: 'HTTP 503 on GET /status from 10.0.0.29:80 (expected 200)' };

function feed(r: CheckRules, s: CheckState, results: ProbeResult[]) {
  const verdicts = [];
  for (const x of results) {
    const v = onResult(r, s, x);
    verdicts.push(v);
    s = v.state;
  }
  return { state: s, verdicts, changes: verdicts.filter((v) => v.change).map((v) => v.change!) };
}

describe('health decider', () => {
  it('retries a failing up check retry times, delay_before_retry apart, then goes down naming the retries', () => {
    const { verdicts, changes } = feed(rules({ retries: 3 }), initialCheckState('up'), [bad, bad, bad, bad]);
    expect(verdicts.map((v) => v.nextInMs)).toEqual([100, 100, 100, 1000]);
    expect(changes).toEqual([{ from: 'up', to: 'down', reason: 'HTTP 503 on GET /status from 10.0.0.29:80 (expected 200) after 3 retries' }]);
  });

  it('a success between retries clears them', () => {
    const { state, changes } = feed(rules({ retries: 1 }), initialCheckState('up'), [bad, good, bad, good]);
    expect(changes).toEqual([]);
    expect(state).toEqual({ health: 'up', streak: 0, retried: 0, weight: undefined });
  });

  it('a down check is not retried (keepalived): one try per delay_loop', () => {
    const { verdicts } = feed(rules({ retries: 3 }), initialCheckState('down'), [bad, bad]);
    expect(verdicts.map((v) => v.nextInMs)).toEqual([1000, 1000]);
  });

  it('fall counts consecutive failed results, rise consecutive good ones; a result the other way resets the count', () => {
    const r = rules({ rise: 3, fall: 2 });
    expect(feed(r, initialCheckState('up'), [bad, good, bad, good]).changes).toEqual([]);
    const down = feed(r, initialCheckState('up'), [bad, bad]);
    expect(down.changes).toEqual([{ from: 'up', to: 'down', reason: `${bad.reason} (2 failures in a row)` }]);
    expect(feed(r, down.state, [good, good, bad, good, good]).changes).toEqual([]);
    expect(feed(r, down.state, [good, good, good]).changes).toEqual([{ from: 'down', to: 'up', reason: `${good.reason} (3 successes in a row)` }]);
  });

  it('a flapping target never changes state under rise 2 / fall 2', () => {
    const flaps = Array.from({ length: 50 }, (_, i) => (i % 2 ? good : bad));
    expect(feed(rules({ rise: 2, fall: 2, retries: 1 }), initialCheckState('up'), flaps).changes).toEqual([]);
  });

  it('misc_dynamic weights: a new weight while up is a change; exit 0 keeps the weight', () => {
    const dyn = (w: number): ProbeResult => ({ ok: true, reason: 'MISC_CHECK /x exited', weight: w });
    const { changes, state } = feed(rules(), initialCheckState('up'), [dyn(5), dyn(5), good, dyn(7)]);
    expect(changes.map((c) => [c.from, c.to, c.weight])).toEqual([['up', 'up', 5], ['up', 'up', 7]]);
    expect(state.weight).toBe(7);
    const back = feed(rules(), { ...state, health: 'down' }, [good]);
    expect(back.changes).toEqual([{ from: 'down', to: 'up', reason: good.reason, weight: 7 }]);
  });

  it('reads exits as keepalived does', () => {
    const exit = (code: number | null, o: Partial<{ signal: string; timedOut: boolean; tail: string }> = {}) => ({ code, signal: null, timedOut: false, tail: '', timeoutMs: 2000, ...o });
    expect(exitVerdict('chk', exit(0), false)).toEqual({ ok: true, reason: 'chk exited 0' });
    expect(exitVerdict('chk', exit(1, { tail: 'a\nconnection refused\n' }), false)).toEqual({ ok: false, reason: 'chk exited 1: connection refused' });
    expect(exitVerdict('chk', exit(7), false)).toEqual({ ok: false, reason: 'chk exited 7' });
    expect(exitVerdict('chk', exit(7), true)).toEqual({ ok: true, reason: 'chk exited 7', weight: 5 });
    expect(exitVerdict('chk', exit(1), true).ok).toBe(false);
    expect(exitVerdict('chk', exit(null, { signal: 'SIGSEGV' }), false)).toEqual({ ok: false, reason: 'chk was killed by SIGSEGV' });
    expect(exitVerdict('chk', exit(null, { timedOut: true }), false)).toEqual({ ok: false, reason: 'chk did not finish within 2 s (killed)' });
  });
});

function readAll(bytes: string | Buffer, needBody: boolean, pieces = 1): HttpRead {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1');
  const r = new HttpResponseReader(needBody, 64);
  const step = Math.max(1, Math.ceil(b.length / pieces));
  for (let i = 0; i < b.length; i += step) {
    const v = r.push(b.subarray(i, i + step));
    if (v.kind !== 'more') return v;
  }
  return r.end();
}

describe('HTTP response reader', () => {
  it('needs only the status line and headers when no body test is asked', () => {
    const r = new HttpResponseReader(false);
    expect(r.push(Buffer.from('HTTP/1.1 503 Service Unavail'))).toEqual({ kind: 'more' });
    expect(r.push(Buffer.from('able\r\nServer: x\r\n\r\npartial body'))).toEqual({ kind: 'response', status: 503, body: undefined });
  });

  it('frames bodies by Content-Length, chunked encoding, or the end of the connection, in any split', () => {
    for (const pieces of [1, 3, 17, 200]) {
      expect(readAll('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA', true, pieces)).toEqual({ kind: 'response', status: 200, body: Buffer.from('hello') });
      expect(readAll('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n', true, pieces)).toEqual({ kind: 'response', status: 200, body: Buffer.from('hello') });
      expect(readAll('HTTP/1.0 200 OK\r\n\r\nhello', true, pieces)).toEqual({ kind: 'response', status: 200, body: Buffer.from('hello') });
    }
    expect(readAll('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n', true)).toEqual({ kind: 'response', status: 204, body: Buffer.alloc(0) });
  });

  it('names what is wrong with garbage', () => {
    expect(readAll('SSH-2.0-OpenSSH\r\n', false)).toEqual({ kind: 'garbage', reason: 'not an HTTP response (starts with "SSH-2.0-OpenSSH\\r\\n")' });
    expect(readAll('', false)).toEqual({ kind: 'garbage', reason: 'connection closed without a response' });
    expect(readAll('HTTP/1.1 200 OK\r\nContent-', false)).toMatchObject({ kind: 'garbage', reason: expect.stringContaining('closed inside the response header') });
    expect(readAll('HTTP/1.1 OK\r\n\r\n', false)).toEqual({ kind: 'garbage', reason: 'bad status line "HTTP/1.1 OK"' });
    expect(readAll('HTTP/1.1 200 OK\r\nno colon\r\n\r\n', false)).toEqual({ kind: 'garbage', reason: 'bad header line "no colon"' });
    expect(readAll('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', true)).toEqual({ kind: 'garbage', reason: 'bad Content-Length "-1"' });
    expect(readAll('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort', true)).toEqual({ kind: 'garbage', reason: 'connection closed before the end of the body (5 bytes read)' });
    expect(readAll('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', true)).toEqual({ kind: 'garbage', reason: 'bad chunk size "zz"' });
    expect(readAll(`HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n${'x'.repeat(100)}`, true)).toEqual({ kind: 'garbage', reason: 'body larger than 64 bytes' });
    expect(readAll(`HTTP/1.1 200 OK\r\nX: ${'y'.repeat(MAX_HEAD_BYTES)}`, false)).toEqual({ kind: 'garbage', reason: `response header larger than ${MAX_HEAD_BYTES} bytes` });
  });

  it('never throws and always ends in a verdict, whatever the bytes', () => {
    const prefix = fc.constantFrom('', 'HTTP/1.1 200 OK\r\n', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n');
    fc.assert(
      fc.property(prefix, fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 7 }), fc.boolean(), (p, tail, pieces, needBody) => {
        const v = readAll(Buffer.concat([Buffer.from(p, 'latin1'), Buffer.from(tail)]), needBody, pieces);
        expect(['response', 'garbage']).toContain(v.kind);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('HTTP judging and requests', () => {
  const url = (o: Partial<UrlSpec> = {}): UrlSpec => ({ path: '/s', statusCodes: [[200, 299]], digest: undefined, regex: undefined, regexNoMatch: false, ...o });
  const resp = (status: number, body = '') => ({ kind: 'response' as const, status, body: Buffer.from(body) });
  it('status, digest and regex, with reasons', () => {
    const on = 'GET /s from 10.0.0.29:80';
    expect(judgeResponse(url(), resp(200), on)).toEqual({ ok: true, reason: 'HTTP 200 on GET /s from 10.0.0.29:80' });
    expect(judgeResponse(url({ statusCodes: [[200, 200], [301, 301]] }), resp(404), on).reason).toBe('HTTP 404 on GET /s from 10.0.0.29:80 (expected 200 or 301)');
    expect(judgeResponse(url(), resp(204), on).ok, 'any 2xx by default, as keepalived').toBe(true);
    expect(judgeResponse(url(), resp(301), on).reason).toBe('HTTP 301 on GET /s from 10.0.0.29:80 (expected 200-299)');
    const ranges = url({ statusCodes: statusRanges(['200-299', '400-499', 503]) });
    expect([200, 299, 404, 503].map((c) => judgeResponse(ranges, resp(c), on).ok)).toEqual([true, true, true, true]);
    expect(judgeResponse(ranges, resp(502), on).reason).toBe('HTTP 502 on GET /s from 10.0.0.29:80 (expected 200-299 or 400-499 or 503)');
    const md5 = createHash('md5').update('ok').digest('hex');
    expect(judgeResponse(url({ digest: md5 }), resp(200, 'ok'), on).ok).toBe(true);
    expect(judgeResponse(url({ digest: md5 }), resp(200, 'no'), on).reason).toMatch(/body MD5 [0-9a-f]{32}, expected/);
    expect(judgeResponse(url({ regex: /ready$/ }), resp(200, 'ready\n'), on).ok).toBe(true); // PCRE's "$" before a final newline
    expect(judgeResponse(url({ regex: /ready/, regexNoMatch: true }), resp(200, 'ready'), on).reason).toBe('HTTP 200 on GET /s from 10.0.0.29:80: body matches /ready/');
  });

  it('sends keepalived-shaped requests', () => {
    const p = { host: '10.0.0.29', port: 8080, bindto: undefined, bindPort: undefined, tls: undefined, virtualhost: undefined, version: '1.0' as const, urls: [] };
    expect(httpRequest(p, '/x')).toBe('GET /x HTTP/1.0\r\nHost: 10.0.0.29:8080\r\nUser-Agent: vigil-health\r\nAccept: */*\r\nConnection: close\r\n\r\n');
    expect(httpRequest({ ...p, port: 80, virtualhost: 'www.example.com', version: '1.1' }, '/')).toContain('GET / HTTP/1.1\r\nHost: www.example.com\r\n');
  });
});

describe('DNS answers', () => {
  const p = { host: '10.0.0.53', port: 53, bindto: undefined, bindPort: undefined, type: 'MX', name: 'example.com', expect: ['10 mx1.example.com.'] };
  it('renders records as expect values are written, and compares without case or final dot', () => {
    expect(recordText({ priority: 10, exchange: 'MX1.example.com' })).toBe('10 MX1.example.com');
    expect(recordText(['v=spf1', ' -all'])).toBe('v=spf1 -all');
    expect(recordText({ nsname: 'ns1.x', hostmaster: 'h.x', serial: 7 })).toBe('ns1.x h.x 7');
    expect(judgeAnswer(p, [{ priority: 10, exchange: 'MX1.example.com' }], 'q').ok).toBe(true);
    expect(judgeAnswer(p, [{ priority: 20, exchange: 'mx2.example.com' }], 'q')).toEqual({ ok: false, reason: 'q: answer 20 mx2.example.com lacks 10 mx1.example.com.' });
    expect(judgeAnswer({ ...p, expect: undefined }, [], 'q')).toEqual({ ok: false, reason: 'q: empty answer' });
  });
});

describe('health plan', () => {
  const head = 'cluster: t\nnodes: { n1: {} }\nzookeeper: { hosts: [127.0.0.1:2181] }\n';
  it('resolves ports, addresses, delay_loop, alpha and timeouts the way keepalived inherits them', () => {
    const { config } = parseConfig(
      `${head}virtual_servers:
  web:
    ip: 10.0.0.31
    port: 80
    delay_loop: 3
    alpha: true
    virtualhost: www.example.com
    real_servers:
      - ip: 10.0.0.29
        checks:
          - { type: HTTP_GET, url: [{ path: /a }, { path: /b, status_code: [200, 204] }], connect_timeout: 2 }
          - { type: TCP_CHECK, connect_port: 8080, delay_loop: 1, alpha: false, warmup: 10 }
          - { type: DNS_CHECK }
          - { type: MISC_CHECK, misc_path: [/bin/true] }
          - { type: PING_CHECK }
`,
      'c.yaml',
    );
    const [http, tcp, dns, misc, ping] = planChecks(config, 'n1');
    expect(http).toMatchObject({ key: 'rs:web/10.0.0.29:80 HTTP_GET#0', subject: 'rs:web/10.0.0.29:80', target: '10.0.0.29:80', initial: 'down', timeoutMs: 4000, firstWithinMs: 3000 });
    expect(http!.probe).toMatchObject({ kind: 'http', host: '10.0.0.29', port: 80, virtualhost: 'www.example.com', version: '1.1' });
    expect(http!.rules).toEqual({ rise: 1, fall: 1, retries: 1, retryDelayMs: 1000, intervalMs: 3000 });
    expect(tcp).toMatchObject({ initial: 'up', firstWithinMs: 10_000, probe: { kind: 'tcp', port: 8080 }, rules: { intervalMs: 1000 } });
    expect(dns!.probe).toMatchObject({ kind: 'dns', port: 53, type: 'SOA', name: '.' });
    expect(misc).toMatchObject({ timeoutMs: 3000, probe: { kind: 'exec', argv: ['/bin/true'] } });
    expect(ping!.probe).toEqual({ kind: 'ping', host: '10.0.0.29', bindto: undefined });
    expect(pingVerdict('10.0.0.29', { ok: false, reason: 'ping 10.0.0.29 exited 1' })).toEqual({ ok: false, reason: 'no ICMP echo reply from 10.0.0.29' });
    expect(pingVerdict('10.0.0.29', { ok: false, reason: 'ping 10.0.0.29 exited 2: ping: connect: Network is unreachable' }).reason).toBe('ping 10.0.0.29 exited 2: ping: connect: Network is unreachable');
    expect(pingArgv('10.0.0.29', '10.0.0.1', 1500)).toEqual(['ping', '-n', '-q', '-c', '1', '-W', '2', '-I', '10.0.0.1', '10.0.0.29']);
  });

  it('runs only the track scripts this node uses, with keepalived defaults (timeout = interval)', () => {
    const { config } = parseConfig(
      `${head}track_scripts:
  used: { script: [/bin/true], interval: 2, init_fail: true }
  unused: { script: [/bin/true] }
vrrp_instances:
  VI_1: { interface: eth0, virtual_router_id: 1, track_script: [used] }
`,
      'c.yaml',
    );
    expect(planChecks(config, 'n1')).toMatchObject([{ key: 'track:used script', role: 'track_script', timeoutMs: 2000, initial: 'down', firstWithinMs: 0 }]);
  });
});

describe('scheduler pieces', () => {
  it('the time heap pops in time order, only what is due', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 })), (times) => {
        const h = new TimeHeap<number>();
        times.forEach((t, i) => h.push(t, i));
        expect(h.popDue(-1)).toBeUndefined();
        const out: number[] = [];
        for (let x = h.popDue(1000); x !== undefined; x = h.popDue(1000)) out.push(times[x]!);
        expect(out).toEqual([...times].sort((a, b) => a - b));
        expect(h.size).toBe(0);
      }),
    );
  });

  it('the lateness histogram gives whole-ms quantiles', () => {
    const h = new LateHistogram();
    expect(h.quantile(0.99)).toBe(0);
    for (let i = 0; i < 99; i++) h.add(1.7);
    h.add(250);
    h.add(-3); // early (timer granularity) counts as on time
    expect([h.quantile(0.5), h.quantile(0.99), h.quantile(1), h.max(), h.count]).toEqual([1, 1, 250, 250, 101]);
  });
});
