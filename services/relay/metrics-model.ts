// The node's /metrics as a read model of its log (pure): what the log says (states, lease
// changes, checks, notify runs) folded event by event, plus, at each scrape, what the
// services count in memory (their stored snapshots) and whether they are alive.
import { instancesForNode, parseVipAddress, type VigilConfig } from '../../shared/config/index.js';
import { isEvent, type EventType, type StoredEvent } from '../../shared/eventlog/index.js';
import { METRICS, type MetricName } from '../../shared/metrics/catalogue.js';
import type { Family, HistogramSample, Labels, Sample } from '../../shared/metrics/exposition.js';
import { isMetricName, type MetricsSnapshot } from '../../shared/metrics/registry.js';

/** keepalived-exporter's numbers for the VRRP states (STOPPED reads as INIT: not running). */
const STATE_NUMBER: Record<string, number> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3, STOPPED: 0 };
const CHECK_NUMBER: Record<string, number> = { up: 1, down: 0, unknown: -1 };
const ZK_STATES = ['connected', 'suspended', 'lost', 'expired'] as const;
/** What the vrrp service counts per instance in memory (the rest of keepalived's statistics come from the log). */
const VRRP_STATISTICS = [
  'keepalived_advertisements_received_total', 'keepalived_advertisements_sent_total', 'keepalived_priority_zero_received_total', 'keepalived_priority_zero_sent_total',
  'keepalived_ip_ttl_errors_total', 'keepalived_packet_length_errors_total', 'keepalived_advertisements_interval_errors_total', 'keepalived_invalid_type_received_total',
  'keepalived_address_list_errors_total', 'keepalived_authentication_invalid_total', 'keepalived_authentication_mismatch_total', 'keepalived_authentication_failure_total',
] as const satisfies readonly MetricName[];

interface Instance {
  labels: { iname: string; intf: string; vrid: string };
  addresses: string[];
  state: string;
  priority: number | undefined;
  becameMaster: number;
  releasedMaster: number;
}

interface Group {
  held: boolean;
  epoch: number | undefined;
  denied: number;
  failovers: number;
  unownedMs: number;
  lastHolder: string | undefined;
}

export interface ScrapeInput {
  /** Each service of this node and whether it is alive now. */
  services: readonly { service: string; alive: boolean }[];
  /** The services' stored in-memory counters. */
  snapshots: readonly MetricsSnapshot[];
  lastSeq: number;
  /** Events not yet in NATS; undefined when the node has no NATS. */
  backlog: number | undefined;
}

export class MetricsModel {
  static readonly TYPES: readonly EventType[] = [
    'vrrp.state_changed', 'vrrp.priority_changed', 'track.changed', 'fence.zk_state', 'fence.lease_denied', 'vip.bound', 'vip.unbound',
    'relay.lease_observed', 'health.changed', 'ipvs.changed', 'ipvs.drift', 'relay.notify_ran', 'relay.alert',
  ];

  private readonly instances = new Map<string, Instance>();
  private readonly groups = new Map<string, Group>();
  private readonly tracks = new Map<string, boolean>();
  private readonly checks = new Map<string, { target: string; check: string; state: string }>();
  private readonly counts = new Map<string, { name: MetricName; labels: Labels; value: number }>();
  private zk: string | undefined;

  constructor(config: VigilConfig, node: string) {
    for (const vi of instancesForNode(config, node)) {
      const addresses = Object.values(config.vip_groups).filter((g) => g.instance === vi.name).flatMap((g) => g.addresses.map((a) => {
        const p = parseVipAddress(a);
        return `${p.address}/${p.prefix}`;
      }));
      this.instances.set(vi.name, { labels: { iname: vi.name, intf: vi.interface, vrid: String(vi.virtual_router_id) }, addresses, state: 'INIT', priority: undefined, becameMaster: 0, releasedMaster: 0 });
    }
    this.count('vigil_ipvs_drift_repairs_total', {}, 0);
    for (const g of Object.keys(config.vip_groups)) this.groups.set(g, { held: false, epoch: undefined, denied: 0, failovers: 0, unownedMs: 0, lastHolder: undefined });
  }

  private count(name: MetricName, labels: Labels, n = 1): void {
    const k = `${name}${JSON.stringify(labels)}`;
    const c = this.counts.get(k);
    if (c) c.value += n;
    else this.counts.set(k, { name, labels, value: n });
  }

