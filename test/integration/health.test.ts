// The health service against real servers on loopback: HTTP, HTTPS, TCP, a DNS
// responder and scripts, with a real event log. Checks run every 50-100 ms here.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/index.js';
import { EventLog, type StoredEvent } from '../../shared/eventlog/index.js';
import { createLogger } from '../../shared/logger.js';
import { HealthService } from '../../services/health/shell.js';
import { startDnsResponder, type DnsResponder } from '../harness/dns.js';
import { readEvents } from '../harness/log.js';
import { CLI, spawnVigil, vigil } from '../harness/node.js';
import { niceOf } from '../harness/nice.js';
import { freePort } from '../harness/ports.js';
import { startChild, waitFor } from '../harness/process.js';
import { teardown } from '../harness/teardown.js';
import type { TempDir } from '../harness/tmp.js';
import { startWebServer, TLS_CERT, type WebServer } from '../harness/web.js';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import net from 'node:net';

interface Running {
  svc: HealthService;
  log: EventLog;
  changes(target?: string): { target: string; check: string; from: string; to: string; reason: string; weight?: number }[];
  tracks(name?: string): { name: string; from: string; to: string; reason: string }[];
}

const cleanups = teardown();

const dir = (): TempDir => cleanups.tempDir('health');

async function web(o: { tls?: boolean } = {}): Promise<WebServer> {
  const w = await startWebServer(o);
  cleanups.push(() => w.close());
  return w;
}

async function dns(): Promise<DnsResponder> {
  const d = await startDnsResponder();
  cleanups.push(() => d.close());
  return d;
}

