// The cluster configuration: one YAML file per cluster. Names follow keepalived's
// (vrrp_instance, vrrp_script, virtual_server, real_server, checkers) so that a
// keepalived.conf maps onto it field by field. Times are in seconds, as in keepalived.
import { z } from 'zod';

const identifier = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be letters, digits, "_", "." or "-" (at most 63), starting with a letter or digit');
const ipv4 = z.ipv4({ error: 'must be an IPv4 address' });
const port = z.number().int().min(1).max(65535);
const seconds = z.number().positive();
/** A nice value, as nice(1) and keepalived take it. */
const nice = z.number().int().min(-20).max(19);
const argv = z.array(z.string().min(1)).min(1, 'must be an argv list, e.g. ["/usr/local/bin/notify", "arg"] (never a shell string)');
const hostPort = z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'must be host:port');

export const cidrAddress = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, 'must be an IPv4 address with a prefix length, e.g. 10.0.0.31/24').refine((s) => {
  const [ip, prefix] = s.split('/');
  return z.ipv4().safeParse(ip).success && Number(prefix) <= 32;
}, 'must be a valid IPv4 address and a prefix length of at most 32');

const vipAddress = z.union([
  // keepalived's virtual_ipaddress syntax: "10.0.0.31/24 dev eth0 label eth0:vip"
  z.string().regex(/^\S+\/\d+(\s+dev\s+\S+)?(\s+label\s+\S+)?$/, 'must read "<ip>/<prefix> [dev <interface>] [label <label>]"'),
  z.strictObject({ address: cidrAddress, dev: z.string().min(1).optional(), label: z.string().min(1).optional() }),
]);

const weighted = (nameSchema: z.ZodString) => z.union([nameSchema, z.strictObject({ name: nameSchema, weight: z.number().int().min(-253).max(253).optional() })]);

export const trackScriptSchema = z.strictObject({
  script: argv,
  interval: seconds.default(1),
  timeout: seconds.optional(),
  weight: z.number().int().min(-253).max(253).default(0),
  rise: z.number().int().min(1).default(1),
  fall: z.number().int().min(1).default(1),
  init_fail: z.boolean().default(false),
  user: z.string().min(1).optional(),
});

/** Conditions an instance (or a sync group, for all its members) tracks, with keepalived's weights. */
const tracking = {
  track_interface: z.array(weighted(z.string().min(1).max(15))).default([]),
  track_script: z.array(weighted(identifier)).default([]),
  /** vigil: a virtual server's quorum, as this node's health checks see it (weight 0: FAULT while lost). */
  track_virtual_server: z.array(weighted(identifier)).default([]),
};

const instanceFields = {
  interface: z.string().min(1).max(15),
  virtual_router_id: z.number().int().min(1).max(255),
  priority: z.number().int().min(1).max(255).default(100),
  state: z.enum(['MASTER', 'BACKUP']).default('BACKUP'),
  version: z.union([z.literal(2), z.literal(3)]).default(2),
  advert_int: seconds.default(1),
  nopreempt: z.boolean().default(false),
  preempt_delay: z.number().min(0).max(1000).default(0),
  down_timer_adverts: z.number().int().min(1).max(100).default(3),
  authentication: z.strictObject({ auth_type: z.literal('PASS'), auth_pass: z.string().min(1).max(8, 'must be at most 8 characters (RFC 3768)') }).optional(),
  unicast_src_ip: ipv4.optional(),
  unicast_peer: z.array(ipv4).default([]),
  /**
   * keepalived's check_unicast_src: with unicast peers, drop adverts from any other source.
   * keepalived defaults to off; vigil defaults to on when unicast_peer is set (an advert
   * from a host that is not a peer can only be a mistake or a forgery); false turns it off.
   */
  check_unicast_src: z.boolean().optional(),
  ...tracking,
  garp_master_delay: z.number().min(0).default(5),
  garp_master_repeat: z.number().int().min(1).default(5),
  garp_master_refresh: z.number().min(0).default(0),
  garp_master_refresh_repeat: z.number().int().min(1).default(1),
  notify: argv.optional(),
  notify_master: argv.optional(),
  notify_backup: argv.optional(),
  notify_fault: argv.optional(),
  notify_stop: argv.optional(),
};

