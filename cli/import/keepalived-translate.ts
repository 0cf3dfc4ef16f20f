// One node's keepalived.conf (parsed, includes in place) into the parts of a vigil
// configuration, each field with the line it came from. Every line is either used or
// named in a warning that says why and what to do instead; nothing is dropped silently.
// Pure: no I/O.
import { LB_KINDS, PROTOCOLS, SCHEDULERS } from '../../shared/config/schema.js';
import { isInclude, type Statement } from './keepalived-parse.js';

export interface Origin {
  file: string;
  line: number;
}

/** A field's value and where it was written. */
export interface Sourced {
  value: unknown;
  at: Origin;
}

/** A section item (an instance, a script, a virtual server): its fields, and where it starts. */
export interface Item {
  at: Origin;
  fields: Record<string, Sourced>;
}

export interface Warning extends Origin {
  keyword: string;
  message: string;
}

export interface NodeImport {
  routerId: string | undefined;
  global: Record<string, Sourced>;
  trackScripts: Record<string, Item>;
  instances: Record<string, Item>;
  /** An instance's virtual_ipaddress (and _excluded), as vigil's VIP groups take them. */
  vips: Record<string, Item>;
  syncGroups: Record<string, Item>;
  virtualServers: Record<string, Item>;
  virtualServerGroups: Record<string, Item>;
  warnings: Warning[];
  /** FILE:LINE of every line used (translated). */
  used: Set<string>;
}

export const lineKey = (o: Origin) => `${o.file}:${o.line}`;