function script(d: TempDir, name: string, body: string): string {
  const p = join(d.path, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

const yamlHead = `cluster: test
nodes: { n1: {} }
zookeeper: { hosts: [127.0.0.1:2181] }
`;

function start(d: TempDir, yamlBody: string, o: { summaryMs?: number; maxInFlight?: number; busyTimeoutMs?: number; logLines?: string[] } = {}): Running {
  const file = join(d.path, 'vigil.yaml');
  const { config } = parseConfig(yamlHead + yamlBody, file);
  const log = EventLog.open({ path: join(d.path, 'events.db'), node: 'n1', ...(o.busyTimeoutMs ? { busyTimeoutMs: o.busyTimeoutMs } : {}) });
  const lines = o.logLines;
  const logger = createLogger({ service: 'health' }, lines ? { level: 'warn', write: (l) => void lines.push(l) } : { level: 'error' });
  const svc = new HealthService({ config, node: 'n1', log, logger, ...(o.summaryMs ? { summaryMs: o.summaryMs } : {}), ...(o.maxInFlight ? { maxInFlight: o.maxInFlight } : {}) });
  svc.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await svc.stop();
    log.close();
  };
  cleanups.push(stop);
  const data = (types: string[]) => log.query({ types }).map((e: StoredEvent) => e.data as Record<string, unknown>);
  return {
    svc,
    log,
    changes: (target) => data(['health.changed']).filter((c) => target === undefined || c.target === target) as ReturnType<Running['changes']>,
    tracks: (name) => data(['track.changed']).filter((c) => name === undefined || c.name === name) as ReturnType<Running['tracks']>,
  };
}

/** One virtual server with one real server per check (each on its own port or address). */
function virtualServer(rs: { ip?: string; port: number; check: string }[], extra = ''): string {
  return `virtual_servers:
  web:
    ip: 10.0.0.31
    port: 80
    delay_loop: 0.05
${extra}    real_servers:
${rs.map((r) => `      - ip: ${r.ip ?? '127.0.0.1'}\n        port: ${r.port}\n        checks:\n          - ${r.check}\n`).join('')}`;
}

const lastTo = (r: Running, target: string) => r.changes(target).at(-1)?.to;
const until = (what: string, f: () => boolean, ms = 10_000) => waitFor(what, () => (f() ? true : undefined), ms, 20);

describe('health: HTTP_GET and SSL_GET', () => {
  it('goes down with an actionable reason after its retries, and up again', async () => {
    const d = dir();
    const w = await web();
    w.paths.set('/status', { status: 200, body: 'ok' });
    const r = start(d, virtualServer([{ port: w.port, check: `{ type: HTTP_GET, url: [{ path: /status }], virtualhost: www.example.test, retry: 2, delay_before_retry: 0.02, connect_timeout: 1 }` }]));
    const target = `127.0.0.1:${w.port}`;
    await until('a few probes', () => w.requests.length >= 3);
    expect(r.changes()).toEqual([{ target, check: 'HTTP_GET#0', from: 'unknown', to: 'up', reason: 'not checked yet; assumed up until checks fail' }]);
    expect(w.requests[0]).toEqual({ path: '/status', host: 'www.example.test', version: '1.1' });

    w.paths.set('/status', { status: 503, body: 'maintenance' });
    await until('down', () => lastTo(r, target) === 'down');
    expect(r.changes(target).at(-1)).toEqual({ target, check: 'HTTP_GET#0', from: 'up', to: 'down', reason: `HTTP 503 on GET /status from ${target} (expected 200-299) after 2 retries` });

    w.paths.set('/status', { status: 200, body: 'ok' });
    await until('up again', () => lastTo(r, target) === 'up' && r.changes(target).length === 3);
    expect(r.changes(target).at(-1)!.reason).toBe(`HTTP 200 on GET /status from ${target}`);
  });

  it('counts rise and fall: fall-1 failures change nothing, fall failures do, and rise successes bring it back', async () => {
    const d = dir();
    const w = await web();
    let failuresLeft = 0;
    // The server counts down its failures itself, so the counts do not depend on timing.
    w.paths.set('/s', () => (failuresLeft > 0 ? (failuresLeft--, { status: 500, body: '' }) : { status: 200, body: 'ok' }));
    const r = start(d, virtualServer([{ port: w.port, check: `{ type: HTTP_GET, url: [{ path: /s }], retry: 0, rise: 3, fall: 3 }` }]));
    const target = `127.0.0.1:${w.port}`;
    const setFailures = (n: number) => {
      failuresLeft = n;
    };
    setFailures(2);
    await until('the two failures to be served', () => failuresLeft === 0);
    const seenAt = w.requests.length;
    await until('five more probes', () => w.requests.length >= seenAt + 5);
    expect(r.changes(target).map((c) => c.to)).toEqual(['up']);

    setFailures(3);
    await until('down after three failures', () => lastTo(r, target) === 'down');
    expect(r.changes(target).at(-1)!.reason).toBe(`HTTP 500 on GET /s from ${target} (expected 200-299) (3 failures in a row)`);
    await until('up after three successes', () => lastTo(r, target) === 'up' && r.changes(target).length === 3);
    expect(r.changes(target).at(-1)!.reason).toBe(`HTTP 200 on GET /s from ${target} (3 successes in a row)`);
  });

  it('a flapping target: alternating answers never reach rise 2 / fall 2, but flip a rise 1 / fall 1 check every time', async () => {
    const d = dir();
    const a = await web();
    const b = await web();
    for (const w of [a, b]) {
      let n = 0;
      w.paths.set('/f', () => ({ status: n++ % 2 === 0 ? 200 : 503, body: '' }));
    }
    const r = start(d, virtualServer([
      { port: a.port, check: `{ type: HTTP_GET, url: [{ path: /f }], retry: 0, rise: 2, fall: 2 }` },
      { port: b.port, check: `{ type: HTTP_GET, url: [{ path: /f }], retry: 0 }` },
    ]));
    await until('twenty probes of each', () => a.requests.length >= 20 && b.requests.length >= 20);
    expect(r.changes(`127.0.0.1:${a.port}`).length).toBe(1); // the initial one only
    expect(r.changes(`127.0.0.1:${b.port}`).length).toBeGreaterThan(4);
  });

  it('digest, regex, regex_no_match, chunked bodies, HTTP/1.0, and several urls', async () => {
    const d = dir();
    const w = await web();
    const body = 'status: healthy\n';
    const md5 = createHash('md5').update(body).digest('hex');
    w.paths.set('/a', { status: 200, body, chunked: true });
    w.paths.set('/b', { status: 200, body: 'status: degraded\n' });
    const port = w.port;
    const r = start(d, virtualServer([
      { ip: '127.0.0.1', port, check: `{ type: HTTP_GET, url: [{ path: /a, digest: ${md5} }], http_protocol: '1.0' }` },
      { ip: '127.0.0.2', port, check: `{ type: HTTP_GET, connect_ip: 127.0.0.1, url: [{ path: /b, digest: ${md5} }], retry: 0 }` },
      { ip: '127.0.0.3', port, check: `{ type: HTTP_GET, connect_ip: 127.0.0.1, url: [{ path: /a, regex: "healthy$", status_code: [200, 204] }], retry: 0 }` },
      { ip: '127.0.0.4', port, check: `{ type: HTTP_GET, connect_ip: 127.0.0.1, url: [{ path: /b, regex: degraded, regex_no_match: true }], retry: 0 }` },
      { ip: '127.0.0.5', port, check: `{ type: HTTP_GET, connect_ip: 127.0.0.1, url: [{ path: /a }, { path: /missing }], retry: 0 }` },
    ]));
    const t = (n: number) => `127.0.0.${n}:${port}`;
    await until('the failing ones down', () => [2, 4, 5].every((n) => lastTo(r, t(n)) === 'down'));
    await until('more probes', () => w.requests.length > 40);
    expect([1, 3].map((n) => r.changes(t(n)).map((c) => c.to))).toEqual([['up'], ['up']]);
    expect(r.changes(t(2)).at(-1)!.reason).toMatch(new RegExp(`^HTTP 200 on GET /b from 127.0.0.1:${port}: body MD5 [0-9a-f]{32}, expected ${md5}$`));
    expect(r.changes(t(4)).at(-1)!.reason).toBe(`HTTP 200 on GET /b from 127.0.0.1:${port}: body matches /degraded/`);
    expect(r.changes(t(5)).at(-1)!.reason).toBe(`HTTP 404 on GET /missing from 127.0.0.1:${port} (expected 200-299)`);
    expect(w.requests.some((q) => q.version === '1.0' && q.path === '/a')).toBe(true);
  });

  it('garbage, a silent server, refused connections: each down with its own reason; a fast target is not held up by slow ones', async () => {
    const d = dir();
    const w = await web();
    w.paths.set('/ok', { status: 200, body: 'ok' });
    w.paths.set('/ssh', { status: 200, body: '', garbage: 'SSH-2.0-OpenSSH_9.2p1\r\n' });
    w.paths.set('/hang', { status: 200, body: '', hang: true });
    w.paths.set('/slow', { status: 200, body: 'ok', delayMs: 300 });
    const closed = await freePort();
    const slow = Array.from({ length: 20 }, (_, i) => ({ ip: `127.0.1.${i + 1}`, port: w.port, check: `{ type: HTTP_GET, connect_ip: 127.0.0.1, url: [{ path: /hang }], connect_timeout: 1, retry: 0 }` }));
    const r = start(d, virtualServer([
      { ip: '127.0.0.1', port: w.port, check: `{ type: HTTP_GET, url: [{ path: /ok }], retry: 0 }` },
      { ip: '127.0.0.2', port: w.port, check: `{ type: HTTP_GET, connect_ip: 127.0.0.1, url: [{ path: /ssh }], retry: 0 }` },
      { ip: '127.0.0.1', port: closed, check: `{ type: HTTP_GET, url: [{ path: /ok }], retry: 0 }` },
      { ip: '127.0.0.3', port: w.port, check: `{ type: HTTP_GET, connect_ip: 127.0.0.1, url: [{ path: /slow }], connect_timeout: 1, retry: 0 }` },
      ...slow,
    ]));
    await until('the silent ones down', () => slow.every((s) => lastTo(r, `${s.ip}:${s.port}`) === 'down'));
    expect(r.changes(`127.0.0.2:${w.port}`).at(-1)!.reason).toBe(`bad HTTP response on GET /ssh from 127.0.0.1:${w.port}: not an HTTP response (starts with "SSH-2.0-OpenSSH_9.2p1\\r\\n")`);
    expect(r.changes(`127.0.0.1:${closed}`).at(-1)!.reason).toBe(`GET /ok from 127.0.0.1:${closed} failed: connection refused (ECONNREFUSED)`);
    expect(r.changes(`127.0.1.1:${w.port}`).at(-1)!.reason).toBe(`no complete HTTP answer from 127.0.0.1:${w.port} within 1 s (connect_timeout)`);
    // While twenty probes hung for a second each, the fast one kept its 50 ms rhythm.
    const okProbes = w.requests.filter((q) => q.path === '/ok').length;
    const hangs = w.requests.filter((q) => q.path === '/hang').length;
    expect(hangs).toBeGreaterThanOrEqual(20);
    expect(okProbes).toBeGreaterThan(10);
    expect(r.changes(`127.0.0.1:${w.port}`).map((c) => c.to)).toEqual(['up']);
    // Slow but within its timeout is up.
    expect(w.requests.filter((q) => q.path === '/slow').length).toBeGreaterThan(1);
    expect(r.changes(`127.0.0.3:${w.port}`).map((c) => c.to)).toEqual(['up']);
  });

  it('bounds the probes in flight: beyond health_max_in_flight, due probes wait their turn and are counted', async () => {
    const d = dir();
    const w = await web();
    w.paths.set('/hang', { status: 200, body: '', hang: true });
    const hanging = Array.from({ length: 6 }, (_, i) => ({ ip: `127.0.2.${i + 1}`, port: w.port, check: `{ type: HTTP_GET, connect_ip: 127.0.0.1, url: [{ path: /hang }], connect_timeout: 0.3, retry: 0 }` }));
    const r = start(d, virtualServer(hanging), { maxInFlight: 2, summaryMs: 300 });
    // Summaries fall on the multiples of 300 ms of the wall clock (shared/housekeeping.ts):
    // the first can come right after the start, the second before any 0.3 s timeout ran
    // out (seen in a busy-core run), so the wait is for summaries that had time to count one.
    const summariesNow = () => r.log.query({ types: ['health.summary'] }).map((e) => e.data as Record<string, number>);
    await until('two summaries, the hanging probes\' timeouts counted in them', () => {
      const s = summariesNow();
      return s.length >= 2 && s.reduce((n, x) => n + x.timed_out!, 0) > 0;
    });
    const summaries = summariesNow();
    expect(Math.max(...summaries.map((x) => x.in_flight_max!))).toBe(2);
    expect(summaries.reduce((n, x) => n + x.queued!, 0)).toBeGreaterThan(0);
    expect(summaries.reduce((n, x) => n + x.timed_out!, 0)).toBeGreaterThan(0);
    expect(w.requests.length).toBeGreaterThan(2);
    // The server never saw all six hang at once (a closed connection may linger there a moment, so not exactly 2).
    expect(w.maxOpen).toBeLessThan(hanging.length);
  });

  it('SSL_GET: a self-signed certificate passes without verify, fails with it, passes with the certificate as ca_file', async () => {
    const d = dir();
    const w = await web({ tls: true });
    w.paths.set('/', { status: 200, body: 'ok' });
    const r = start(d, virtualServer([
      { ip: '127.0.0.1', port: w.port, check: `{ type: SSL_GET, url: [{ path: / }], retry: 0 }` },
      { ip: '127.0.0.2', port: w.port, check: `{ type: SSL_GET, connect_ip: 127.0.0.1, url: [{ path: / }], verify: true, retry: 0 }` },
      { ip: '127.0.0.3', port: w.port, check: `{ type: SSL_GET, connect_ip: 127.0.0.1, url: [{ path: / }], verify: true, ca_file: ${TLS_CERT}, retry: 0 }` },
      { ip: '127.0.0.4', port: w.port, check: `{ type: SSL_GET, connect_ip: 127.0.0.1, url: [{ path: / }], verify: true, ca_file: ${TLS_CERT}, sni: other.vigil.test, retry: 0 }` },
    ]));
    const t = (n: number) => `127.0.0.${n}:${w.port}`;
    await until('verified-without-CA down', () => lastTo(r, t(2)) === 'down' && lastTo(r, t(4)) === 'down');
    await until('more probes', () => w.requests.length > 20);
    expect(lastTo(r, t(1))).toBe('up');
    expect(lastTo(r, t(3))).toBe('up');
    expect(r.changes(t(2)).at(-1)!.reason).toMatch(/^GET \/ from 127\.0\.0\.1:\d+ failed: TLS .*self-signed certificate/);
    expect(r.changes(t(4)).at(-1)!.reason).toMatch(/Hostname\/IP does not match certificate's altnames|ERR_TLS_CERT_ALTNAME_INVALID/);
  });
});

describe('health: TCP_CHECK, DNS_CHECK', () => {
  it('TCP: a listener is up, a closed port refused, a bad bindto named', async () => {
    const d = dir();
    const srv = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => srv.close(resolve)));
    const open = (srv.address() as { port: number }).port;
    const closed = await freePort();
    const r = start(d, virtualServer([
      { port: open, check: `{ type: TCP_CHECK, retry: 0 }` },
      { port: closed, check: `{ type: TCP_CHECK, retry: 0 }` },
      { ip: '127.0.0.2', port: open, check: `{ type: TCP_CHECK, connect_ip: 127.0.0.1, bindto: 192.0.2.1, retry: 0 }` },
    ]));
    await until('closed and unbindable down', () => lastTo(r, `127.0.0.1:${closed}`) === 'down' && lastTo(r, `127.0.0.2:${open}`) === 'down');
    expect(lastTo(r, `127.0.0.1:${open}`)).toBe('up');
    expect(r.changes(`127.0.0.1:${closed}`).at(-1)!.reason).toBe(`TCP connect to 127.0.0.1:${closed} failed: connection refused (ECONNREFUSED)`);
    expect(r.changes(`127.0.0.2:${open}`).at(-1)!.reason).toBe(`TCP connect to 127.0.0.1:${open} failed: cannot bind the source address (bindto) (EADDRNOTAVAIL)`);
  });

  it('DNS: answers, expected values, SERVFAIL, NXDOMAIN, garbage and silence', async () => {
    const d = dir();
    const resp = await Promise.all([1, 2, 3, 4, 5, 6].map(() => dns()));
    for (const x of resp) {
      x.records.set('A www.vigil.test', ['10.1.2.3', '10.1.2.4']);
      x.records.set('SOA vigil.test', ['ns1.vigil.test hostmaster.vigil.test 2026112301']);
    }
    resp[2]!.mode = 'servfail';
    resp[3]!.mode = 'nxdomain';
    resp[4]!.mode = 'garbage';
    resp[5]!.mode = 'silent';
    const check = (x: DnsResponder, more: string) => `{ type: DNS_CHECK, connect_ip: 127.0.0.1, connect_port: ${x.port}, retry: 0, connect_timeout: 0.5, ${more} }`;
    const r = start(d, virtualServer([
      { ip: '127.0.0.1', port: 53, check: check(resp[0]!, 'dns_type: A, dns_name: www.vigil.test, expect: [10.1.2.4]') },
      { ip: '127.0.0.2', port: 53, check: check(resp[1]!, 'dns_type: A, dns_name: www.vigil.test, expect: [10.9.9.9]') },
      { ip: '127.0.0.3', port: 53, check: check(resp[2]!, 'dns_name: vigil.test') },
      { ip: '127.0.0.4', port: 53, check: check(resp[3]!, 'dns_name: vigil.test') },
      { ip: '127.0.0.5', port: 53, check: check(resp[4]!, 'dns_name: vigil.test') },
      { ip: '127.0.0.6', port: 53, check: check(resp[5]!, 'dns_name: vigil.test') },
      { ip: '127.0.0.7', port: 53, check: check(resp[0]!, 'dns_name: vigil.test') },
    ]));
    const t = (n: number) => `127.0.0.${n}:53`;
    await until('the bad ones down', () => [2, 3, 4, 5, 6].every((n) => lastTo(r, t(n)) === 'down'), 15_000);
    await until('more queries', () => resp[0]!.queries > 10);
    expect(lastTo(r, t(1))).toBe('up');
    expect(lastTo(r, t(7))).toBe('up');
    const why = (n: number) => r.changes(t(n)).at(-1)!.reason;
    expect(why(2)).toBe(`DNS A www.vigil.test from 127.0.0.1:${resp[1]!.port}: answer 10.1.2.3, 10.1.2.4 lacks 10.9.9.9`);
    expect(why(3)).toBe(`DNS SOA vigil.test from 127.0.0.1:${resp[2]!.port}: server failure (SERVFAIL)`);
    expect(why(4)).toBe(`DNS SOA vigil.test from 127.0.0.1:${resp[3]!.port}: no such name (NXDOMAIN)`);
    expect(why(5)).toMatch(/: malformed DNS response$|: no answer$/);
    expect(why(6)).toMatch(new RegExp(`^(DNS SOA vigil.test from 127.0.0.1:${resp[5]!.port}: no answer|no DNS answer from 127.0.0.1:${resp[5]!.port} within 0.5 s \\(connect_timeout\\))$`));
  });
});

