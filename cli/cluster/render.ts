// vigil status for a person: the verdict and its problems first, then the node and the
// cluster, one line per fact (pure).
import { isoTime } from '../../shared/time.js';
import type { NodeView } from './node-view.js';
import type { ClusterView, Level, Problem } from './verdict.js';

export interface StatusReport {
  cluster: string;
  node: string;
  at: number;
  level: Level;
  problems: Problem[];
  local: NodeView;
  zookeeper: ClusterView;
}

const ago = (now: number, t: number) => {
  const s = Math.max(0, (now - t) / 1000);
  return s < 90 ? `${s.toFixed(s < 10 ? 1 : 0)} s ago` : s < 5400 ? `${Math.round(s / 60)} min ago` : s < 172800 ? `${Math.round(s / 3600)} h ago` : `${Math.round(s / 86400)} days ago`;
};
const bytes = (n: number) => (n < 1024 * 1024 ? `${(n / 1024).toFixed(0)} KiB` : n < 1024 ** 3 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${(n / 1024 ** 3).toFixed(2)} GiB`);

export function renderStatus(r: StatusReport): string {
  const { local: n, zookeeper: z, at } = r;
  const out: string[] = [`vigil status: cluster ${r.cluster}, node ${r.node}: ${r.level.toUpperCase()} (${isoTime(at)})`];
  for (const p of r.problems) out.push(`  ${p.level === 'critical' ? '!!' : ' !'} ${p.text}`);
  out.push('');
  const label = (s: string) => s.padEnd(11);
  out.push(label('services') + n.services.map((s) => `${s.service} ${s.state}${s.pid !== null && s.state === 'alive' ? ` (pid ${s.pid})` : ''}`).join(', '));
  const fence = n.zk ? `fence session ${n.zk.state} since ${isoTime(n.zk.ts)}` : 'no fence session recorded';
  out.push(label('zookeeper') + (z.reachable ? `reachable; ${fence}; nodes alive: ${z.nodes.join(' ') || 'none'}; relays: ${z.relays.join(' ') || 'none'}` : `UNREACHABLE (${z.error}); ${fence}`));
  if (n.groups.length > 0) out.push('VIP groups');
  for (const g of n.groups) {
    const c = z.groups.find((x) => x.group === g.group);
    const holder = !z.reachable ? 'holder unknown (no ZooKeeper)' : c?.holder ? `held by ${c.holder.node} (epoch ${c.holder.epoch}${c.holder.since ? `, since ${c.holder.since}` : ''})` : 'NO HOLDER';
    const waiting = c && c.waiting.length > 0 ? `; waiting: ${c.waiting.map((w) => `${w.node} (epoch ${w.epoch})`).join(', ')}` : '';
    const here = g.bound ? `; bound here since ${isoTime(g.since!)}` : g.denied ? `; denied to this node ${ago(at, g.denied.ts)}` : '';
    out.push(`  ${g.group.padEnd(9)}${holder}${waiting}${here}`);
    if (g.last_takeover) out.push(`  ${''.padEnd(9)}last taken over here ${ago(at, g.last_takeover.ts)}${g.last_takeover.from ? ` from ${g.last_takeover.from}` : ''}${g.last_takeover.unowned_ms !== null ? `, unowned ${(g.last_takeover.unowned_ms / 1000).toFixed(2)} s` : ''}`);
  }
  if (n.instances.length > 0) out.push('VRRP');
  for (const i of n.instances) {
    const why = i.reason ? ` (${i.reason}${i.detail ? `: ${i.detail}` : ''})` : '';
    out.push(`  ${i.name.padEnd(9)}${i.state}${i.since !== null ? ` since ${isoTime(i.since)}` : ''}${why}`);
    const deducted = i.deductions.map((d) => `${d.name} ${d.weight > 0 ? '+' : ''}${d.weight}`).join(', ');
    out.push(`  ${''.padEnd(9)}priority ${i.priority} (base ${i.base_priority}${deducted ? `; ${deducted}` : ''})`);
    if (i.trackers.length > 0) out.push(`  ${''.padEnd(9)}tracked: ${i.trackers.map((t) => `${t.name} ${t.state}${t.weight !== 0 ? ` (${t.weight > 0 ? '+' : ''}${t.weight})` : ''}`).join(', ')}`);
  }
  if (n.health) out.push(label('health') + `${n.health.total} checks: ${n.health.up} up, ${n.health.down} down, ${n.health.unknown} unknown (summary ${ago(at, n.health.ts)})`);
  if (n.relay.backlog !== null) out.push(label('relay') + `${n.relay.backlog} events waiting for NATS${n.relay.last_failure ? `; last failure ${ago(at, n.relay.last_failure.ts)}: ${n.relay.last_failure.error}` : ''}`);
  out.push(label('log') + `${n.log.path}: ${bytes(n.log.bytes)}, ${n.log.events} events`);
  return out.join('\n') + '\n';
}
