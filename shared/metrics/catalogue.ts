// Every metric vigil exposes, its type, help and labels: the one place a name is written.
// The keepalived_* families keep the names and labels of the widely used keepalived
// exporter (mehdy/keepalived-exporter), so that its dashboards and alert rules keep working.
export type MetricType = 'counter' | 'gauge' | 'histogram';

interface MetricDef {
  type: MetricType;
  help: string;
  labels: readonly string[];
}
const def = <T extends MetricType>(type: T, help: string, ...labels: string[]): { type: T; help: string; labels: readonly string[] } => ({ type, help, labels });
const VRRP = ['iname', 'intf', 'vrid'] as const;
const vrrpCounter = (help: string) => def('counter', help, ...VRRP);

export const METRICS = {
  keepalived_up: def('gauge', 'Whether the VRRP service of this node is alive (its heartbeat)'),
  keepalived_vrrp_state: def('gauge', 'State of a VRRP instance: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT; one series per virtual address', 'iname', 'intf', 'vrid', 'ip_address'),
  keepalived_advertisements_received_total: vrrpCounter('Advertisements received'),
  keepalived_advertisements_sent_total: vrrpCounter('Advertisements sent'),
  keepalived_become_master_total: vrrpCounter('Became master'),
  keepalived_release_master_total: vrrpCounter('Released master'),
  keepalived_priority_zero_received_total: vrrpCounter('Priority zero received'),
  keepalived_priority_zero_sent_total: vrrpCounter('Priority zero sent'),
  keepalived_ip_ttl_errors_total: vrrpCounter('TTL errors'),
  keepalived_packet_length_errors_total: vrrpCounter('Packet length errors'),
  keepalived_advertisements_interval_errors_total: vrrpCounter('Advertisement interval errors'),
  keepalived_invalid_type_received_total: vrrpCounter('Invalid type errors'),
  keepalived_address_list_errors_total: vrrpCounter('Address list errors'),
  keepalived_authentication_invalid_total: vrrpCounter('Authentication invalid'),
  keepalived_authentication_mismatch_total: vrrpCounter('Authentication mismatch'),
  keepalived_authentication_failure_total: vrrpCounter('Authentication failure'),
  keepalived_script_status: def('gauge', 'Tracked condition (vrrp_script or interface): 1 good, 0 failing', 'name'),

  vigil_service_up: def('gauge', 'Whether a vigil service of this node is alive (heartbeat within its liveness timeout)', 'service'),
  vigil_vrrp_priority: def('gauge', 'Effective priority of a VRRP instance after tracked conditions', 'iname'),
  vigil_vrrp_dropped_packets_total: def('counter', 'VRRP packets dropped before any instance could be named (malformed, unknown VRID)', 'intf', 'reason'),
  vigil_lease_held: def('gauge', 'Whether this node holds the lease of a VIP group (its addresses bound)', 'group'),
  vigil_lease_epoch: def('gauge', 'Epoch (fencing token) of the last lease this node held for a VIP group', 'group'),
  vigil_lease_denied_total: def('counter', 'Times this node was VRRP MASTER but another node held the lease (split brain averted)', 'group'),
  vigil_failovers_total: def('counter', 'Lease of a VIP group passed from one node to another, as this node saw it', 'group'),
  vigil_vip_unowned_seconds_total: def('counter', 'Seconds a VIP group had no holder before this node took it (previous holder gone to this node bound)', 'group'),
  vigil_zookeeper_session: def('gauge', "This node's ZooKeeper session as its fence sees it: 1 for the current state", 'state'),
  vigil_lease_deadline_margin_seconds: def('gauge', "Time left before the fence's lease deadline at its last answered ZooKeeper heartbeat (to 10 ms: smaller moves are jitter and leave it as it is)"),
  vigil_eventlog_append_seconds: def('histogram', 'Time to append a batch of events to the event log', 'service'),
  vigil_eventlog_events: def('gauge', 'Events in this node\'s log (its last sequence number)'),
  vigil_relay_backlog_events: def('gauge', 'Events not yet acknowledged by NATS JetStream'),
  vigil_check_up: def('gauge', 'A real server check: 1 up, 0 down, -1 unknown', 'target', 'check'),
  vigil_ipvs_drift_repairs_total: def('counter', 'Times the kernel IPVS table was found changed by someone else and repaired'),
  vigil_ipvs_changes_total: def('counter', 'Changes applied to the kernel IPVS table', 'op'),
  vigil_notify_runs_total: def('counter', 'Notify scripts run, by configuration key and result (ok, failed, timed_out)', 'script', 'result'),
  vigil_alerts_total: def('counter', 'Alerts raised by this node', 'severity', 'kind'),
} as const satisfies Record<string, MetricDef>;

export type MetricName = keyof typeof METRICS;
export type CounterName = { [K in MetricName]: (typeof METRICS)[K]['type'] extends 'counter' ? K : never }[MetricName];
export type GaugeName = { [K in MetricName]: (typeof METRICS)[K]['type'] extends 'gauge' ? K : never }[MetricName];

/** Upper bounds of the append latency histogram, seconds. */
export const APPEND_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;