describe('health: MISC_CHECK and track scripts', () => {
  it('exit codes as keepalived reads them, misc_dynamic weights, a hanging script killed at its timeout, megabytes of output, another user, PING_CHECK', async () => {
    const d = dir();
    const state = join(d.path, 'state');
    writeFileSync(state, '0');
    const pidFile = join(d.path, 'hang.pid');
    const exitWith = script(d, 'exit.sh', `exit "$(cat ${state})"`);
    const hang = script(d, 'hang.sh', `echo $$ > ${pidFile}\nexec sleep 600`);
    const loud = script(d, 'loud.sh', 'head -c 8000000 /dev/zero | tr "\\0" x\necho\necho done loudly\nexit 1');
    const r = start(d, virtualServer([
      // misc_timeout defaults to delay_loop (50 ms here): too short to start a shell on a busy
      // machine, where such a probe is (rightly) down for timing out. The checks below that
      // are not about timeouts get a timeout a loaded machine can keep.
      { ip: '127.0.0.1', port: 1, check: `{ type: MISC_CHECK, misc_path: [${exitWith}], misc_dynamic: true, misc_timeout: 2, retry: 0 }` },
      { ip: '127.0.0.2', port: 1, check: `{ type: MISC_CHECK, misc_path: [${hang}], misc_timeout: 0.5, retry: 0 }` },
      { ip: '127.0.0.3', port: 1, check: `{ type: MISC_CHECK, misc_path: [${loud}], retry: 0, warmup: 0.01, delay_loop: 30 }` },
      { ip: '127.0.0.4', port: 1, check: `{ type: MISC_CHECK, misc_path: [${d.path}/missing.sh], retry: 0 }` },
      { ip: '127.0.0.5', port: 1, check: `{ type: MISC_CHECK, misc_path: [/bin/sh, -c, 'test "$(id -u)" = 65534'], user: nobody, misc_timeout: 2, retry: 0 }` },
      { ip: '127.0.0.6', port: 1, check: `{ type: PING_CHECK, connect_ip: 127.0.0.1, retry: 0 }` },
      { ip: '127.0.0.7', port: 1, check: `{ type: PING_CHECK, connect_ip: 127.0.0.1, bindto: 192.0.2.1, retry: 0 }` },
    ]));
    await until('ping with a foreign source address down', () => lastTo(r, '127.0.0.7:1') === 'down');
    expect(r.changes('127.0.0.7:1').at(-1)!.reason).toMatch(/^ping 127\.0\.0\.1 exited 2: .*(bind|assign)/i);
    await until('the hanging script down', () => lastTo(r, '127.0.0.2:1') === 'down');
    expect(r.changes('127.0.0.2:1').at(-1)!.reason).toBe(`MISC_CHECK ${hang} did not finish within 0.5 s (killed)`);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await until('the hung script gone', () => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z', 5000);

    await until('the loud script down', () => lastTo(r, '127.0.0.3:1') === 'down', 15_000);
    expect(r.changes('127.0.0.3:1').at(-1)!.reason).toBe(`MISC_CHECK ${loud} exited 1: done loudly`);
    await until('the missing script down', () => lastTo(r, '127.0.0.4:1') === 'down');
    expect(r.changes('127.0.0.4:1').at(-1)!.reason).toMatch(/^MISC_CHECK .*missing\.sh: cannot run .*ENOENT/);

    expect([lastTo(r, '127.0.0.5:1'), lastTo(r, '127.0.0.6:1')]).toEqual(['up', 'up']); // as user nobody; a loopback echo reply
    writeFileSync(state, '7'); // misc_dynamic: up, weight 5
    await until('weight 5', () => r.changes('127.0.0.1:1').at(-1)?.weight === 5);
    expect(r.changes('127.0.0.1:1').at(-1)).toMatchObject({ from: 'up', to: 'up', weight: 5 });
    writeFileSync(state, '1');
    await until('down on exit 1', () => lastTo(r, '127.0.0.1:1') === 'down');
    writeFileSync(state, '0');
    await until('up on exit 0, the weight kept', () => lastTo(r, '127.0.0.1:1') === 'up');
    expect(r.changes('127.0.0.1:1').at(-1)).toMatchObject({ from: 'down', to: 'up', weight: 5 });
  });

  it('track scripts of this node become track.changed events, with rise, fall and init_fail', async () => {
    const d = dir();
    const state = join(d.path, 'state');
    writeFileSync(state, '0');
    const chk = script(d, 'chk.sh', `exit "$(cat ${state})"`);
    const r = start(d, `track_scripts:
  chk_app: { script: [${chk}], interval: 0.05, rise: 2, fall: 2 }
  chk_init: { script: [${chk}], interval: 0.05, init_fail: true }
  chk_unused: { script: [/bin/false], interval: 0.05 }
vrrp_instances:
  VI_1:
    interface: lo
    virtual_router_id: 1
    track_script: [chk_app, { name: chk_init, weight: -10 }]
`);
    await until('chk_init ok', () => r.tracks('chk_init').at(-1)?.to === 'ok');
    expect(r.tracks('chk_app')).toEqual([{ name: 'chk_app', from: 'unknown', to: 'ok', reason: 'not run yet; counted OK until it fails' }]);
    expect(r.tracks('chk_init').map((t) => [t.from, t.to])).toEqual([['unknown', 'fail'], ['fail', 'ok']]);
    expect(r.tracks('chk_unused')).toEqual([]);
    writeFileSync(state, '3');
    await until('chk_app fail', () => r.tracks('chk_app').at(-1)?.to === 'fail');
    expect(r.tracks('chk_app').at(-1)).toEqual({ name: 'chk_app', from: 'ok', to: 'fail', reason: `track script chk_app exited 3 (2 failures in a row)` });
  });
});

describe('health: restarts', () => {
  it('resumes every check from the log: no new initial events, a down server stays down without a new event', async () => {
    const d = dir();
    const w = await web();
    w.paths.set('/up', { status: 200, body: 'ok' });
    const body = virtualServer([
      { ip: '127.0.0.1', port: w.port, check: `{ type: HTTP_GET, url: [{ path: /up }], retry: 0 }` },
      { ip: '127.0.0.2', port: w.port, check: `{ type: HTTP_GET, connect_ip: 127.0.0.1, url: [{ path: /down }], retry: 0 }` },
    ]);
    const first = start(d, body);
    await until('down', () => lastTo(first, `127.0.0.2:${w.port}`) === 'down');
    await first.svc.stop();
    first.log.close();
    const before = w.requests.length;
    const second = start(d, body, { summaryMs: 200 });
    await until('more probes', () => w.requests.length > before + 20);
    await until('a summary', () => second.log.query({ types: ['health.summary'] }).length > 1);
    expect(second.changes().map((c) => `${c.target} ${c.from}->${c.to}`)).toEqual([`127.0.0.1:${w.port} unknown->up`, `127.0.0.2:${w.port} unknown->up`, `127.0.0.2:${w.port} up->down`]);
    const summary = second.log.query({ types: ['health.summary'] }).at(-1)!.data as Record<string, number>;
    expect(summary).toMatchObject({ total: 2, up: 1, down: 1, unknown: 0, timed_out: 0 });
    expect(summary.probes).toBeGreaterThan(0);
  });
});

describe('health: the event log refusing appends', () => {
  it('keeps a transition while another connection holds the write lock (as another process would), reports it, and records it once the lock is gone', async () => {
    const d = dir();
    const w = await web();
    w.paths.set('/s', { status: 200, body: 'ok' });
    const lines: string[] = [];
    const r = start(d, virtualServer([{ port: w.port, check: `{ type: HTTP_GET, url: [{ path: /s }], retry: 0 }` }]), { busyTimeoutMs: 100, logLines: lines });
    const target = `127.0.0.1:${w.port}`;
    await until('the initial state recorded', () => r.changes(target).length === 1);
    const other = new Database(join(d.path, 'events.db'), { timeout: 100 });
    cleanups.push(() => other.close());
    other.exec('BEGIN IMMEDIATE');
    w.paths.set('/s', { status: 500, body: '' });
    await until('the append refused and reported', () => lines.some((l) => l.includes('the event log refuses writes: events are kept in memory and will be appended late')));
    other.exec('COMMIT');
    await until('the transition recorded', () => lastTo(r, target) === 'down');
    await until('more probes', () => w.requests.length > 30);
    expect(r.changes(target).map((c) => c.to)).toEqual(['up', 'down']);
  });
});

describe('vigil run health and vigil health', () => {
  it('runs as a service: records transitions, stops on SIGTERM, and `vigil health` shows the projection', async () => {
    const d = dir();
    const w = await web();
    w.paths.set('/ok', { status: 200, body: 'ok' });
    const file = join(d.path, 'vigil.yaml');
    writeFileSync(
      file,
      `${yamlHead}log: { path: events.db }
track_scripts:
  chk_true: { script: [/bin/true], interval: 0.1 }
vrrp_instances:
  VI_1: { interface: lo, virtual_router_id: 9, track_script: [chk_true] }
${virtualServer([
  { ip: '127.0.0.1', port: w.port, check: `{ type: HTTP_GET, url: [{ path: /ok }], retry: 0 }` },
  { ip: '127.0.0.2', port: w.port, check: `{ type: HTTP_GET, connect_ip: 127.0.0.1, url: [{ path: /gone }], retry: 0 }` },
])}`,
    );
    const child = spawnVigil(['run', 'health', '--config', file]);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(() => (child.exitCode === null ? (child.kill('SIGKILL'), exited) : undefined));
    const db = join(d.path, 'events.db');
    await until('the missing page down', () => readEvents(db, ['health.changed']).some((e) => (e.data as { to: string }).to === 'down'));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(readEvents(db, ['service.*']).map((e) => `${e.type} ${(e.data as { reason?: string }).reason ?? ''}`.trim())).toEqual(['service.started', 'service.stopped signal']);

    const table = await vigil(['health', '--config', file]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^SUBJECT\s+CHECK\s+STATE\s+SINCE \(UTC\)\s+WHY$/);
    expect(lines.find((l) => l.startsWith(`rs:web/127.0.0.2:${w.port}`))).toMatch(new RegExp(`HTTP_GET#0\\s+down\\s+\\S+Z\\s+HTTP 404 on GET /gone from 127.0.0.1:${w.port} \\(expected 200-299\\)$`));
    expect(lines.find((l) => l.startsWith('track:chk_true'))).toMatch(/script\s+up\s/);
    expect(lines.at(-1)).toBe('3 checks: 2 up, 1 down, 0 without a result');

    const json = await vigil(['health', '--config', file, '--down', '--json']);
    expect(json.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { subject: `rs:web/127.0.0.2:${w.port}`, check: 'HTTP_GET#0', state: 'down', since: expect.any(Number), weight: null, reason: `HTTP 404 on GET /gone from 127.0.0.1:${w.port} (expected 200-299)` },
    ]);
  });

  it('runs at checker_priority where it may; without CAP_SYS_NICE it says so once and runs at ordinary priority', async () => {
    const d = dir();
    const file = join(d.path, 'vigil.yaml');
    writeFileSync(file, `${yamlHead}log: { path: events.db }
global_defs: { checker_priority: -5 }
track_scripts:
  chk_true: { script: [/bin/true], interval: 0.1 }
vrrp_instances:
  VI_1: { interface: lo, virtual_router_id: 9, track_script: [chk_true] }
`);
    const db = join(d.path, 'events.db');
    for (const [argv, expected] of [[[], -5], [['setpriv', '--bounding-set', '-sys_nice', '--'], 0]] as const) {
      const logFile = join(d.path, `health${argv.length}.log`);
      const child = startChild([...argv, process.execPath, CLI, 'run', 'health', '--config', file], { logFile });
      cleanups.push(() => child.stop());
      await until('the service started', () => readEvents(db, ['service.started']).length === (argv.length ? 2 : 1) && child.isRunning());
      expect(niceOf(child.pid), `nice value of the health service (${argv.join(' ') || 'as root'})`).toBe(expected);
      await child.stop(); // SIGKILL after 10 s: a service may take about 7 s to stop (README)
      expect((await child.exited).code).toBe(0);
      const warnings = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('cannot change this service'));
      expect(warnings, readFileSync(logFile, 'utf8')).toHaveLength(argv.length ? 1 : 0);
    }
  });

  it('refuses to start with a check it cannot set up, and `config check` refuses a bad regex, each naming where it is', async () => {
    const d = dir();
    const file = join(d.path, 'vigil.yaml');
    writeFileSync(file, `${yamlHead}log: { path: events.db }\n${virtualServer([{ port: 443, check: `{ type: SSL_GET, url: [{ path: / }], verify: true, ca_file: ${d.path}/no-such-ca.pem }` }])}`);
    const r = await vigil(['run', 'health', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`virtual_servers.web.real_servers.0.checks.0: ENOENT: no such file or directory, open '${d.path}/no-such-ca.pem'`);
    const badFile = join(d.path, 'bad.yaml');
    writeFileSync(badFile, `${yamlHead}${virtualServer([{ port: 80, check: `{ type: HTTP_GET, url: [{ path: /, regex: "(unclosed" }] }` }])}`);
    const bad = await vigil(['config', 'check', badFile]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^\S+\/bad\.yaml:\d+:\d+: virtual_servers\.web\.real_servers\[0\]\.checks\[0\]\.url\[0\]\.regex: is not a valid regular expression$/m);
  });
});

