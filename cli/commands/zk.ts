// vigil zk: the ZooKeeper tree vigil keeps for this cluster, decoded (the same data
// zkCli.sh shows, as a table with what each znode means).
import { connectZk, readTree, type Znode } from '../cluster/zk-tree.js';
import { DEFAULT_CONFIG } from '../../shared/config/node.js';
import { commonOptions, parseVerb, loadClusterConfig, secondsOption, type Io } from '../common.js';
import { zkUsage } from '../usage.js';


const options = { ...commonOptions, timeout: { type: 'string', default: '3' } } as const;

const age = (now: number, t: number) => {
  const s = Math.max(0, Math.round((now - t) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : s < 172800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86400)}d`;
};

/** The table a person reads: path, session (ephemeral) or "-", age of its data, meaning (or data). */
export function zkTable(nodes: readonly Znode[], now: number): string {
  const rows = nodes.map((n) => [n.path, n.session ?? '-', age(now, n.mtime), n.meaning || (n.data.length > 0 ? n.data.slice(0, 160) : '')]);
  const head = ['PATH', 'SESSION', 'CHANGED', 'MEANING'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(width[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export async function zkCommand(argv: string[], io: Io): Promise<number> {
  const values = parseVerb(argv, options, zkUsage, io);
  if (!values) return 0;
  const timeout = secondsOption('timeout', values.timeout);
  const { config } = loadClusterConfig(values);
  let client;
  try {
    client = await connectZk(config, { timeoutMs: timeout });
  } catch (err) {
    io.err(`vigil: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    const tree = await readTree(client, config);
    if (values.json) io.out(JSON.stringify({ cluster: config.cluster, znodes: tree }) + '\n');
    else if (tree.length === 0) io.out(`nothing under ${config.zookeeper.root}/${config.cluster} yet (no fence has run)\n`);
    else io.out(zkTable(tree, Date.now()));
    return 0;
  } finally {
    client.close();
  }
}