const SHELL = /[|&;<>()$`\\*?[\]~{}]|^\s*\w+=/;

/**
 * A keepalived script string as an argv list: plain words become the list; shell syntax
 * (pipes, redirections, &&, $(), globs, variables) is wrapped in /bin/sh -c, with a warning.
 */
export function scriptArgv(words: string[]): { argv: string[]; shell: boolean } {
  const text = words.join(' ').trim();
  if (SHELL.test(text)) return { argv: ['/bin/sh', '-c', text], shell: true };
  return { argv: text.split(/\s+/), shell: false };
}

const IPV6 = 'an IPv6 address: vigil carries IPv4 VIPs, virtual and real servers only';

const WHY_ARGV = 'it is run as /bin/sh -c "...": vigil runs argv lists without a shell (no quoting or injection surprises); write it as a list, or put the pipeline in a script file';

/** The same reason for several keywords. */
const each = (keywords: string[], why: string): Record<string, string> => Object.fromEntries(keywords.map((k) => [k, why]));
/** Reasons several keywords share. */
const MAIL = 'mail alerts are not sent by vigil: use its NATS alerts or notify scripts';
const NOTIFY_FIFO = 'every state change is an event in the log and on NATS; notify scripts run in order';
const NO_FIREWALL = 'vigil adds no firewall rules';
const NO_SNMP = 'vigil has no SNMP: its state is in the log, on NATS, and in vigil status';
const TUNING = 'keepalived\'s process tuning: vigil\'s services are separate processes, run by docker compose or systemd: set such limits there';
const SOCKETS = 'vigil sizes its sockets itself';
const NO_SNMP_DBUS = 'vigil has no SNMP or D-Bus: its state is in the log, on NATS, in vigil status and its Prometheus metrics';
const NAMESPACE = 'vigil runs in the network namespace it is started in (docker compose network_mode, systemd NetworkNamespacePath)';
const VMAC = 'vigil binds VIPs on the instance\'s interface (no VMAC or ipvlan); gratuitous ARP moves the traffic';
const GARP = 'vigil sends gratuitous ARP after a bind (garp_master_delay, garp_master_repeat) and refreshes it (garp_master_refresh) on the VIP\'s interface only';
const STATIC = 'vigil binds VIPs only: configure static addresses, routes and rules in the system (ifupdown, netplan, systemd-networkd)';
const REGEX = 'vigil matches a url\'s regex against the whole body it reads, with JavaScript\'s regular expressions';
const NO_CLIENT_CERT = 'vigil\'s SSL_GET presents no client certificate and verifies none (keepalived without ca)';

/** What a keyword that vigil does not carry over becomes: the reason and what to do instead. */
const NOT_CARRIED: Record<string, string> = {
  notification_email: 'mail alerts are not sent by vigil: subscribe to its alerts on NATS (vigil alerts --follow) or use notify scripts',
  smtp_alert: 'mail alerts are not sent by vigil: every state change is an event in the log and an alert on NATS',
  smtp_alert_vrrp: 'mail alerts are not sent by vigil: every state change is an event in the log and an alert on NATS',
  smtp_alert_checker: 'mail alerts are not sent by vigil: every check transition is an event in the log',
  vrrp_strict: 'vigil follows RFC 5798 on what it receives without this switch; keepalived\'s vrrp_strict also adds an iptables rule that drops all traffic to the VIP (the usual "VIP does not answer" surprise): vigil adds none',
  vrrp_skip_check_adv_addr: 'vigil does not compare an advert\'s address list with its own (the lease in ZooKeeper decides who binds a VIP)',
  vrrp_check_unicast_src: 'vigil drops adverts from hosts that are not unicast peers by default (check_unicast_src per instance)',
  enable_script_security: 'vigil never runs a script string through a shell unless the import wrapped it (warned); run services as the user you want',
  script_user: 'scripts run as the service\'s user; a track script or MISC_CHECK may set its own user',
  lvs_id: 'obsolete in keepalived too; the node\'s name is in nodes:',
  lvs_timeouts: 'IPVS timeouts are the kernel\'s: set them with ipvsadm --set (at boot, or in a notify script)',
  lvs_flush: 'the ipvs service replaces the table with the configured one at start and repairs drift',
  lvs_flush_onstop: 'the ipvs service leaves the table as it is when it stops',
  vrrp_startup_delay: 'not needed: vigil starts as BACKUP and waits for the master-down timer',
  process_names: 'vigil\'s processes are named vigil run <service>',
  vrrp_process_name: 'vigil\'s processes are named vigil run vrrp',
  checker_process_name: 'vigil\'s processes are named vigil run health',
  default_interface: 'vigil\'s interfaces are set per instance',
  vrrp_mcast_group4: 'vigil sends VRRP adverts to 224.0.0.18 (RFC 5798) or to unicast peers',
  dynamic_interfaces: 'vigil\'s interfaces are set per instance (and per node under nodes:)',
  max_auto_priority: 'the vrrp and fence services run at global_defs.vrrp_priority (a nice value, -10 by default); vigil never uses real-time priorities',
  vrrp_no_swap: 'not needed: vigil does not lock memory',
  checker_no_swap: 'not needed: vigil does not lock memory',
  vrrp_rlimit_rttime: 'vigil never uses real-time priorities',
  checker_rlimit_rttime: 'vigil never uses real-time priorities',
  vrrp_garp_lower_prio_delay: 'vigil sends gratuitous ARP after a bind (garp_master_delay, garp_master_repeat) only',
  vrrp_garp_lower_prio_repeat: 'vigil sends gratuitous ARP after a bind (garp_master_delay, garp_master_repeat) only',
  vrrp_garp_interval: 'vigil spaces gratuitous ARPs itself',
  vrrp_gna_interval: 'vigil sends no IPv6 neighbour advertisements (IPv4 VIPs only)',
  vrrp_lower_prio_no_advert: 'vigil answers a lower-priority advert as RFC 5798 says',
  vrrp_higher_prio_send_advert: 'vigil answers a higher-priority advert as RFC 5798 says',
  debug: 'vigil\'s services log JSON lines; set VIGIL_LOG_LEVEL=debug for more',
  dont_track_primary: 'vigil tracks only the interfaces in track_interface',
  use_vmac: 'vigil binds VIPs on the instance\'s interface (no VMAC); gratuitous ARP moves the traffic',
  vmac_xmit_base: 'vigil binds VIPs on the instance\'s interface (no VMAC)',
  native_ipv6: 'vigil carries IPv4 VIPs only',
  mcast_src_ip: 'vigil sends adverts from the interface\'s primary address (or unicast_src_ip with unicast peers)',
  lvs_sync_daemon_interface: 'vigil does not run the IPVS connection sync daemon: start it with ipvsadm --start-daemon if you need it',
  strict_mode: 'vigil follows RFC 5798 on what it receives without this switch',
  skip_check_adv_addr: 'vigil does not compare an advert\'s address list with its own',
  accept: 'vigil binds VIPs as ordinary addresses: the holder accepts traffic for them',
  no_accept: 'vigil binds VIPs as ordinary addresses: the holder accepts traffic for them',
  virtual_routes: 'vigil binds addresses only: add routes in a notify_master script',
  virtual_rules: 'vigil binds addresses only: add rules in a notify_master script',
  track_file: 'vigil tracks scripts, interfaces and virtual servers: a track script can test a file',
  track_bfd: 'vigil has no BFD: a track script can check what BFD checked',
  ha_suspend: 'vigil checks real servers on every director, as keepalived does without ha_suspend',
  ops: 'vigil sets no one-packet scheduling (use ipvsadm --ops in a notify script if needed)',
  uthreshold: 'vigil sets no connection thresholds on real servers',
  lthreshold: 'vigil sets no connection thresholds on real servers',
  SMTP_CHECK: 'vigil has no SMTP checker: a TCP_CHECK on the port, or a MISC_CHECK that speaks SMTP',
  UDP_CHECK: 'vigil has no UDP checker: a MISC_CHECK can probe the service',
  BFD_CHECK: 'vigil has no BFD: a MISC_CHECK can probe the service',
  FILE_CHECK: 'vigil has no FILE_CHECK: a MISC_CHECK can test the file',
  lvs_sync_daemon: 'vigil does not run the IPVS connection sync daemon: start it with ipvsadm --start-daemon if you need it',
  linkbeat_interfaces: 'vigil watches its links over netlink',
  linkbeat_use_polling: 'vigil watches its links over netlink',
  promote_secondaries: 'vigil binds each VIP with its own prefix and lifetime; the kernel\'s promote_secondaries is a sysctl of yours',
  unicast_ttl: 'vigil sends adverts with TTL 255 and accepts no other (RFC 5798)',
  mcast_dst_ip: 'vigil sends VRRP adverts to 224.0.0.18 (RFC 5798) or to unicast peers',
  vrrp_mcast_group6: 'vigil carries IPv4 VIPs only',
  ip_family: 'vigil carries IPv4 only',
  track_src_ip: 'vigil sends adverts from the interface\'s primary address (or unicast_src_ip)',
  unicast_fault_no_peer: 'an instance with unicast peers in vigil never waits for one to exist',
  old_unicast_checksum: 'vigil computes the VRRP checksum as RFC 5798 says',
  vrf: 'vigil binds on the instance\'s interface and has no VRF support',
  log_all_failures: 'every check transition is an event in the log',
  checker_log_all_failures: 'every check transition is an event in the log',
  vrrp_notify_priority_changes: 'every priority change is an event (vrrp.priority_changed) and an alert on NATS',
  notify_priority_changes: 'every priority change is an event (vrrp.priority_changed) and an alert on NATS',
  notify_deleted: 'an instance removed by a reload is recorded in the log; notify scripts run on state changes',
  notify_master_rx_lower_pri: 'vigil answers a lower-priority advert at once (RFC 5798); every state change is an event',
  rs_init_notifies: 'vigil records every real server\'s first state as an event',
  terminate_delay: 'vigil tracks scripts, interfaces and virtual servers: a track script can run pgrep',
  quorum_max: 'vigil\'s quorum has no upper bound (quorum and hysteresis)',
  persistence_engine: 'vigil sets no IPVS persistence engine (sip): ipvsadm --pe in a notify script',
  sorry_server_lvs_method: 'the sorry server is forwarded as the virtual server\'s lb_kind',
  net_mask: 'an old keyword keepalived 2 no longer reads: persistence_granularity is the netmask of persistence',
  bind_if: 'vigil binds a check\'s socket to an address only (bindto)',
  ...each(['notification_email_from', 'smtp_server', 'smtp_connect_timeout', 'smtp_helo_name', 'no_checker_emails', 'no_email_faults'], MAIL),
  ...each([
    'vrrp_notify_fifo', 'notify_fifo', 'vrrp_notify_fifo_script', 'notify_fifo_script', 'lvs_notify_fifo',
    'lvs_notify_fifo_script', 'fifo_write_vrrp_states_on_reload'
  ], NOTIFY_FIFO),
  ...each([
    'nftables', 'nftables_priority', 'vrrp_iptables', 'vrrp_ipsets', 'nftables_counters', 'nftables_ifindex',
    'nftables_ipvs', 'nftables_ipvs_priority', 'nftables_ipvs_start_fwmark'
  ], NO_FIREWALL),
  ...each(['enable_traps', 'enable_snmp_vrrp', 'enable_snmp_checker', 'enable_snmp_rfc', 'enable_snmp_keepalived'], NO_SNMP),
  ...each([
    'vrrp_cpu_affinity', 'checker_cpu_affinity', 'bfd_cpu_affinity', 'vrrp_rt_priority',
    'checker_rt_priority', 'bfd_rt_priority', 'bfd_priority', 'bfd_rlimit_rttime', 'bfd_no_swap',
    'bfd_process_name', 'child_wait_time', 'fork_delay', 'umask', 'use_pid_dir', 'random_seed',
    'tmp_config_directory', 'config_save_dir', 'reload_check_config', 'reload_time_file', 'reload_repeat',
    'reload_file', 'data_use_instance', 'min_auto_priority_delay'
  ], TUNING),
  ...each([
    'vrrp_netlink_cmd_rcv_bufs', 'vrrp_netlink_cmd_rcv_bufs_force', 'vrrp_netlink_monitor_rcv_bufs',
    'vrrp_netlink_monitor_rcv_bufs_force', 'lvs_netlink_cmd_rcv_bufs', 'lvs_netlink_cmd_rcv_bufs_force',
    'lvs_netlink_monitor_rcv_bufs', 'lvs_netlink_monitor_rcv_bufs_force', 'process_monitor_rcv_bufs',
    'process_monitor_rcv_bufs_force', 'kernel_rx_buf_size', 'vrrp_rx_bufs_policy', 'vrrp_rx_bufs_multiplier'
  ], SOCKETS),
  ...each(['snmp_name', 'snmp_socket', 'enable_snmp_rfcv2', 'enable_snmp_rfcv3', 'enable_dbus', 'dbus_service_name'], NO_SNMP_DBUS),
  ...each(['net_namespace', 'net_namespace_ipvs', 'namespace_with_ipsets'], NAMESPACE),
  ...each(['use_vmac_addr', 'vmac_prefix', 'vmac_addr_prefix', 'use_ipvlan'], VMAC),
  ...each(['vrrp_garp_extra_if', 'garp_extra_if', 'garp_group', 'vrrp_min_garp'], GARP),
  ...each(['static_ipaddress', 'static_routes', 'static_rules'], STATIC),
  ...each(['regex_max_offset', 'regex_min_offset', 'regex_options', 'regex_stack'], REGEX),
  ...each(['enable_sni', 'certificate', 'ca', 'password', 'key', 'SSL'], NO_CLIENT_CERT),
};

export function translateNode(statements: Statement[]): NodeImport {
  const out: NodeImport = { routerId: undefined, global: {}, trackScripts: {}, instances: {}, vips: {}, syncGroups: {}, virtualServers: {}, virtualServerGroups: {}, warnings: [], used: new Set() };
  const use = (s: Statement) => {
    out.used.add(lineKey(s));
    if (s.open) out.used.add(lineKey(s.open));
    if (s.end) out.used.add(lineKey(s.end));
  };
  const warn = (s: Statement, message: string) => {
    out.warnings.push({ file: s.file, line: s.line, keyword: s.key, message });
    if (s.open) out.used.add(lineKey(s.open)); // its braces go with it
    if (s.end) out.used.add(lineKey(s.end));
    for (const c of s.block ?? []) markAll(c);
  };
  // Lines inside a warned block are accounted for by that warning.
  const markAll = (s: Statement) => {
    out.used.add(lineKey(s));
    if (s.open) out.used.add(lineKey(s.open));
    if (s.end) out.used.add(lineKey(s.end));
    for (const c of s.block ?? []) markAll(c);
  };
  const notCarried = (s: Statement): boolean => {
    const why = NOT_CARRIED[s.key];
    if (why === undefined) return false;
    warn(s, `not carried over: ${why}`);
    return true;
  };
  const unknown = (s: Statement, where: string) => warn(s, `not a keyword vigil's importer knows in ${where} (a keyword of another keepalived version, or a typo): check keepalived's manual and write its vigil equivalent by hand`);
  const num = (s: Statement, name = s.key): number | undefined => {
    const v = Number(s.args[0]);
    if (s.args.length === 0 || !Number.isFinite(v)) {
      warn(s, `${name} needs a number (got "${s.args.join(' ')}"): left out`);
      return undefined;
    }
    return v;
  };
  const set = (fields: Record<string, Sourced>, name: string, value: unknown, s: Statement) => {
    fields[name] = { value, at: { file: s.file, line: s.line } };
    use(s);
  };
  const note = (s: Statement, message: string) => out.warnings.push({ file: s.file, line: s.line, keyword: s.key, message });
  const script = (s: Statement): string[] => {
    const { argv, shell } = scriptArgv(s.args);
    if (shell) out.warnings.push({ file: s.file, line: s.line, keyword: s.key, message: `translated, but ${WHY_ARGV}` });
    return argv;
  };
  /** A list block (unicast_peer, group, ...): every word of every line. */
  const words = (s: Statement): string[] => {
    use(s);
    return (s.block ?? []).flatMap((c) => {
      use(c);
      return [c.key, ...c.args];
    });
  };
  /** track_interface / track_script blocks: NAME [weight N]. */
  const weighted = (s: Statement) => {
    use(s);
    return (s.block ?? []).map((c) => {
      use(c);
      const w = c.args[0] === 'weight' ? Number(c.args[1]) : undefined;
      if (c.args.length > 0 && (c.args[0] !== 'weight' || !Number.isFinite(w))) out.warnings.push({ file: c.file, line: c.line, keyword: c.key, message: `"${c.args.join(' ')}" is not "weight N": the weight is left out` });
      return w === undefined || !Number.isFinite(w) ? c.key : { name: c.key, weight: w };
    });
  };

  const tracking = (fields: Record<string, Sourced>, s: Statement): boolean => {
    if (s.key === 'track_interface') set(fields, 'track_interface', weighted(s), s);
    else if (s.key === 'track_script' || s.key === 'track_process') {
      // a tracked process is a track script here (vrrp_track_process below): one list
      const before = (fields.track_script?.value as unknown[] | undefined) ?? [];
      set(fields, 'track_script', [...before, ...weighted(s)], s);
    }
    else if (/^notify(_master|_backup|_fault|_stop)?$/.test(s.key)) set(fields, s.key, script(s), s);
    else return false;
    return true;
  };

  for (const top of statements) {
    if (isInclude(top.key) || top.key === 'include_check') {
      use(top); // read in place by the parser (include_check: how strictly keepalived reports them)
      continue;
    }
    switch (top.key) {
      case 'global_defs':
        use(top);
        for (const s of top.block ?? []) {
          if (s.key === 'router_id') {
            out.routerId = s.args[0];
            use(s);
          } else if (s.key === 'vrrp_priority' || s.key === 'checker_priority') {
            const v = num(s);
            if (v !== undefined) set(out.global, s.key, v, s);
          } else if (s.key === 'vrrp_log_unknown_vrids') {
            set(out.global, s.key, true, s);
          } else if (/^vrrp_garp_master_(delay|repeat|refresh|refresh_repeat)$/.test(s.key)) {
            const v = num(s);
            if (v !== undefined) set(out.global, s.key.replace(/^vrrp_/, ''), v, s); // a default of every instance
          } else if (s.key === 'vrrp_version' || s.key === 'vrrp_down_timer_adverts') {
            const v = num(s);
            if (v !== undefined) set(out.global, s.key === 'vrrp_version' ? 'version' : 'down_timer_adverts', v, s); // a default of every instance
          } else if (!notCarried(s)) unknown(s, 'global_defs');
        }
        break;
      case 'vrrp_script': {
        const name = top.args[0] ?? '';
        const item: Item = { at: { file: top.file, line: top.line }, fields: {} };
        use(top);
        for (const s of top.block ?? []) {
          if (s.key === 'script') set(item.fields, 'script', script(s), s);
          else if (['interval', 'timeout', 'weight', 'rise', 'fall'].includes(s.key)) {
            const v = num(s);
            if (v !== undefined) set(item.fields, s.key, v, s);
          } else if (s.key === 'user') set(item.fields, 'user', s.args[0], s);
          else if (s.key === 'init_fail') set(item.fields, 'init_fail', true, s);
          else if (!notCarried(s)) unknown(s, 'vrrp_script');
        }
        if (item.fields.script) out.trackScripts[name] = item;
        else warn(top, `vrrp_script ${name} has no script (keepalived removes it too): left out, and with it from every track_script`);
        break;
      }
      case 'vrrp_track_process': {
        const item = translateTrackProcess(top, { use, warn, num, note });
        if (item) out.trackScripts[top.args[0] ?? ''] = item;
        break;
      }
      case 'vrrp_instance': {
        const name = top.args[0] ?? '';
        const item: Item = { at: { file: top.file, line: top.line }, fields: {} };
        const vips: Item = { at: { file: top.file, line: top.line }, fields: {} };
        use(top);
        for (const s of top.block ?? []) {
          if (s.key === 'state') {
            const v = (s.args[0] ?? '').toUpperCase();
            if (v === 'MASTER' || v === 'BACKUP') set(item.fields, 'state', v, s);
            else warn(s, `state must be MASTER or BACKUP (got "${s.args[0] ?? ''}"): left out (BACKUP)`);
          } else if (s.key === 'interface' || s.key === 'unicast_src_ip') set(item.fields, s.key, s.args[0], s);
          else if (['virtual_router_id', 'priority', 'advert_int', 'version', 'preempt_delay', 'down_timer_adverts', 'garp_master_delay', 'garp_master_repeat', 'garp_master_refresh', 'garp_master_refresh_repeat'].includes(s.key)) {
            const v = num(s);
            if (v !== undefined) set(item.fields, s.key, v, s);
          } else if (s.key === 'nopreempt' || s.key === 'check_unicast_src') set(item.fields, s.key, true, s);
          else if (s.key === 'preempt') use(s); // keepalived's default
          else if (s.key === 'unicast_peer') set(item.fields, 'unicast_peer', words(s), s);
          else if (s.key === 'authentication') {
            use(s);
            const type = s.block?.find((c) => c.key === 'auth_type');
            const pass = s.block?.find((c) => c.key === 'auth_pass');
            if (type?.args[0]?.toUpperCase() === 'AH') warn(s, 'not carried over: IPsec AH authentication is not supported (keepalived deprecates it too); VRRPv3 has no authentication: rely on check_unicast_src and a dedicated network');
            else if (!pass?.args[0]) warn(s, 'no auth_pass (on a line of its own) in this block: keepalived ignores the authentication ("no password given"), and so does vigil: left out');
            else {
              for (const c of s.block ?? []) {
                if (c.key === 'auth_type' || c.key === 'auth_pass') use(c);
                else unknown(c, 'authentication');
              }
              const password = pass.args[0];
              // keepalived.conf(5): "Only the first eight (8) characters are used" (RFC 3768's field)
              if (password.length > 8) note(pass, `keepalived uses the first 8 characters ("${password.slice(0, 8)}"), and so does the import: its peers send those`);
              set(item.fields, 'authentication', { auth_type: 'PASS', auth_pass: password.slice(0, 8) }, s);
            }
          } else if (s.key === 'virtual_ipaddress' || s.key === 'virtual_ipaddress_excluded') {
            const addresses: string[] = [];
            use(s);
            for (const c of s.block ?? []) {
              const parts = [c.key, ...c.args];
              if (parts[0]!.includes(':')) {
                warn(c, `${IPV6}: left out`);
                continue;
              }
              const address = parts[0]!.includes('/') ? parts[0]! : `${parts[0]}/32`;
              const listed = [...((vips.fields.addresses?.value as string[] | undefined) ?? []), ...addresses];
              if (listed.some((a) => a.split(' ')[0] === address)) {
                warn(c, `${address} is listed twice in this instance: once is enough (keepalived binds it once)`);
                continue;
              }
              let text = address;
              for (let i = 1; i < parts.length; i += 2) {
                if (parts[i] === 'dev' || parts[i] === 'label') text += ` ${parts[i]} ${parts[i + 1] ?? ''}`;
                else if (['brd', 'broadcast', 'scope', 'preferred_lft', 'valid_lft'].includes(parts[i]!)) out.warnings.push({ file: c.file, line: c.line, keyword: parts[i]!, message: 'not carried over: vigil binds VIPs with its own lifetime and the interface\'s defaults' });
                else if (parts[i] === 'no_track' || parts[i] === 'home') {
                  out.warnings.push({ file: c.file, line: c.line, keyword: parts[i]!, message: 'not carried over: vigil has no per-address options besides dev and label' });
                  i -= 1;
                } else out.warnings.push({ file: c.file, line: c.line, keyword: parts[i]!, message: 'not understood in a virtual_ipaddress line: left out' });
              }
              use(c);
              addresses.push(text.trim());
            }
            if (s.key === 'virtual_ipaddress_excluded') out.warnings.push({ file: s.file, line: s.line, keyword: s.key, message: 'translated as ordinary VIPs of the group: vigil binds them like the others (it does not list addresses in its adverts)' });
            const prev = (vips.fields.addresses?.value as string[] | undefined) ?? [];
            if (addresses.length > 0) set(vips.fields, 'addresses', [...prev, ...addresses], s);
          } else if (!tracking(item.fields, s) && !notCarried(s)) unknown(s, 'vrrp_instance');
        }
        out.instances[name] = item;
        if (vips.fields.addresses) out.vips[name] = vips;
        break;
      }
      case 'vrrp_sync_group': {
        const name = top.args[0] ?? '';
        const item: Item = { at: { file: top.file, line: top.line }, fields: {} };
        use(top);
        for (const s of top.block ?? []) {
          if (s.key === 'group') set(item.fields, 'group', words(s), s);
          else if (s.key === 'sync_group_tracking_weight') set(item.fields, s.key, true, s);
          else if (s.key === 'global_tracking') warn(s, 'not carried over: deprecated in keepalived; the group\'s track_* apply to every member in vigil');
          else if (!tracking(item.fields, s) && !notCarried(s)) unknown(s, 'vrrp_sync_group');
        }
        if (item.fields.group) out.syncGroups[name] = item;
        else warn(top, `vrrp_sync_group ${name} has no group { } of instances (keepalived ignores it too): left out`);
        break;
      }
      case 'virtual_server_group': {
        const name = top.args[0] ?? '';
        const item: Item = { at: { file: top.file, line: top.line }, fields: {} };
        use(top);
        const members: unknown[] = [];
        for (const s of top.block ?? []) {
          use(s);
          if (s.key === 'fwmark') members.push({ fwmark: Number(s.args[0]) });
          else if (s.key.includes(':')) warn(s, `${IPV6}: left out`);
          else if (s.key.includes('-')) warn(s, 'not carried over: address ranges (a.b.c.d-e) are not supported: list each address');
          else members.push(s.args[0] === undefined ? { ip: s.key } : { ip: s.key, port: Number(s.args[0]) });
        }
        item.fields.members = { value: members, at: item.at };
        if (members.length > 0) out.virtualServerGroups[name] = item;
        else warn(top, `virtual_server_group ${name} has no member vigil can carry: left out`);
        break;
      }
      case 'virtual_server':
        translateVirtualServer(top, out, { use, note, warn, set, num, script, unknown, notCarried });
        break;
      default:
        if (!notCarried(top)) unknown(top, 'the top level');
    }
  }
  // A track_script naming no vrrp_script: keepalived ignores the name ("not found, ignoring"); so does the import, saying so.
  for (const [name, inst] of [...Object.entries(out.instances), ...Object.entries(out.syncGroups)]) {
    const tracked = inst.fields.track_script;
    if (!tracked) continue;
    const names = tracked.value as (string | { name: string })[];
    const known = names.filter((t) => out.trackScripts[typeof t === 'string' ? t : t.name]);
    for (const t of names.filter((x) => !known.includes(x))) out.warnings.push({ ...tracked.at, keyword: 'track_script', message: `${name} tracks ${typeof t === 'string' ? t : t.name}, which no vrrp_script defines (keepalived ignores it too): left out` });
    if (known.length === 0) delete inst.fields.track_script;
    else tracked.value = known;
  }
  return out;
}

/**
 * keepalived's vrrp_track_process as a track script: keepalived follows process events,
 * vigil runs pgrep every second (the same answer, up to a second later). quorum N: at least
 * N such processes; delay D: down after D seconds without them (fall).
 */
function translateTrackProcess(top: Statement, h: Pick<Helpers, 'use' | 'warn' | 'num' | 'note'>): Item | undefined {
  const at = { file: top.file, line: top.line };
  const item: Item = { at, fields: {} };
  h.use(top);
  let command: string[] | undefined;
  let full = false;
  let quorum = 1;
  for (const s of top.block ?? []) {
    if (s.key === 'process' && s.args.length > 0) {
      command = s.args;
      h.use(s);
    } else if (s.key === 'full_command') {
      full = true;
      h.use(s);
    } else if (s.key === 'quorum') {
      quorum = h.num(s) ?? 1;
      h.use(s);
    } else if (s.key === 'weight' && s.args[1] === 'reverse') {
      h.warn(s, 'not carried over: "reverse" (the weight applies while the process runs): vigil applies a weight while a tracked script fails; left out (FAULT while it does not run)');
    } else if (s.key === 'weight') {
      const v = h.num(s);
      if (v !== undefined) item.fields.weight = { value: v, at: { file: s.file, line: s.line } };
      h.use(s);
    } else if (s.key === 'delay' || s.key === 'terminate_delay') {
      const v = h.num(s);
      if (v !== undefined) item.fields.fall = { value: Math.max(1, Math.ceil(v)), at: { file: s.file, line: s.line } };
      h.use(s);
    } else if (s.key === 'fork_delay') h.use(s); // a start is seen at the next look anyway
    else if (s.key === 'param_match' || s.key === 'quorum_max') h.warn(s, `not carried over: pgrep matches ${full || (command?.length ?? 0) > 1 ? 'the whole command line' : 'the process name'} exactly; write the track script by hand for anything else`);
    else h.warn(s, "not a keyword vigil's importer knows in vrrp_track_process: check keepalived's manual and write its vigil equivalent by hand");
  }
  if (!command) {
    h.warn(top, `vrrp_track_process ${top.args[0] ?? ''} names no process (keepalived rejects it too): left out`);
    return undefined;
  }
  const pattern = command.join(' ');
  // a name with a blank or longer than the kernel's 15-character comm is a command line
  const flags = full || command.length > 1 || /\s/.test(pattern) || pattern.length > 15 ? ['-f', '-x'] : ['-x'];
  const quoted = `'${pattern.replaceAll("'", "'\\''")}'`;
  const script = quorum > 1 ? ['/bin/sh', '-c', `[ "$(/usr/bin/pgrep -c ${flags.join(' ')} ${quoted})" -ge ${quorum} ]`] : ['/usr/bin/pgrep', ...flags, pattern];
  item.fields.script = { value: script, at };
  h.note(top, 'translated as a track script that runs pgrep every second (keepalived follows process events: vigil sees a change up to a second later)');
  item.fields.interval = { value: 1, at };
  return item;
}

interface Helpers {
  use(s: Statement): void;
  /** A warning about a statement that was translated all the same. */
  note(s: Statement, message: string): void;
  warn(s: Statement, message: string): void;
  set(fields: Record<string, Sourced>, name: string, value: unknown, s: Statement): void;
  num(s: Statement, name?: string): number | undefined;
  script(s: Statement): string[];
  unknown(s: Statement, where: string): void;
  notCarried(s: Statement): boolean;
}

const CHECKS = ['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'DNS_CHECK', 'MISC_CHECK', 'PING_CHECK'];
const ALIASES: Record<string, string> = { nb_get_retry: 'retry', lvs_sched: 'lb_algo', lvs_method: 'lb_kind' };

function translateVirtualServer(top: Statement, out: NodeImport, h: Helpers): void {
  const [a0, a1] = top.args;
  if (a0?.includes(':')) {
    h.warn(top, `${IPV6}: this virtual server is left out`);
    return;
  }
  const key = a0 === 'fwmark' ? `fwmark_${a1 ?? ''}` : a0 === 'group' ? `group_${a1 ?? ''}` : `${a0 ?? ''}_${a1 ?? 'any'}`;
  const item: Item = { at: { file: top.file, line: top.line }, fields: {} };
  h.use(top);
  if (a0 === 'fwmark') h.set(item.fields, 'fwmark', Number(a1), top);
  else if (a0 === 'group') h.set(item.fields, 'group', a1, top);
  else {
    h.set(item.fields, 'ip', a0, top);
    if (a1 !== undefined) h.set(item.fields, 'port', Number(a1), top);
  }
  const realServers: unknown[] = [];
  for (const raw of top.block ?? []) {
    const s = { ...raw, key: ALIASES[raw.key] ?? raw.key };
    if (['delay_loop', 'persistence_timeout', 'quorum', 'hysteresis'].includes(s.key)) {
      const v = h.num(s);
      if (v !== undefined) h.set(item.fields, s.key, v, s);
    } else if (s.key === 'lb_algo' || s.key === 'lb_kind' || s.key === 'protocol') {
      const value = s.key === 'lb_algo' ? (s.args[0] ?? '') : (s.args[0] ?? '').toUpperCase();
      const known: readonly string[] = s.key === 'lb_algo' ? SCHEDULERS : s.key === 'lb_kind' ? LB_KINDS : PROTOCOLS;
      if (known.includes(value)) h.set(item.fields, s.key, value, s);
      else h.warn(s, `"${s.args[0] ?? ''}" is not one of ${known.join(', ')}: left out (the default, ${s.key === 'lb_algo' ? 'wlc, as keepalived falls back to' : s.key === 'lb_kind' ? 'NAT' : 'TCP'})`);
    } else if (s.key === 'persistence_granularity' || s.key === 'virtualhost') {
      h.set(item.fields, s.key, s.args[0], s);
    } else if (['sorry_server_inhibit', 'inhibit_on_failure', 'alpha', 'omega'].includes(s.key)) h.set(item.fields, s.key, true, s);
    else if (s.key === 'quorum_up' || s.key === 'quorum_down') h.set(item.fields, s.key, h.script(s), s);
    else if (s.key === 'sorry_server') h.set(item.fields, 'sorry_server', s.args[1] === undefined ? { ip: s.args[0] } : { ip: s.args[0], port: Number(s.args[1]) }, s);
    else if (s.key === 'real_server' && s.args[0]?.includes(':')) h.warn(s, `${IPV6}: this real server is left out`);
    else if (s.key === 'real_server') {
      h.use(s);
      const rs: Record<string, unknown> = { ip: s.args[0], ...(s.args[1] !== undefined ? { port: Number(s.args[1]) } : {}) };
      const checks: unknown[] = [];
      for (const c of s.block ?? []) {
        if (c.key === 'weight') {
          const v = h.num(c);
          if (v !== undefined) {
            rs.weight = v;
            h.use(c);
          }
        } else if (c.key === 'inhibit_on_failure') {
          rs.inhibit_on_failure = true;
          h.use(c);
        } else if (c.key === 'notify_up' || c.key === 'notify_down') {
          rs[c.key] = h.script(c);
          h.use(c);
        } else if (CHECKS.includes(c.key)) checks.push(translateCheck(c, h));
        else if (!h.notCarried(c)) h.unknown(c, 'real_server');
      }
      rs.checks = checks;
      realServers.push(rs);
    } else if (!h.notCarried(s)) h.unknown(s, 'virtual_server');
  }
  item.fields.real_servers = { value: realServers, at: item.at };
  out.virtualServers[key] = item;
}

function translateCheck(c: Statement, h: Helpers): Record<string, unknown> {
  h.use(c);
  const check: Record<string, unknown> = { type: c.key };
  const urls: unknown[] = [];
  for (const raw of c.block ?? []) {
    const s = { ...raw, key: ALIASES[raw.key] ?? raw.key };
    if (['connect_port', 'bind_port', 'connect_timeout', 'retry', 'delay_before_retry', 'warmup', 'delay_loop', 'misc_timeout'].includes(s.key)) {
      const v = h.num(s);
      if (v !== undefined) {
        check[s.key] = v;
        h.use(s);
      }
    } else if (s.key === 'connect_ip' || s.key === 'bindto' || s.key === 'virtualhost' || s.key === 'user' || s.key === 'http_protocol') {
      check[s.key] = s.args[0];
      h.use(s);
    } else if (s.key === 'alpha' || s.key === 'misc_dynamic') {
      check[s.key] = true;
      h.use(s);
    } else if (s.key === 'misc_path') {
      check.misc_path = h.script(s);
      h.use(s);
    } else if (c.key === 'DNS_CHECK' && (s.key === 'type' || s.key === 'name')) {
      check[s.key === 'type' ? 'dns_type' : 'dns_name'] = s.key === 'type' ? (s.args[0] ?? '').toUpperCase() : s.args[0];
      h.use(s);
    } else if (s.key === 'url') {
      h.use(s);
      const url: Record<string, unknown> = {};
      // `url { path / status_code 200 }` on one line parses as one statement: read it as pairs.
      const pairs = (s.block ?? []).flatMap((u) => {
        h.use(u);
        return [[u.key, ...u.args]];
      }).flatMap((p) => (p.length > 2 && p.length % 2 === 0 ? Array.from({ length: p.length / 2 }, (_, i) => p.slice(2 * i, 2 * i + 2)) : [p]));
      for (const [k, ...v] of pairs) {
        if (k === 'path') url.path = v[0];
        else if (k === 'digest') url.digest = v[0];
        else if (k === 'status_code') {
          // 200, or a range as keepalived writes it (200-299): vigil takes both
          const codes = v.map((c) => (/^\d+$/.test(c) ? Number(c) : c));
          url.status_code = codes.length > 1 ? codes : codes[0];
        }
        else if (k === 'regex') url.regex = v.join(' ');
        else if (k === 'regex_no_match') url.regex_no_match = true;
        else h.warn({ ...s, key: k ?? '' }, 'not understood in a url block: left out');
      }
      urls.push(url);
    } else if (!h.notCarried(s)) h.unknown(s, c.key);
  }
  if (urls.length > 0) check.url = urls;
  return check;
}