describe('health: reload as a difference', () => {
  it('an unchanged check keeps its state and schedule; a removed one is no longer probed; a new one starts; a changed one starts again alone', async () => {
    const d = dir();
    const [a, b, c, x] = [await web(), await web(), await web(), await web()];
    for (const w of [a, b, c, x]) w.paths.set('/', { status: 200, body: 'ok' });
    x.paths.set('/x', { status: 200, body: 'ok' });
    const check = (path = '/') => `{ type: HTTP_GET, url: [{ path: ${path} }], connect_timeout: 1 }`;
    const r = start(d, virtualServer([{ port: a.port, check: check() }, { port: b.port, check: check() }, { port: x.port, check: check() }]));
    await until('a, b and x probed', () => a.requests.length >= 3 && b.requests.length >= 3 && x.requests.length >= 3);
    const before = r.changes().length;
    const { config } = parseConfig(yamlHead + virtualServer([{ port: a.port, check: check() }, { port: c.port, check: check() }, { port: x.port, check: check('/x') }]), join(d.path, 'vigil.yaml'));
    const key = (w: WebServer) => `check rs:web/127.0.0.1:${w.port} HTTP_GET#0`;
    const aAt = a.requests.length;
    expect(r.svc.reload(config)).toEqual({ added: [key(c)], removed: [key(b)], changed: [key(x)], unchanged: [key(a)] });
    const bAt = b.requests.length;
    await until('c and the changed check probed', () => c.requests.length >= 3 && x.requests.filter((q) => q.path === '/x').length >= 3 && a.requests.length >= aAt + 3);
    // (a probe in flight at the reload is abandoned; its request may still reach the server)
    expect(b.requests.length - bAt, 'the removed check is not probed again').toBeLessThanOrEqual(1);
    // the new and the changed check start as at start-up (resumed from the record: the changed
    // one's last state stands); the unchanged one recorded nothing new
    expect(r.changes().slice(before).map((e) => `${e.target} ${e.from}->${e.to}`)).toEqual([`127.0.0.1:${c.port} unknown->up`]);
  });
});
