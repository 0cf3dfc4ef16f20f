// The health service at scale: 10,000 TCP_CHECK targets at delay_loop 1 s on one node
// (100 loopback addresses x 100 ports, served by another process). Reports the service
// process's CPU (user and system), probe lateness from its own health.summary events,
// memory, and how long it took to start checking.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EventLog } from '../shared/eventlog/index.js';
import { startChild } from '../test/harness/process.js';
import { CLI } from '../test/harness/node.js';
import { tempDir } from '../test/harness/tmp.js';
import { cpuSeconds, rssMiB } from './proc.js';
import { median, printTable } from './stats.js';

const ADDRESSES = 100;
const PORTS = 100;
const MEASURE_S = 20;
const SUMMARY_S = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function config(db: string): string {
  const lines = ['cluster: bench', 'nodes: { n1: {} }', `log: { path: ${db} }`, 'zookeeper: { hosts: [127.0.0.1:2181] }', `global_defs: { health_summary: ${SUMMARY_S} }`, 'virtual_servers:'];
  for (let a = 0; a < ADDRESSES; a++) {
    lines.push(`  vs${a}:`, `    ip: 10.0.${a}.1`, '    port: 80', '    delay_loop: 1', '    real_servers:');
    for (let p = 0; p < PORTS; p++) lines.push(`      - { ip: 127.1.${a}.1, port: ${20000 + p}, checks: [{ type: TCP_CHECK, connect_timeout: 2 }] }`);
  }
  return lines.join('\n') + '\n';
}

export async function benchHealth(): Promise<void> {
  const tmp = tempDir('bench-health');
  const listenerScript = fileURLToPath(new URL('./fixtures/listeners.ts', import.meta.url));
  const listeners = spawn(process.execPath, ['--import', 'tsx', listenerScript, String(ADDRESSES), String(PORTS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let service: ReturnType<typeof startChild> | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      listeners.once('exit', (code) => reject(new Error(`listeners exited ${code}`)));
      createInterface({ input: listeners.stdout! }).on('line', (l) => l.startsWith('listening') && resolve());
    });
    const db = join(tmp.path, 'events.db');
    const file = join(tmp.path, 'vigil.yaml');
    writeFileSync(file, config(db));
    const t0 = Date.now();
    service = startChild([process.execPath, CLI, 'run', 'health', '--config', file, '--node', 'n1'], { logFile: join(tmp.path, 'health.log') });
    let log: EventLog | undefined;
    const n = ADDRESSES * PORTS;
    for (;;) {
      await sleep(100);
      try {
        log ??= EventLog.open({ path: db, mustExist: true });
        if (log.query({ types: ['health.changed'], limit: n }).length === n) break;
      } catch {
        // not created yet
      }
      if (Date.now() - t0 > 60_000) throw new Error('the health service did not start checking within 60 s');
    }
    const startupMs = Date.now() - t0;
    await sleep(2 * SUMMARY_S * 1000); // first probes spread over a second, then steady state
    const c0 = cpuSeconds(service.pid);
    const from = log!.lastSeq();
    const w0 = performance.now();
    await sleep(MEASURE_S * 1000);
    const c1 = cpuSeconds(service.pid);
    const wall = (performance.now() - w0) / 1000;
    const rss = rssMiB(service.pid);
    const summaries = log!.query({ afterSeq: from, types: ['health.summary'] }).map((e) => e.data as Record<string, number>);
    const downs = log!.query({ afterSeq: from, types: ['health.changed'] }).length;
    log!.close();
    const probes = summaries.reduce((s, x) => s + (x.probes ?? 0), 0);
    const windowS = summaries.reduce((s, x) => s + (x.window_ms ?? 0), 0) / 1000;
    const failed = summaries.reduce((s, x) => s + (x.failed ?? 0), 0);
    const p99s = summaries.map((x) => x.late_p99_ms ?? NaN);
    const cpu = ((c1.total - c0.total) / wall) * 100;
    printTable(`Health service, ${n} TCP_CHECK targets at delay_loop 1 s (loopback, listeners in another process)`, [
      { metric: 'CPU % of one core (user + system)', value: cpu.toFixed(1), target: '<= 50', ok: cpu <= 50 },
      { metric: '  of which user / system', value: `${(((c1.user - c0.user) / wall) * 100).toFixed(1)} / ${(((c1.system - c0.system) / wall) * 100).toFixed(1)}` },
      { metric: 'probes per second', value: (probes / windowS).toFixed(0) },
      { metric: `probe lateness p99, median of ${summaries.length} windows of ${SUMMARY_S} s (ms)`, value: String(median(p99s)), target: '< 100', ok: median(p99s) < 100 },
      { metric: 'probe lateness p99, worst window (ms)', value: String(Math.max(...p99s)) },
      { metric: 'probe lateness max, worst window (ms)', value: String(Math.max(...summaries.map((x) => x.late_max_ms ?? NaN))) },
      { metric: 'failed probes / transitions in the window', value: `${failed} / ${downs}` },
      { metric: 'RSS MiB', value: rss.toFixed(0) },
      { metric: 'start to all checks planned and recorded (ms)', value: String(startupMs) },
    ]);
  } finally {
    await service?.stop();
    listeners.kill('SIGTERM');
    tmp.remove();
  }
}