/** Fields a node may set differently from the others (keepalived's per-node files differ here). */
const perNodeFields = z.strictObject({
  interface: instanceFields.interface.optional(),
  priority: z.number().int().min(1).max(255).optional(),
  state: z.enum(['MASTER', 'BACKUP']).optional(),
  unicast_src_ip: ipv4.optional(),
  unicast_peer: z.array(ipv4).optional(),
  nopreempt: z.boolean().optional(),
});

export const vrrpInstanceSchema = z.strictObject({ ...instanceFields, nodes: z.record(identifier, perNodeFields).default({}) });

export const vrrpSyncGroupSchema = z.strictObject({
  group: z.array(identifier).min(1),
  /** Tracked conditions of the whole group: they apply to every member. */
  ...tracking,
  /** keepalived: members' own tracking weights are set to 0 (a failure is a FAULT of the group) unless this is set. */
  sync_group_tracking_weight: z.boolean().default(false),
  notify: argv.optional(),
  notify_master: argv.optional(),
  notify_backup: argv.optional(),
  notify_fault: argv.optional(),
  notify_stop: argv.optional(),
});

export const vipGroupSchema = z.strictObject({
  /** The VRRP instance whose MASTER state makes this node a candidate for the lease. */
  instance: identifier,
  addresses: z.array(vipAddress).min(1),
});

const checkCommon = {
  connect_ip: ipv4.optional(),
  connect_port: port.optional(),
  bindto: ipv4.optional(),
  bind_port: port.optional(),
  connect_timeout: seconds.default(5),
  retry: z.number().int().min(0).default(1),
  delay_before_retry: seconds.default(1),
  delay_loop: seconds.optional(),
  warmup: seconds.optional(),
  alpha: z.boolean().optional(),
  rise: z.number().int().min(1).default(1),
  fall: z.number().int().min(1).default(1),
};

/** A status code, or a range of them as keepalived writes it ("200-299"). */
const statusCode = z.union([
  z.number().int().min(100).max(599),
  z.string().regex(/^[1-5]\d\d-[1-5]\d\d$/, 'must be a status code (200) or a range of them (200-299)').refine((r) => {
    const [lo, hi] = r.split('-').map(Number);
    return lo! <= hi!;
  }, 'a range must go up (200-299)'),
]);
const statusCodes = z.union([statusCode, z.array(statusCode).min(1)]);
const httpUrl = z.strictObject({
  path: z.string().startsWith('/', 'must start with "/"'),
  status_code: statusCodes.default('200-299'), // keepalived's default: any 2xx
  digest: z.string().regex(/^[0-9a-f]{32}$/i, 'must be an MD5 hex digest (32 characters)').optional(),
  regex: z
    .string()
    .min(1)
    .refine((re) => {
      try {
        new RegExp(re);
        return true;
      } catch {
        return false;
      }
    }, 'is not a valid regular expression')
    .optional(),
  regex_no_match: z.boolean().default(false),
});
const httpCheck = {
  ...checkCommon,
  url: z.array(httpUrl).min(1),
  virtualhost: z.string().min(1).optional(),
  http_protocol: z.enum(['1.0', '1.1']).default('1.1'),
};

export const checkSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('TCP_CHECK'), ...checkCommon }),
  z.strictObject({ type: z.literal('HTTP_GET'), ...httpCheck }),
  z.strictObject({
    type: z.literal('SSL_GET'),
    ...httpCheck,
    verify: z.boolean().default(false),
    ca_file: z.string().min(1).optional(),
    sni: z.string().min(1).optional(),
  }),
  z.strictObject({
    type: z.literal('DNS_CHECK'),
    ...checkCommon,
    dns_type: z.enum(['A', 'AAAA', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'PTR', 'SRV']).default('SOA'),
    dns_name: z.string().min(1).default('.'),
    expect: z.array(z.string().min(1)).optional(),
  }),
  z.strictObject({
    type: z.literal('MISC_CHECK'),
    ...checkCommon,
    misc_path: argv,
    misc_timeout: seconds.optional(),
    misc_dynamic: z.boolean().default(false),
    user: z.string().min(1).optional(),
  }),
  z.strictObject({ type: z.literal('PING_CHECK'), ...checkCommon }),
]);

