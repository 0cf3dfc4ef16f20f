// vigil status: the cluster now, from this node's log and heartbeats and from ZooKeeper,
// with an exit status that says how well (0 ok, 1 degraded, 2 critical), so that it
// serves as a health check. With --service NAME, one service's liveness alone.
import { logPathForNode, nodeNames } from '../../shared/config/index.js';
import { DEFAULT_CONFIG } from '../../shared/config/node.js';
import { EventLog } from '../../shared/eventlog/index.js';
import { zkPaths } from '../../shared/zookeeper/layout.js';
import { SERVICE_NAMES, serviceView, type ServiceName, type ServiceView } from '../../shared/service.js';
import { readNodeView } from '../cluster/node-view.js';
import { renderStatus, type StatusReport } from '../cluster/render.js';
import { clusterFromTree, EXIT_STATUS, unreachable, verdict, type ClusterView } from '../cluster/verdict.js';
import { connectZk, readTree } from '../cluster/zk-tree.js';
import { commonOptions, parseVerb, loadNodeConfig, secondsOption, UsageError, type Io } from '../common.js';
import { statusUsage } from '../usage.js';


const options = {
  ...commonOptions,
  service: { type: 'string' },
  within: { type: 'string', default: '2' },
  watch: { type: 'boolean', default: false },
  interval: { type: 'string', default: '2' },
  timeout: { type: 'string', default: '3' },
} as const;

function printService(io: Io, rows: ServiceView[], json: boolean, node: string | undefined, path: string): number {
  const ok = rows.every((r) => r.state === 'alive');
  if (json) io.out(JSON.stringify({ node: node ?? null, log: path, ok, services: rows.map((r) => ({ ...r, alive: r.state === 'alive' })) }) + '\n');
  else {
    for (const r of rows) {
      const detail = r.state === 'alive' || r.state === 'silent' ? `pid ${r.pid}, last heartbeat ${r.age_ms} ms ago` : r.state === 'stopped' ? `pid ${r.pid} recorded its stop` : 'no heartbeat in this log';
      io.out(`${r.service.padEnd(7)} ${r.state.padEnd(9)} ${detail}\n`);
    }
  }
  return ok ? 0 : 2;
}

export async function statusCommand(argv: string[], io: Io, stop: AbortSignal): Promise<number> {
  const values = parseVerb(argv, options, statusUsage, io);
  if (!values) return 0;
  const within = secondsOption('within', values.within);
  const interval = secondsOption('interval', values.interval);
  const timeout = secondsOption('timeout', values.timeout);
  if (values.service !== undefined && !(SERVICE_NAMES as readonly string[]).includes(values.service)) {
    throw new UsageError(`--service: "${values.service}" is not a service (${SERVICE_NAMES.join(', ')})`);
  }

  // Services' liveness alone, from the log (--db, or the config's log of --node): one with
  // --service, all when a log is named without a configuration (no cluster to ask about).
  if (values.service !== undefined || (values.db !== undefined && values.config === undefined)) {
    const asked = values.service !== undefined ? [values.service as ServiceName] : [...SERVICE_NAMES];
    let path = values.db;
    let node = values.node;
    if (path === undefined) {
      const c = loadNodeConfig(values, '--db PATH or ');
      node = c.node;
      path = logPathForNode(c.config, c.node, c.file);
    }
    const log = EventLog.open({ path, node, readOnly: true });
    try {
      const now = Date.now();
      return printService(io, asked.map((s) => serviceView(s, log.heartbeat(s), now, within)), values.json, node, path);
    } finally {
      log.close();
    }
  }

  const { config, node, file } = loadNodeConfig(values, '');
  const path = values.db ?? logPathForNode(config, node, file);

  const readZooKeeper = async (): Promise<ClusterView> => {
    try {
      const client = await connectZk(config, { timeoutMs: timeout });
      try {
        return clusterFromTree(zkPaths(config).base, await readTree(client, config), Object.keys(config.vip_groups));
      } finally {
        client.close();
      }
    } catch (err) {
      return unreachable((err as Error).message);
    }
  };

  // The node's record and ZooKeeper's tree are read one after the other: a change between
  // the two (the fence joining the lock, say) would pair a new local state with an old
  // tree. Read again, a few times, until the record did not change while the tree was read.
  const once = async (): Promise<StatusReport> => {
    const log = EventLog.open({ path, node, readOnly: true });
    try {
      for (let attempt = 1; ; attempt++) {
        const before = log.lastSeq();
        const zookeeper = await readZooKeeper();
        const at = Date.now();
        const local = readNodeView(log, config, node, at, within);
        if (log.lastSeq() === before || attempt === 3) return { cluster: config.cluster, node, at, ...verdict(local, zookeeper, nodeNames(config)), local, zookeeper };
      }
    } finally {
      log.close();
    }
  };

  let report = await once();
  for (;;) {
    if (values.json) io.out(JSON.stringify(report) + '\n');
    else io.out((values.watch ? '\x1b[H\x1b[2J' : '') + renderStatus(report));
    if (!values.watch) break;
    const woke = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(true), interval);
      stop.addEventListener('abort', () => (clearTimeout(t), resolve(false)), { once: true });
    });
    if (!woke || stop.aborted) break;
    report = await once();
  }
  return EXIT_STATUS[report.level];
}
