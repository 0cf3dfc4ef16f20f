// vigil status: is each service of this node alive, from the heartbeats in its log (every
// service records one every 100 ms; a stopped one records that it is gone). With
// --service NAME, one service alone: the exit status makes it a compose or systemd health
// check. (The cluster view of ZooKeeper owners and VRRP states comes with the operate issue.)
import { logPathForNode } from '../../shared/config/index.js';
import { DEFAULT_CONFIG } from '../../shared/config/node.js';
import { EventLog } from '../../shared/eventlog/index.js';
import { commonOptions, loadNodeConfig, parse, UsageError, type Io } from '../common.js';
import { SERVICES } from './run.js';

export const statusUsage = `vigil status [--service NAME] [--within SECONDS] [--json]
                                   whether each service of this node is alive (its heartbeat in the log)
  --service NAME           only this one (vrrp, fence, health, ipvs, relay): a health check
  --within SECONDS         how recent a heartbeat must be (default 2)
Exit status 0 when every service asked about is alive, 2 when one is not.
Where: --config FILE (default $VIGIL_CONFIG, ${DEFAULT_CONFIG}) and --node, or --db PATH.`;

const options = { ...commonOptions, service: { type: 'string' }, within: { type: 'string', default: '2' } } as const;

type Service = (typeof SERVICES)[number];

export interface ServiceStatus {
  service: Service;
  alive: boolean;
  pid: number | null;
  /** ms since its last heartbeat; null when it never ran or recorded its stop */
  age_ms: number | null;
  state: 'alive' | 'silent' | 'stopped' | 'never ran';
}

/** A service's state from its heartbeat row (ts 0: it recorded its stop). */
export function serviceStatus(service: Service, hb: { pid: number; ts: number } | undefined, now: number, withinMs: number): ServiceStatus {
  if (!hb) return { service, alive: false, pid: null, age_ms: null, state: 'never ran' };
  if (hb.ts === 0) return { service, alive: false, pid: hb.pid, age_ms: null, state: 'stopped' };
  const age = Math.max(0, now - hb.ts);
  const alive = age <= withinMs;
  return { service, alive, pid: hb.pid, age_ms: age, state: alive ? 'alive' : 'silent' };
}

export function statusCommand(argv: string[], io: Io): number {
  const { values, positionals } = parse(argv, options);
  if (values.help) {
    io.out(statusUsage + '\n');
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected "${positionals[0]}"\n${statusUsage}`);
  const within = Number(values.within);
  if (!Number.isFinite(within) || within <= 0) throw new UsageError(`--within: "${values.within}" is not a number of seconds above 0`);
  if (values.service !== undefined && !(SERVICES as readonly string[]).includes(values.service)) {
    throw new UsageError(`--service: "${values.service}" is not a service (${SERVICES.join(', ')})`);
  }
  const asked = values.service !== undefined ? [values.service as Service] : [...SERVICES];
  let path = values.db;
  let node = values.node;
  if (path === undefined) {
    const c = loadNodeConfig(values, '--db PATH or ');
    path = logPathForNode(c.config, c.node, c.file);
    node = c.node;
  }
  const log = EventLog.open({ path, node, readOnly: true });
  let rows: ServiceStatus[];
  try {
    const now = Date.now();
    rows = asked.map((s) => serviceStatus(s, log.heartbeat(s), now, within * 1000));
  } finally {
    log.close();
  }
  const ok = rows.every((r) => r.alive);
  if (values.json) io.out(JSON.stringify({ node: node ?? null, log: path, ok, services: rows }) + '\n');
  else {
    for (const r of rows) {
      const detail = r.state === 'alive' || r.state === 'silent' ? `pid ${r.pid}, last heartbeat ${r.age_ms} ms ago` : r.state === 'stopped' ? `pid ${r.pid} recorded its stop` : 'no heartbeat in this log';
      io.out(`${r.service.padEnd(7)} ${r.state.padEnd(9)} ${detail}\n`);
    }
  }
  return ok ? 0 : 2;
}