export const realServerSchema = z.strictObject({
  ip: ipv4,
  port: port.optional(),
  weight: z.number().int().min(0).max(65535).default(1),
  inhibit_on_failure: z.boolean().optional(),
  notify_up: argv.optional(),
  notify_down: argv.optional(),
  checks: z.array(checkSchema).default([]),
});

const sorryServer = z.strictObject({ ip: ipv4, port: port.optional() });

/** IPVS schedulers, forwarding methods and protocols, as keepalived names them. */
export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'sh', 'mh', 'dh', 'sed', 'nq', 'fo', 'ovf', 'twos'] as const;
export const LB_KINDS = ['NAT', 'DR', 'TUN'] as const;
export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

export const virtualServerSchema = z.strictObject({
  ip: ipv4.optional(),
  port: port.optional(),
  fwmark: z.number().int().min(1).max(0xffffffff).optional(),
  group: identifier.optional(),
  protocol: z.enum(PROTOCOLS).default('TCP'),
  lb_algo: z.enum(SCHEDULERS).default('wlc'),
  lb_kind: z.enum(LB_KINDS).default('NAT'),
  /** Seconds; 0 or absent: no persistence (as keepalived reads 0). */
  persistence_timeout: z.number().int().min(0).optional(),
  persistence_granularity: ipv4.optional(),
  quorum: z.number().int().min(1).default(1),
  hysteresis: z.number().int().min(0).default(0),
  quorum_up: argv.optional(),
  quorum_down: argv.optional(),
  sorry_server: sorryServer.optional(),
  sorry_server_inhibit: z.boolean().default(false),
  inhibit_on_failure: z.boolean().default(false),
  alpha: z.boolean().default(false),
  omega: z.boolean().default(false),
  delay_loop: seconds.default(6),
  virtualhost: z.string().min(1).optional(),
  real_servers: z.array(realServerSchema).default([]),
});

const vsgMember = z.union([
  z.strictObject({ ip: ipv4, port: port.optional() }),
  z.strictObject({ fwmark: z.number().int().min(1).max(0xffffffff) }),
]);

