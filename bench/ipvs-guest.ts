// Runs inside the test VM (bench/ipvs.ts boots it): the IPVS service reconciling 1,000
// virtual services x 10 real servers against the real kernel table.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Ipvsadm } from '../services/ipvs/ipvsadm.js';
import { IpvsService } from '../services/ipvs/shell.js';
import { parseConfig } from '../shared/config/index.js';
import { EventLog, realServerSubject } from '../shared/eventlog/index.js';
import { createLogger } from '../shared/logger.js';
import { tempDir } from '../test/harness/tmp.js';
import { median, printTable } from './stats.js';

const SERVICES = Number(process.env.BENCH_IPVS_SERVICES ?? 1000);
const SERVERS = 10;

const ip = (prefix: number, i: number) => `10.${prefix}.${Math.floor(i / 250)}.${(i % 250) + 1}`;
const yaml = [
  'cluster: bench', 'nodes: { n1: {} }', 'zookeeper: { hosts: ["127.0.0.1:1"] }', 'global_defs: { ipvs_drift_check: 3600 }', 'virtual_servers:',
  ...Array.from({ length: SERVICES }, (_, s) => [
    `  vs${s}:`,
    `    { ip: ${ip(1, s)}, port: 80, lb_algo: wrr, lb_kind: NAT, real_servers: [`,
    ...Array.from({ length: SERVERS }, (_, r) => `      { ip: ${ip(2, s * SERVERS + r)}, weight: 10, inhibit_on_failure: true, checks: [{ type: TCP_CHECK }] },`),
    '    ] }',
  ].join('\n')),
].join('\n');

const step = (what: string) => process.stderr.write(`ipvs bench: ${what} at ${(performance.now() / 1000).toFixed(1)} s\n`);
step('generated the configuration');
const tmp = tempDir('bench-ipvs');
const config = parseConfig(yaml, 'bench.yaml').config;
const log = EventLog.open({ path: join(tmp.path, 'events.db'), node: 'n1' });
const ipvsadm = new Ipvsadm();
const svc = new IpvsService({ config, node: 'n1', log, logger: createLogger({ service: 'ipvs' }, { level: (process.env.BENCH_LOG_LEVEL ?? 'warn') as 'warn' }), ipvsadm });
execFileSync('ipvsadm', ['-C']);

step('parsed it');
const t0 = performance.now();
await svc.start();
step('table built from empty');
const fromEmpty = performance.now() - t0;
const fromEmptyRuns = ipvsadm.invocations;
const lines = log.query({ types: ['ipvs.changed'] }).length;

const noop: number[] = [];
const noopRuns: number[] = [];
for (let i = 0; i < 10; i++) {
  const runs = ipvsadm.invocations;
  const t = performance.now();
  await svc.check();
  noop.push(performance.now() - t);
  noopRuns.push(ipvsadm.invocations - runs);
}

step('no-op reconciles done');
const weight: number[] = [];
const weightRuns: number[] = [];
for (let i = 0; i < 20; i++) {
  const to = i % 2 === 0 ? 'down' : 'up';
  const runs = ipvsadm.invocations;
  const before = log.lastSeq();
  const t = performance.now();
  const vs = Math.floor(i / 2); // down, then up again: each a weight change (inhibit_on_failure: 10 -> 0 -> 10)
  const rs = `${ip(2, vs * SERVERS)}:80`;
  log.append({ type: 'health.changed', source: 'health', subject: realServerSubject(`vs${vs}`, rs), data: { target: rs, check: 'TCP_CHECK#0', from: to === 'down' ? 'up' : 'down', to, reason: 'bench' } });
  while (log.query({ types: ['ipvs.changed'], afterSeq: before }).length === 0) await new Promise((r) => setTimeout(r, 1));
  await svc.settled();
  weight.push(performance.now() - t);
  weightRuns.push(ipvsadm.invocations - runs);
}
const table = execFileSync('ipvsadm', ['-Sn'], { encoding: 'utf8', maxBuffer: 64 << 20 }).trim().split('\n').length;
await svc.stop();
log.close();
tmp.remove();

const ms = (v: number) => `${v.toFixed(0)} ms`;
printTable(`IPVS: ${SERVICES} virtual services x ${SERVERS} real servers, real kernel table (in the emulated VM: no KVM, so CPU-bound times are several times a real machine's)`, [
  { metric: 'from empty: start to table complete', value: ms(fromEmpty) },
  { metric: 'from empty: ipvsadm processes (read + batch)', value: String(fromEmptyRuns), target: '2', ok: fromEmptyRuns === 2 },
  { metric: 'from empty: lines applied (= ipvs.changed events)', value: String(lines) },
  { metric: 'table lines afterwards (ipvsadm -Sn)', value: String(table) },
  { metric: 'no-op reconcile (read + diff), median of 10', value: ms(median(noop)) },
  { metric: 'no-op reconcile: ipvsadm processes', value: String(Math.max(...noopRuns)), target: '1', ok: Math.max(...noopRuns) === 1 },
  { metric: 'one weight change, append to applied, median of 20', value: ms(median(weight)) },
  { metric: 'one weight change: ipvsadm processes', value: String(Math.max(...weightRuns)), target: '1', ok: Math.max(...weightRuns) === 1 },
]);
