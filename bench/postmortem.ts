// vigil postmortem over a big history: three nodes' logs with 1,000,000 events in all (a
// month: 2,000 failovers with everything the services record around them, real servers
// flapping, notify scripts, periodic summaries), and the time the CLI takes (a process
// of its own, start-up included) to answer "who held web at T and why", to report one
// hour, to write the HTML file, and to report the whole month.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLog, nodeSubject, realServerSubject, serviceSubject, vipGroupSubject, vrrpSubject, type NewEvent } from '../shared/eventlog/index.js';
import { median, printTable } from './stats.js';

const NODES = ['lb1', 'lb2', 'lb3'] as const;
const TOTAL = 1_000_000;
const FAILOVERS = 2000;
const START = Date.UTC(2026, 10, 1);
const MONTH_MS = 30 * 86_400_000;
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

type Timed = NewEvent & { ts: number };

/** Every node's events of the month, in time order per node. */
function history(): Record<string, Timed[]> {
  const out: Record<string, Timed[]> = { lb1: [], lb2: [], lb3: [] };
  const step = MONTH_MS / FAILOVERS;
  let holder = 0;
  // causation is a seq in the node's own log: events are numbered as they are pushed
  const push = (n: string, e: Timed): number => out[n]!.push(e);
  for (let f = 0; f < FAILOVERS; f++) {
    const t = START + f * step;
    const from = NODES[holder]!;
    const to = NODES[(holder + 1) % 3]!;
    const epoch = f + 1;
    // the old holder goes BACKUP and unbinds; the new one goes MASTER, takes the lease, binds
    const down = push(from, { type: 'vrrp.state_changed', source: 'vrrp', subject: vrrpSubject('VI_1'), ts: t, data: { instance: 'VI_1', from: 'MASTER', to: 'BACKUP', reason: 'higher_priority_advert', priority: 100 } });
    if (f > 0) {
      push(from, { type: 'vip.unbound', source: 'fence', subject: vipGroupSubject('web'), ts: t + 40, causation: down, data: { group: 'web', epoch: f, addresses: [{ address: '10.0.0.100', prefix: 32, interface: 'eth0' }], reason: 'VRRP instance VI_1 is BACKUP, not MASTER', gone_at: t + 40, how: 'removed' } });
      push(from, { type: 'fence.lease_lost', source: 'fence', subject: vipGroupSubject('web'), ts: t + 45, causation: down, data: { group: 'web', epoch: f, reason: 'given up: VRRP instance VI_1 is BACKUP, not MASTER' } });
    }
    const up = push(to, { type: 'vrrp.state_changed', source: 'vrrp', subject: vrrpSubject('VI_1'), ts: t + 5, data: { instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'preempted', priority: 150 } });
    push(to, { type: 'fence.lease_candidate', source: 'fence', subject: vipGroupSubject('web'), ts: t + 10, causation: up, data: { group: 'web', action: 'joined', candidate: `/vigil/vips/web/lock/c-${to}-${epoch}`, epoch } });
    push(to, { type: 'fence.lease_acquired', source: 'fence', subject: vipGroupSubject('web'), ts: t + 60, causation: up, data: { group: 'web', epoch } });
    push(to, {
      type: 'vip.bound', source: 'fence', subject: vipGroupSubject('web'), ts: t + 90, causation: up,
      data: { group: 'web', epoch, addresses: [{ address: '10.0.0.100', prefix: 32, interface: 'eth0' }], valid_lft_s: 2, bound_at: t + 90, ...(f > 0 ? { previous: { node: from, epoch: f, gone_at: t + 40, how: 'unbound' as const } } : {}) },
    });
    for (const n of NODES) {
      push(n, { type: 'relay.lease_observed', source: 'relay', subject: vipGroupSubject('web'), ts: t + 61, data: { group: 'web', holder: { node: to, epoch }, previous: f > 0 ? { node: from, epoch: f } : null, speaker: 'lb1', seen: 'watch' } });
      push(n, { type: 'relay.notify_ran', source: 'relay', subject: 'notify:VI_1', ts: t + 200, data: { script: 'notify', argv: ['/etc/vigil/notify.sh', 'INSTANCE', 'VI_1', n === to ? 'MASTER' : 'BACKUP'], exit_code: 0, signal: null, timed_out: false, duration_ms: 12, output_tail: '' } });
    }
    push(to, { type: 'relay.alert', source: 'relay', subject: 'alert:failover', ts: t + 120, data: { id: `failover:web:${epoch}`, kind: 'failover', severity: 'info', summary: `VIP group web moved to ${to} from ${from}`, events: [`${to}:x:${epoch}`] } });
    holder = (holder + 1) % 3;
  }
  // the rest: real servers flapping on every node, and each node's periodic summaries
  const made = NODES.reduce((a, n) => a + out[n]!.length, 0);
  const filler = TOTAL - made;
  for (let i = 0; i < filler; i++) {
    const n = NODES[i % 3]!;
    const t = START + Math.floor((i / filler) * MONTH_MS) + 1;
    if (i % 10 === 0) {
      push(n, { type: 'health.summary', source: 'health', subject: nodeSubject(n), ts: t, data: { total: 40, up: 39, down: 1, unknown: 0, window_ms: 60_000 } });
    } else if (i % 97 === 0) {
      push(n, { type: 'service.started', source: 'relay', subject: serviceSubject('relay'), ts: t, data: { service: 'relay', version: '0.1.0', pid: 1000 + (i % 30000) } });
    } else {
      const s = (i >> 2) % 40;
      const down = (i >> 1) % 2 === 0;
      push(n, {
        type: 'health.changed', source: 'health', subject: realServerSubject('web', `10.0.1.${s}:80`), ts: t,
        data: { target: `10.0.1.${s}:80`, check: 'HTTP_GET#0', from: down ? 'up' : 'down', to: down ? 'down' : 'up', reason: down ? 'HTTP 503 on GET /status' : 'HTTP 200 on GET /status' },
      });
    }
  }
  for (const n of NODES) out[n]!.sort((a, b) => a.ts - b.ts);
  return out;
}

