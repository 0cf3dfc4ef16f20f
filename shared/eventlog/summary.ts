// One line a person can read, per event; the full payload is in --json.
import type { StoredEvent } from './catalogue.js';

type Data = Record<string, unknown>;
const s = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

const summaries: Record<string, (d: Data) => string> = {
  'operator.note': (d) => `${s(d.author)}: ${s(d.text)}`,
  'service.started': (d) => `${s(d.service)} ${s(d.version)} started (pid ${s(d.pid)})`,
  'service.stopped': (d) => `${s(d.service)} stopped (${s(d.reason)}${d.signal ? ` ${s(d.signal)}` : ''}${d.error ? `: ${s(d.error)}` : ''})`,
  'vrrp.state_changed': (d) => `${s(d.from)} -> ${s(d.to)} (${s(d.reason)}${d.detail ? `: ${s(d.detail)}` : ''}) prio ${s(d.priority)}`,
  'vrrp.priority_changed': (d) => `priority ${s(d.from)} -> ${s(d.to)}: ${s(d.reason)}`,
  'vrrp.higher_priority_seen': (d) => `${s(d.peer)} advertises ${s(d.peer_priority)} > own ${s(d.own_priority)}`,
  'vrrp.bad_packets': (d) => `dropped on ${s(d.interface)} in ${s(d.window_ms)} ms: ${Object.entries((d.counts ?? {}) as Data).map(([k, v]) => `${k}=${s(v)}`).join(' ')}`,
  'fence.zk_state': (d) => `ZooKeeper ${s(d.state)}${d.detail ? `: ${s(d.detail)}` : ''}`,
  'fence.lease_candidate': (d) => `${s(d.action)} lock of ${s(d.group)} as ${s(d.candidate)}`,
  'fence.lease_acquired': (d) => `lease of ${s(d.group)} held, epoch ${s(d.epoch)}`,
  'fence.lease_denied': (d) => `lease of ${s(d.group)} denied: held by ${s(d.holder)} (epoch ${s(d.holder_epoch)})`,
  'fence.lease_lost': (d) => `lease of ${s(d.group)} lost (epoch ${s(d.epoch)}): ${s(d.reason)}`,
  'fence.address_observed': (d) => `${s(d.address)} ${s(d.change)} on ${s(d.interface)} by someone else${d.repaired ? ', repaired' : ''}`,
  'vip.bound': (d) => `bound ${((d.addresses ?? []) as Data[]).map((a) => `${s(a.address)}/${s(a.prefix)} dev ${s(a.interface)}`).join(', ')} (epoch ${s(d.epoch)})`,
  'vip.unbound': (d) => `unbound ${((d.addresses ?? []) as Data[]).map((a) => s(a.address)).join(', ')} (epoch ${s(d.epoch)}): ${s(d.reason)}`,
  'health.changed': (d) => `${s(d.check)} ${s(d.target)} ${s(d.from)} -> ${s(d.to)}: ${s(d.reason)}`,
  'health.summary': (d) =>
    `${s(d.total)} checks: ${s(d.up)} up, ${s(d.down)} down, ${s(d.unknown)} unknown` +
    (d.probes !== undefined ? `; ${s(d.probes)} probes (${s(d.failed)} failed, ${s(d.timed_out)} timed out) in ${s(d.window_ms)} ms, late p99 ${s(d.late_p99_ms)} ms` : ''),
  'track.changed': (d) => `${s(d.name)} ${s(d.from)} -> ${s(d.to)}: ${s(d.reason)}`,
  'ipvs.changed': (d) => s(d.line),
  'ipvs.drift': (d) => `drift: ${((d.differences ?? []) as unknown[]).map(s).join('; ')}`,
  'relay.delivery_failed': (d) => `delivery to ${s(d.sink)} failed (attempt ${s(d.attempts)}): ${s(d.error)}`,
  'ipvs.quorum_changed': (d) => `quorum ${s(d.state)}: up weight ${s(d.up_weight)}, quorum ${s(d.quorum)} (hysteresis ${s(d.hysteresis)})${d.sorry_server ? `, sorry server ${s(d.sorry_server)}` : ''}`,
  'relay.alert': (d) => `${s(d.severity)} ${s(d.kind)}: ${s(d.summary)}`,
  'relay.node_changed': (d) => `node ${s(d.node)} ${s(d.change)} ZooKeeper`,
  'relay.lease_observed': (d) => {
    const who = (h: unknown) => (h ? `${s((h as Data).node)} (epoch ${s((h as Data).epoch)})` : 'nobody');
    return `lease of ${s(d.group)}: ${who(d.previous)} -> ${who(d.holder)}`;
  },
  'relay.service_lost': (d) => `${s(d.service)} (pid ${s(d.pid)}) silent for ${s(d.silent_ms)} ms without a recorded stop`,
  'relay.notify_ran': (d) => `${s(d.script)}: ${((d.argv ?? []) as unknown[]).map(s).join(' ')} -> ${d.timed_out ? 'timed out' : d.signal ? s(d.signal) : `exit ${s(d.exit_code)}`} in ${s(d.duration_ms)} ms`,
};

export function summarize(e: Pick<StoredEvent, 'type' | 'data'>): string {
  const f = summaries[e.type];
  const data = (typeof e.data === 'object' && e.data !== null ? e.data : {}) as Data;
  try {
    if (f) return f(data);
  } catch {
    // fall through to the raw payload
  }
  return JSON.stringify(e.data);
}
