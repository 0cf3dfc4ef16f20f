// The /metrics page: the text format, the services' snapshots, and the read model of the
// log ("given these stored events, then these values").
import { describe, expect, it } from 'vitest';
import { MetricsModel, type ScrapeInput } from '../../services/relay/metrics-model.js';
import { parseConfig } from '../../shared/config/index.js';
import { renderMetrics, type Family } from '../../shared/metrics/exposition.js';
import { Histogram, MetricsRegistry, parseSnapshot } from '../../shared/metrics/registry.js';
import { scriptedLog } from '../harness/events.js';

const { config } = parseConfig(
  `
cluster: c
nodes: { n1: {}, n2: {} }
zookeeper: { hosts: ["127.0.0.1:2181"] }
vrrp_instances:
  VI_1: { interface: eth0, virtual_router_id: 51, priority: 100, nodes: { n2: { interface: eth1 } } }
  VI_2: { interface: eth0, virtual_router_id: 52, priority: 100 }
vip_groups:
  web: { instance: VI_1, addresses: [10.0.0.31/24, 10.0.0.32/32 dev eth1] }
`,
  'test.yaml',
);

const scrape = (over: Partial<ScrapeInput> = {}): ScrapeInput => ({
  services: [{ service: 'vrrp', alive: true }, { service: 'fence', alive: false }],
  snapshots: [],
  lastSeq: 9,
  backlog: 2,
  ...over,
});