/** Writes the three logs into dir (also for profiling by hand). */
export function benchPostmortemFiles(dir: string): string[] {
  const all = history();
  return NODES.map((n) => {
    const path = join(dir, `${n}.db`);
    const log = EventLog.open({ path, node: n });
    const events = all[n]!;
    for (let i = 0; i < events.length; i += 5000) log.appendBatch(events.slice(i, i + 5000));
    log.close();
    return path;
  });
}

function timed(args: string[], runs = 3): { ms: number; bytes: number } {
  const times: number[] = [];
  let bytes = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const out = execFileSync(process.execPath, [CLI, 'postmortem', ...args], { maxBuffer: 1 << 30 });
    times.push(performance.now() - t0);
    bytes = out.length;
  }
  return { ms: median(times), bytes };
}

export async function benchPostmortem(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-postmortem-'));
  try {
    const t0 = performance.now();
    const files = benchPostmortemFiles(dir);
    const made = performance.now() - t0;
    const db = files.flatMap((f) => ['--db', f]);
    const mid = new Date(START + MONTH_MS / 2 + 1000).toISOString();
    const hour = [new Date(START + MONTH_MS / 2).toISOString(), new Date(START + MONTH_MS / 2 + 3_600_000).toISOString()];
    const at = timed([...db, '--vip', 'web', '--at', mid]);
    const window = timed([...db, '--since', hour[0]!, '--until', hour[1]!]);
    const hourHtml = join(dir, 'hour.html');
    const hourHtmlRun = timed([...db, '--since', hour[0]!, '--until', hour[1]!, '--html', hourHtml]);
    const html = join(dir, 'month.html');
    const htmlRun = timed([...db, '--html', html], 1);
    const month = timed([...db], 1);
    printTable(`postmortem over ${TOTAL.toLocaleString('en')} events of three nodes (${FAILOVERS} failovers in a month; logs written in ${(made / 1000).toFixed(1)} s)`, [
      { metric: 'who held web at T, and why (--vip --at), text', value: `${(at.ms / 1000).toFixed(2)} s`, target: '< 2 s', ok: at.ms < 2000 },
      { metric: 'one hour of the month (--since --until), text', value: `${(window.ms / 1000).toFixed(2)} s`, target: '< 2 s', ok: window.ms < 2000 },
      { metric: 'one hour of the month, text and the HTML file (--html)', value: `${(hourHtmlRun.ms / 1000).toFixed(2)} s`, target: '< 5 s', ok: hourHtmlRun.ms < 5000 },
      // Not a target: a report of a whole month reads every event of it (900,000 here).
      { metric: 'the whole month, text and the HTML file', value: `${(htmlRun.ms / 1000).toFixed(2)} s (${(statSync(html).size / 1e6).toFixed(1)} MB of HTML)` },
      { metric: 'the whole month, text only', value: `${(month.ms / 1000).toFixed(2)} s (${(month.bytes / 1e6).toFixed(1)} MB of text)` },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