  apply(e: StoredEvent): void {
    if (isEvent(e, 'vrrp.state_changed')) {
      const i = this.instances.get(e.data.instance);
      if (!i) return;
      if (e.data.to === 'MASTER' && e.data.from !== 'MASTER') i.becameMaster += 1;
      if (e.data.from === 'MASTER' && e.data.to !== 'MASTER') i.releasedMaster += 1;
      i.state = e.data.to;
      i.priority = e.data.priority;
    } else if (isEvent(e, 'vrrp.priority_changed')) {
      const i = this.instances.get(e.data.instance);
      if (i) i.priority = e.data.to;
    } else if (isEvent(e, 'track.changed')) {
      if (e.data.to === 'unknown') this.tracks.delete(e.data.name);
      else this.tracks.set(e.data.name, e.data.to === 'ok');
    } else if (isEvent(e, 'fence.zk_state')) {
      this.zk = e.data.state;
    } else if (isEvent(e, 'fence.lease_denied')) {
      const g = this.groups.get(e.data.group);
      if (g) g.denied += 1;
    } else if (isEvent(e, 'vip.bound')) {
      const g = this.groups.get(e.data.group);
      if (!g) return;
      g.held = true;
      g.epoch = e.data.epoch;
      const p = e.data.previous;
      if (p) g.unownedMs += Math.max(0, (e.data.bound_at ?? e.ts) - p.gone_at);
    } else if (isEvent(e, 'vip.unbound')) {
      const g = this.groups.get(e.data.group);
      if (g) g.held = false;
    } else if (isEvent(e, 'relay.lease_observed')) {
      const g = this.groups.get(e.data.group);
      const holder = e.data.holder?.node;
      if (!g || holder === undefined) return;
      if (g.lastHolder !== undefined && g.lastHolder !== holder) g.failovers += 1;
      g.lastHolder = holder;
    } else if (isEvent(e, 'health.changed')) {
      this.checks.set(`${e.data.target}\u0000${e.data.check}`, { target: e.data.target, check: e.data.check, state: e.data.to });
    } else if (isEvent(e, 'ipvs.changed')) {
      this.count('vigil_ipvs_changes_total', { op: e.data.op });
    } else if (isEvent(e, 'ipvs.drift')) {
      this.count('vigil_ipvs_drift_repairs_total', {});
    } else if (isEvent(e, 'relay.notify_ran')) {
      this.count('vigil_notify_runs_total', { script: e.data.script, result: e.data.timed_out ? 'timed_out' : e.data.exit_code === 0 ? 'ok' : 'failed' });
    } else if (isEvent(e, 'relay.alert')) {
      this.count('vigil_alerts_total', { severity: e.data.severity, kind: e.data.kind });
    }
  }

  families(input: ScrapeInput): Family[] {
    const samples = new Map<MetricName, Sample[]>();
    const histograms = new Map<MetricName, HistogramSample[]>();
    const add = (name: MetricName, labels: Labels, value: number) => {
      const list = samples.get(name) ?? [];
      list.push({ labels, value });
      samples.set(name, list);
    };
    const vrrpAlive = input.services.find((s) => s.service === 'vrrp')?.alive ?? false;
    add('keepalived_up', {}, vrrpAlive ? 1 : 0);
    for (const i of this.instances.values()) {
      const state = STATE_NUMBER[i.state] ?? 0;
      if (i.addresses.length === 0) add('keepalived_vrrp_state', { ...i.labels, ip_address: '' }, state);
      for (const a of i.addresses) add('keepalived_vrrp_state', { ...i.labels, ip_address: a }, state);
      add('keepalived_become_master_total', i.labels, i.becameMaster);
      add('keepalived_release_master_total', i.labels, i.releasedMaster);
      if (i.priority !== undefined) add('vigil_vrrp_priority', { iname: i.labels.iname }, i.priority);
    }
    for (const [name, ok] of [...this.tracks].sort()) add('keepalived_script_status', { name }, ok ? 1 : 0);
    for (const s of input.services) add('vigil_service_up', { service: s.service }, s.alive ? 1 : 0);
    for (const [group, g] of this.groups) {
      add('vigil_lease_held', { group }, g.held ? 1 : 0);
      if (g.epoch !== undefined) add('vigil_lease_epoch', { group }, g.epoch);
      add('vigil_lease_denied_total', { group }, g.denied);
      add('vigil_failovers_total', { group }, g.failovers);
      add('vigil_vip_unowned_seconds_total', { group }, g.unownedMs / 1000);
    }
    if (this.zk !== undefined) for (const s of ZK_STATES) add('vigil_zookeeper_session', { state: s }, this.zk === s ? 1 : 0);
    add('vigil_eventlog_events', {}, input.lastSeq);
    if (input.backlog !== undefined) add('vigil_relay_backlog_events', {}, input.backlog);
    for (const c of this.checks.values()) add('vigil_check_up', { target: c.target, check: c.check }, CHECK_NUMBER[c.state] ?? -1);
    for (const c of this.counts.values()) add(c.name, c.labels, c.value);
    // What the services count in memory: keepalived's per-instance statistics start at 0 for
    // every instance (an exporter's dashboards expect every series), then the snapshots.
    const fromServices = new Map<string, Sample & { name: MetricName }>();
    for (const i of this.instances.values()) {
      for (const name of VRRP_STATISTICS) fromServices.set(`${name}${JSON.stringify(i.labels)}`, { name, labels: i.labels, value: 0 });
    }
    for (const snap of input.snapshots) {
      for (const c of [...snap.counters, ...snap.gauges]) {
        if (isMetricName(c.name)) fromServices.set(`${c.name}${JSON.stringify(c.labels)}`, { name: c.name, labels: c.labels, value: c.value });
      }
      for (const h of snap.histograms) {
        if (!isMetricName(h.name)) continue;
        const list = histograms.get(h.name) ?? [];
        list.push(h);
        histograms.set(h.name, list);
      }
    }
    for (const s of fromServices.values()) add(s.name, s.labels, s.value);
    return (Object.keys(METRICS) as MetricName[]).flatMap((name): Family[] => {
      if (METRICS[name].type === 'histogram') return [{ name, histograms: histograms.get(name) ?? [] }];
      return [{ name, samples: samples.get(name) ?? [] }];
    });
  }
}