export const configSchema = z.strictObject({
  cluster: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and "-" (it is part of ZooKeeper paths and NATS subjects)'),
  /** fast: the documented fast settings (shared/config/profile.ts) wherever the file sets none. */
  profile: z.enum(['default', 'fast']).default('default'),
  nodes: z
    .record(identifier, z.strictObject({
      address: ipv4.optional(),
      log: z.string().min(1).optional(),
      /** This node's /metrics address, in place of metrics.listen (a management address, say). */
      metrics_listen: hostPort.optional(),
    }).nullable().transform((v) => v ?? {}))
    .refine((n) => Object.keys(n).length > 0, 'must name at least one node'),
  log: z.strictObject({ path: z.string().min(1) }).default({ path: '/var/lib/vigil/events.db' }),
  zookeeper: z.strictObject({
    hosts: z.array(hostPort).min(1),
    session_timeout: seconds.default(1.5),
    root: z.string().regex(/^(\/[A-Za-z0-9_.-]+)+$/, 'must be an absolute ZooKeeper path like /vigil').default('/vigil'),
    /**
     * Without ZooKeeper, the holder keeps its VIPs while every other node confirms over the
     * peer channel (UDP, failsafe_port, on the nodes' addresses) that it cannot reach
     * ZooKeeper either and holds none of them (services/fence/failsafe.ts).
     */
    failsafe: z.boolean().default(false),
    failsafe_port: port.default(5407),
    /** Shared by every node: the peer channel's messages carry an HMAC-SHA256 under it. */
    failsafe_secret: z.string().min(16, 'must be at least 16 characters').optional(),
  }),
  nats: z
    .strictObject({
      servers: z.array(z.string().regex(/^(nats|tls):\/\/[^\s]+$/, 'must be a nats:// or tls:// URL')).min(1),
      stream: z.string().regex(/^[A-Za-z0-9_-]+$/).default('VIGIL'),
    })
    .optional(),
  /** Prometheus /metrics of each node, served by its relay (keepalived-exporter's names for VRRP). */
  metrics: z.strictObject({ listen: hostPort }).optional(),
  global_defs: z
    .strictObject({
      /** Seconds between vrrp.bad_packets summaries (dropped packets are counted, never logged one by one). */
      vrrp_bad_packet_summary: seconds.default(10),
      /**
       * Adverts of VRIDs no instance on their interface has (other routers on the segment)
       * as bad packets (wrong_vrid, in vrrp.bad_packets) too; by default, as keepalived
       * without its vrrp_log_unknown_vrids, they are only counted (vigil_vrrp_dropped_packets_total).
       */
      vrrp_log_unknown_vrids: z.boolean().default(false),
      /** Seconds between health.summary events (health transitions are recorded as they happen). */
      health_summary: seconds.default(60),
      /** Probes in flight at most; due probes beyond it wait their turn (and count as late). */
      health_max_in_flight: z.number().int().min(1).max(65536).default(4096),
      /** Seconds a notify script (notify_*, notify_up/down, quorum_up/down) may run before its process group is killed. */
      notify_timeout: seconds.default(30),
      /** Seconds between reads of the kernel's IPVS table looking for changes made by hand (drift), which are recorded and repaired. */
      ipvs_drift_check: seconds.default(10),
      /**
       * Nice value (-20..19) of the vrrp and fence services, whose timers are the VIP's
       * (keepalived's vrrp_priority). Below 0 needs CAP_SYS_NICE; without it the service
       * says so and keeps its priority.
       */
      vrrp_priority: nice.default(-10),
      /** Nice value of the health service and its probes (keepalived's checker_priority). */
      checker_priority: nice.default(0),
    })
    .default({ vrrp_bad_packet_summary: 10, vrrp_log_unknown_vrids: false, health_summary: 60, health_max_in_flight: 4096, notify_timeout: 30, ipvs_drift_check: 10, vrrp_priority: -10, checker_priority: 0 }),
  fence: z
    .strictObject({
      /** A node whose fence service cannot hold leases (ZooKeeper unreachable, fence down) puts its VRRP instances in FAULT. Turn off only for VRRP-only tests. */
      required: z.boolean().default(true),
      /** Seconds without a heartbeat of the fence service after which it counts as dead. */
      liveness_timeout: seconds.default(0.5),
    })
    .default({ required: true, liveness_timeout: 0.5 }),
  track_scripts: z.record(identifier, trackScriptSchema).default({}),
  vrrp_instances: z.record(identifier, vrrpInstanceSchema).default({}),
  vrrp_sync_groups: z.record(identifier, vrrpSyncGroupSchema).default({}),
  vip_groups: z.record(identifier, vipGroupSchema).default({}),
  virtual_server_groups: z.record(identifier, z.array(vsgMember).min(1)).default({}),
  virtual_servers: z.record(identifier, virtualServerSchema).default({}),
  alerts: z
    .strictObject({
      /** A VIP group with no lease holder for longer than this raises vip_unowned (critical). */
      vip_unowned_ms: z.number().int().positive().default(3000),
      /** A service of the node silent (no heartbeat, no recorded stop) for longer than this raises service_gone. */
      service_silent_ms: z.number().int().positive().default(2000),
      /**
       * A MASTER refused the lease for longer than this raises lease_denied (critical): two
       * nodes both believe they must hold a VIP. Shorter refusals are routine handovers
       * (a preempting master waits for the old one to let go) and raise nothing.
       */
      lease_denied_ms: z.number().int().positive().default(3000),
    })
    .default({ vip_unowned_ms: 3000, service_silent_ms: 2000, lease_denied_ms: 3000 }),
});

export type VigilConfig = z.infer<typeof configSchema>;
export type VrrpInstanceConfig = z.infer<typeof vrrpInstanceSchema>;
export type VirtualServerConfig = z.infer<typeof virtualServerSchema>;
export type CheckConfig = z.infer<typeof checkSchema>;
export type RealServerConfig = z.infer<typeof realServerSchema>;