/** name{labels} -> value, as a scraper reads the page. */
function values(families: Family[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of renderMetrics(families).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('text exposition', () => {
  it('says HELP and TYPE for every family, escapes label values and writes histograms cumulatively with +Inf, sum and count', () => {
    const h = new Histogram([0.001, 0.01]);
    for (const v of [0.0005, 0.005, 0.5]) h.observe(v);
    const page = renderMetrics([
      { name: 'keepalived_script_status', samples: [{ labels: { name: 'chk "a"\\b\nc' }, value: 1 }] },
      { name: 'vigil_eventlog_append_seconds', histograms: [h.sample({ service: 'vrrp' })] },
      { name: 'keepalived_up', samples: [] },
    ]);
    expect(page).toBe(
      [
        '# HELP keepalived_script_status Tracked condition (vrrp_script or interface): 1 good, 0 failing',
        '# TYPE keepalived_script_status gauge',
        'keepalived_script_status{name="chk \\"a\\"\\\\b\\nc"} 1',
        '# HELP vigil_eventlog_append_seconds Time to append a batch of events to the event log',
        '# TYPE vigil_eventlog_append_seconds histogram',
        'vigil_eventlog_append_seconds_bucket{service="vrrp",le="0.001"} 1',
        'vigil_eventlog_append_seconds_bucket{service="vrrp",le="0.01"} 2',
        'vigil_eventlog_append_seconds_bucket{service="vrrp",le="+Inf"} 3',
        'vigil_eventlog_append_seconds_sum{service="vrrp"} 0.5055',
        'vigil_eventlog_append_seconds_count{service="vrrp"} 3',
        '# HELP keepalived_up Whether the VRRP service of this node is alive (its heartbeat)',
        '# TYPE keepalived_up gauge',
        '',
      ].join('\n'),
    );
  });
});

describe("a service's in-memory metrics", () => {
  it('round-trip through their stored snapshot; what is not a snapshot is refused', () => {
    const r = new MetricsRegistry();
    r.inc('keepalived_advertisements_sent_total', { iname: 'VI_1', intf: 'eth0', vrid: '51' });
    r.inc('keepalived_advertisements_sent_total', { iname: 'VI_1', intf: 'eth0', vrid: '51' }, 2);
    r.set('vigil_lease_deadline_margin_seconds', {}, 1.5);
    const h = new Histogram([0.01]);
    h.observe(0.002);
    r.attach('vigil_eventlog_append_seconds', { service: 'vrrp' }, h);
    const snap = parseSnapshot(JSON.stringify(r.snapshot()));
    expect(snap?.counters).toEqual([{ name: 'keepalived_advertisements_sent_total', labels: { iname: 'VI_1', intf: 'eth0', vrid: '51' }, value: 3 }]);
    expect(snap?.gauges).toEqual([{ name: 'vigil_lease_deadline_margin_seconds', labels: {}, value: 1.5 }]);
    expect(snap?.histograms[0]).toMatchObject({ buckets: [1], count: 1, sum: 0.002 });
    expect(parseSnapshot('{"counters": 3}')).toBeUndefined();
    expect(parseSnapshot('not json')).toBeUndefined();
    expect(() => r.attach('keepalived_up', {}, h)).toThrow(/not a histogram/);
    r.inc('keepalived_advertisements_sent_total', { iname: 'VI_2', intf: 'eth0', vrid: '52' });
    r.forget({ iname: 'VI_1' });
    expect(r.snapshot().counters.map((c) => c.labels.iname)).toEqual(['VI_2']);
  });
  it("a hot path's counter handle counts with inc(), says each change, and starts again from 0 after a forget", () => {
    const r = new MetricsRegistry();
    let changes = 0;
    r.onChange = () => changes++;
    const labels = { iname: 'VI_1', intf: 'eth0', vrid: '51' };
    const sent = r.counter('keepalived_advertisements_sent_total', labels);
    sent.inc();
    sent.inc(2);
    r.inc('keepalived_advertisements_sent_total', labels);
    sent.inc();
    const value = () => r.snapshot().counters.find((c) => c.labels.iname === 'VI_1')?.value;
    expect(value()).toBe(5);
    expect(changes).toBe(4);
    r.forget({ iname: 'VI_1' });
    expect(value()).toBeUndefined();
    sent.inc();
    expect(value(), 'a new entry, not the forgotten one').toBe(1);
    sent.inc();
    expect(value()).toBe(2);
  });
});

describe('the metrics read model', () => {
  it('starts with every instance INIT, one state series per VIP with its interface for this node, and zero counters', () => {
    const v = values(new MetricsModel(config, 'n2').families(scrape()));
    expect(v.get('keepalived_vrrp_state{iname="VI_1",intf="eth1",vrid="51",ip_address="10.0.0.31/24"}')).toBe(0);
    expect(v.get('keepalived_vrrp_state{iname="VI_1",intf="eth1",vrid="51",ip_address="10.0.0.32/32"}')).toBe(0);
    expect(v.get('keepalived_vrrp_state{iname="VI_2",intf="eth0",vrid="52",ip_address=""}')).toBe(0);
    expect(v.get('keepalived_advertisements_received_total{iname="VI_2",intf="eth0",vrid="52"}')).toBe(0);
    expect(v.get('keepalived_become_master_total{iname="VI_1",intf="eth1",vrid="51"}')).toBe(0);
    expect(v.get('keepalived_up')).toBe(1);
    expect(v.get('vigil_service_up{service="fence"}')).toBe(0);
    expect(v.get('vigil_lease_held{group="web"}')).toBe(0);
    expect(v.get('vigil_ipvs_drift_repairs_total')).toBe(0);
    expect(v.get('vigil_relay_backlog_events')).toBe(2);
    expect(v.get('vigil_eventlog_events')).toBe(9);
  });

  it('counts masterships, leases, failovers, unowned time, checks, scripts and notify runs from the events', () => {
    const ev = scriptedLog('n2');
    const m = new MetricsModel(config, 'n2');
    const events = [
      ev('vrrp.state_changed', 'vrrp:VI_1', { instance: 'VI_1', from: 'INIT', to: 'BACKUP', reason: 'startup', priority: 100 }, { source: 'vrrp' }),
      ev('relay.lease_observed', 'vip:web', { group: 'web', holder: { node: 'n1', epoch: 3 }, previous: null, speaker: 'n1' }),
      ev('vrrp.state_changed', 'vrrp:VI_1', { instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer', priority: 100 }, { source: 'vrrp' }),
      ev('relay.lease_observed', 'vip:web', { group: 'web', holder: null, previous: { node: 'n1', epoch: 3 }, speaker: 'n2' }),
      ev('relay.lease_observed', 'vip:web', { group: 'web', holder: { node: 'n2', epoch: 4 }, previous: null, speaker: 'n2' }),
      ev('vip.bound', 'vip:web', { group: 'web', epoch: 4, addresses: [{ address: '10.0.0.31', prefix: 24, interface: 'eth1' }], valid_lft_s: 1, previous: { node: 'n1', epoch: 3, gone_at: 1_000_000, how: 'lifetime' }, bound_at: 1_001_250 }),
      ev('vrrp.priority_changed', 'vrrp:VI_1', { instance: 'VI_1', from: 100, to: 80, reason: 'chk_haproxy failing: -20' }, { source: 'vrrp' }),
      ev('track.changed', 'track:chk_haproxy', { name: 'chk_haproxy', from: 'ok', to: 'fail', reason: 'exit 1' }),
      ev('fence.zk_state', 'node:n2', { state: 'suspended' }),
      ev('health.changed', 'rs:10.0.0.29:80', { target: '10.0.0.29:80', check: 'HTTP_GET', from: 'up', to: 'down', reason: 'status 500' }),
      ev('relay.notify_ran', 'notify:VI_1', { script: 'notify_master', argv: ['/bin/false'], exit_code: 1, signal: null, timed_out: false, duration_ms: 3, output_tail: '' }),
      ev('ipvs.drift', 'node:n2', { differences: ['-a -t 10.0.0.31:80 -r 10.0.0.29:80'] }),
      ev('vrrp.state_changed', 'vrrp:VI_1', { instance: 'VI_1', from: 'MASTER', to: 'FAULT', reason: 'fault', priority: 80 }, { source: 'vrrp' }),
      ev('vip.unbound', 'vip:web', { group: 'web', epoch: 4, addresses: [], reason: 'VRRP left MASTER' }),
      ev('fence.lease_denied', 'vip:web', { group: 'web', epoch: 5, holder: 'n1', holder_epoch: 6 }),
    ];
    for (const e of events) m.apply(e);
    const v = values(m.families(scrape()));
    const vi1 = 'iname="VI_1",intf="eth1",vrid="51"';
    expect(v.get(`keepalived_vrrp_state{${vi1},ip_address="10.0.0.31/24"}`)).toBe(3);
    expect(v.get(`keepalived_become_master_total{${vi1}}`)).toBe(1);
    expect(v.get(`keepalived_release_master_total{${vi1}}`)).toBe(1);
    expect(v.get('vigil_vrrp_priority{iname="VI_1"}')).toBe(80);
    expect(v.get('keepalived_script_status{name="chk_haproxy"}')).toBe(0);
    expect(v.get('vigil_lease_held{group="web"}')).toBe(0);
    expect(v.get('vigil_lease_epoch{group="web"}')).toBe(4);
    expect(v.get('vigil_lease_denied_total{group="web"}')).toBe(1);
    expect(v.get('vigil_failovers_total{group="web"}')).toBe(1);
    expect(v.get('vigil_vip_unowned_seconds_total{group="web"}')).toBe(1.25);
    expect(v.get('vigil_zookeeper_session{state="suspended"}')).toBe(1);
    expect(v.get('vigil_zookeeper_session{state="connected"}')).toBe(0);
    expect(v.get('vigil_check_up{target="10.0.0.29:80",check="HTTP_GET"}')).toBe(0);
    expect(v.get('vigil_notify_runs_total{script="notify_master",result="failed"}')).toBe(1);
    expect(v.get('vigil_ipvs_drift_repairs_total')).toBe(1);
  });

  it("takes the services' counters from their snapshots, over the zero start", () => {
    const r = new MetricsRegistry();
    r.inc('keepalived_advertisements_received_total', { iname: 'VI_2', intf: 'eth0', vrid: '52' }, 7);
    r.inc('vigil_vrrp_dropped_packets_total', { intf: 'eth0', reason: 'bad_checksum' });
    const v = values(new MetricsModel(config, 'n1').families(scrape({ snapshots: [r.snapshot()] })));
    expect(v.get('keepalived_advertisements_received_total{iname="VI_2",intf="eth0",vrid="52"}')).toBe(7);
    expect(v.get('keepalived_advertisements_received_total{iname="VI_1",intf="eth0",vrid="51"}')).toBe(0);
    expect(v.get('vigil_vrrp_dropped_packets_total{intf="eth0",reason="bad_checksum"}')).toBe(1);
  });
});
