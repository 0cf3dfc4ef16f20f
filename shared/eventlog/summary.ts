// One line a person can read, per event; the full payload is in --json. Every type of the
// catalogue has one (the compiler says when a new type lacks it), written against its
// typed data; an event that does not have the shape its type says now (written by another
// version) is shown as its raw payload.
import type { EventData, EventType, StoredEvent } from './catalogue.js';

type Summaries = { [T in EventType]: (d: EventData<T>) => string };

const opt = (v: unknown, f: (v: string) => string): string => (v === undefined || v === null || v === '' ? '' : f(String(v)));
const holder = (h: { node: string; epoch: number } | null) => (h ? `${h.node} (epoch ${h.epoch})` : 'nobody');

const summaries: Summaries = {
  'operator.note': (d) => `${d.author}: ${d.text}`,
  'service.started': (d) => `${d.service} ${d.version} started (pid ${d.pid})`,
  'service.stopped': (d) => `${d.service} stopped (${d.reason}${opt(d.signal, (x) => ` ${x}`)}${opt(d.error, (x) => `: ${x}`)})`,
  'service.signal': (d) => `${d.service} (pid ${d.pid}) got ${d.signal}: ${d.action}`,
  'service.reloaded': (d) => {
    const parts = [['started', d.added], ['stopped', d.removed], ['restarted', d.changed]].filter(([, l]) => l!.length > 0).map(([w, l]) => `${w as string} ${(l as string[]).join(', ')}`);
    return `${d.service} (pid ${d.pid}) reloaded ${d.config}: ${parts.length > 0 ? parts.join('; ') : 'nothing to change'} (${d.unchanged.length} untouched)${d.restart_needed.length > 0 ? `; needs a restart for ${d.restart_needed.join(', ')}` : ''}`;
  },
  'service.reload_refused': (d) => `${d.service} (pid ${d.pid}) refused to reload ${d.config}: ${d.errors.join('; ')}`,
  'service.log_recovered': (d) => `${d.service}: the log accepts writes again; ${d.appended_late} events appended late, ${d.dropped} dropped (${d.error})`,
  'vrrp.state_changed': (d) => `${d.from} -> ${d.to} (${d.reason}${opt(d.detail, (x) => `: ${x}`)}) prio ${d.priority}`,
  'vrrp.priority_changed': (d) => `priority ${d.from} -> ${d.to}: ${d.reason}`,
  'vrrp.higher_priority_seen': (d) => `${d.peer} advertises ${d.peer_priority} > own ${d.own_priority}`,
  'vrrp.group_changed': (d) => `group ${d.group} ${d.from} -> ${d.to}: ${d.detail}`,
  'vrrp.hearing': (d) => `hears ${d.hears.length > 0 ? d.hears.join(', ') : 'no other director'} (own address ${d.address})`,
  'vrrp.bad_packets': (d) => `dropped on ${d.interface} in ${d.window_ms} ms: ${Object.entries(d.counts).map(([k, v]) => `${k}=${v}`).join(' ')}`,
  'fence.zk_state': (d) => `ZooKeeper ${d.state}${opt(d.detail, (x) => `: ${x}`)}${d.failsafe ? ' (failsafe: VIPs kept on the peers\' promises)' : ''}`,
  'fence.lease_candidate': (d) => `${d.action} lock of ${d.group} as ${d.candidate}`,
  'fence.lease_acquired': (d) => `lease of ${d.group} held, epoch ${d.epoch}`,
  'fence.lease_denied': (d) => `lease of ${d.group} denied: held by ${d.holder} (epoch ${d.holder_epoch})`,
  'fence.lease_free': (d) => `lease of ${d.group} free${d.previous ? `: ${d.previous.node} (epoch ${d.previous.epoch}) left the lock` : ' (nobody held it)'}; ${d.successor ? `${d.successor} takes over first` : 'no live successor'}`,
  'fence.lease_outranked': (d) => `lease of ${d.group} held by ${d.holder.node} (epoch ${d.holder.epoch}, priority ${d.holder_priority}), below this node's ${d.priority}`,
  'fence.failsafe': (d) => `failsafe ${d.state} for ${d.group} (epoch ${d.epoch})${d.without_coordinator_ms !== undefined ? ` after ${(d.without_coordinator_ms / 1000).toFixed(1)} s without ZooKeeper` : ''}: ${d.detail}`,
  'fence.gave_way': (d) => `lease of ${d.group} (epoch ${d.epoch}) given to ${d.to}: ${d.heard_by.join(', ')} (${d.heard_by.length} of ${d.directors} directors) hear ${d.to} and not this node`,
  'fence.lease_lost': (d) => `lease of ${d.group} lost (epoch ${d.epoch}): ${d.reason}`,
  'fence.address_observed': (d) => `${d.address} ${d.change} on ${d.interface}, not by this fence${opt(d.detail, (x) => `: ${x}`)}${d.repaired && !d.detail ? ', repaired' : ''}`,
  'vip.bound': (d) => `bound ${d.addresses.map((a) => `${a.address}/${a.prefix} dev ${a.interface}`).join(', ')} (epoch ${d.epoch})`,
  'vip.unbound': (d) => `unbound ${d.addresses.map((a) => a.address).join(', ')} (epoch ${d.epoch}): ${d.reason}`,
  'health.changed': (d) => `${d.check} ${d.target} ${d.from} -> ${d.to}: ${d.reason}`,
  'health.summary': (d) =>
    `${d.total} checks: ${d.up} up, ${d.down} down, ${d.unknown} unknown` +
    (d.probes !== undefined ? `; ${d.probes} probes (${d.failed ?? 0} failed, ${d.timed_out ?? 0} timed out) in ${d.window_ms} ms, late p99 ${d.late_p99_ms ?? 0} ms` : ''),
  'track.changed': (d) => `${d.name} ${d.from} -> ${d.to}: ${d.reason}`,
  'ipvs.changed': (d) => d.line,
  'ipvs.quorum_changed': (d) => `quorum ${d.state}: up weight ${d.up_weight}, quorum ${d.quorum} (hysteresis ${d.hysteresis})${opt(d.sorry_server, (x) => `, sorry server ${x}`)}`,
  'ipvs.availability': (d) => (d.available ? 'the IPVS table can be read and changed again' : `the IPVS table cannot be read or changed: ${d.error ?? 'unknown error'}${opt(d.hint, (x) => ` (${x})`)}`),
  'ipvs.drift': (d) => `drift: ${d.differences.join('; ')}`,
  'relay.delivery_failed': (d) => `delivery to ${d.sink} failed (attempt ${d.attempts}): ${d.error}`,
  'relay.alert': (d) => `${d.severity} ${d.kind}: ${d.summary}`,
  'relay.node_changed': (d) => `${d.service === 'relay' ? 'the relay of ' : 'node '}${d.node} ${d.change} ZooKeeper`,
  'relay.lease_observed': (d) => `lease of ${d.group}: ${holder(d.previous)} -> ${holder(d.holder)}`,
  'relay.service_lost': (d) => `${d.service} (pid ${d.pid}) silent for ${d.silent_ms} ms without a recorded stop`,
  'relay.notify_ran': (d) => `${d.script}: ${d.argv.join(' ')} -> ${d.timed_out ? 'timed out' : d.signal ? d.signal : `exit ${d.exit_code}`} in ${d.duration_ms} ms`,
};

export function summarize(e: Pick<StoredEvent, 'type' | 'data'>): string {
  const f = (summaries as Record<string, ((d: unknown) => string) | undefined>)[e.type];
  try {
    if (f && typeof e.data === 'object' && e.data !== null) return f(e.data);
  } catch {
    // fall through to the raw payload
  }
  return JSON.stringify(e.data);
}
