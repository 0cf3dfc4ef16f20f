// The nodes' keepalived files, translated one by one, into one vigil configuration: what
// is the same everywhere is written once, what vigil lets differ per node (interface,
// priority, state, unicast_src_ip, unicast_peer, nopreempt) goes under the instance's
// nodes:, anything else that differs is a conflict naming both lines. Pure: no I/O.
import { lineKey, type Item, type NodeImport, type Origin, type Sourced, type Warning } from './keepalived-translate.js';

export interface ImportedNode {
  name: string;
  imported: NodeImport;
}

export interface MergeOptions {
  cluster: string;
  zookeeper: string[] | undefined;
  nats: string[] | undefined;
}

export interface MergeResult {
  config: Record<string, unknown>;
  /** Where each part came from, by its path in the config (for comments in the YAML). */
  origins: { path: string[]; at: Origin[] }[];
  warnings: Warning[];
  /** Differences vigil cannot express: the config is not usable while any is left. */
  conflicts: Warning[];
}

const PER_NODE = new Set(['interface', 'priority', 'state', 'unicast_src_ip', 'unicast_peer', 'nopreempt']);
const GLOBAL_INSTANCE_DEFAULTS = ['garp_master_delay', 'garp_master_repeat', 'garp_master_refresh', 'garp_master_refresh_repeat', 'version', 'down_timer_adverts'];
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const at = (o: Origin) => `${o.file}:${o.line}`;
/** Where two nodes' values of a field differ (the second node may not set it at all). */
const between = (base: { node: string; s?: Sourced | undefined }, other: { node: string; s?: Sourced | undefined }) =>
  other.s ? `${at(base.s!.at)} (${base.node}) and ${at(other.s.at)} (${other.node})` : `${at(base.s!.at)} (${base.node}; ${other.node} does not set it)`;

export function mergeNodes(nodes: ImportedNode[], o: MergeOptions): MergeResult {
  const warnings: Warning[] = nodes.flatMap((n) => n.imported.warnings);
  const conflicts: Warning[] = [];
  const origins: MergeResult['origins'] = [];
  const conflict = (where: Origin, keyword: string, message: string) => conflicts.push({ ...where, keyword, message });

  // keepalived's global defaults of every instance (vrrp_garp_*, vrrp_version) move into the instances.
  for (const n of nodes) {
    for (const inst of Object.values(n.imported.instances)) {
      for (const k of GLOBAL_INSTANCE_DEFAULTS) {
        const g = n.imported.global[k];
        if (g && !inst.fields[k]) inst.fields[k] = g;
      }
    }
  }

  /** Items of one section, same in every node that has them (else a conflict per differing field). */
  const sameEverywhere = (section: string, pick: (n: NodeImport) => Record<string, Item>, keyword: string): Record<string, Record<string, unknown>> => {
    const out: Record<string, Record<string, unknown>> = {};
    const names = [...new Set(nodes.flatMap((n) => Object.keys(pick(n.imported))))];
    for (const name of names) {
      const having = nodes.filter((n) => pick(n.imported)[name]);
      const fields = new Set(having.flatMap((n) => Object.keys(pick(n.imported)[name]!.fields)));
      const value: Record<string, unknown> = {};
      for (const f of fields) {
        const vals = having.map((n) => ({ node: n.name, s: pick(n.imported)[name]!.fields[f] }));
        const base = vals.find((v) => v.s)!;
        const other = vals.find((v) => !v.s || !same(v.s.value, base.s!.value));
        if (other) {
          conflict(base.s!.at, f, `${keyword} ${name}: ${f} differs between ${between(base, other)}: vigil has one value for the cluster; make them equal`);
        }
        value[f] = base.s!.value;
      }
      out[name] = value;
      origins.push({ path: [section, name], at: having.map((n) => pick(n.imported)[name]!.at) });
    }
    return out;
  };

  // Instances: per-node fields may differ.
  const instances: Record<string, Record<string, unknown>> = {};
  for (const name of [...new Set(nodes.flatMap((n) => Object.keys(n.imported.instances)))]) {
    const having = nodes.filter((n) => n.imported.instances[name]);
    if (having.length < nodes.length) {
      const missing = nodes.filter((n) => !n.imported.instances[name]).map((n) => n.name);
      const item = having[0]!.imported.instances[name]!;
      warnings.push({ ...item.at, keyword: 'vrrp_instance', message: `${name} is not in the file of ${missing.join(', ')}: in vigil every node runs every instance (at its priority); give those nodes the priority you want under nodes:` });
    }
    const value: Record<string, unknown> = {};
    const perNode: Record<string, Record<string, unknown>> = {};
    const fields = new Set(having.flatMap((n) => Object.keys(n.imported.instances[name]!.fields)));
    for (const f of fields) {
      const vals = having.map((n) => ({ node: n.name, s: n.imported.instances[name]!.fields[f] as Sourced | undefined }));
      const base = vals.find((v) => v.s)!;
      const allSame = vals.every((v) => v.s && same(v.s.value, base.s!.value));
      if (allSame) value[f] = base.s!.value;
      else if (f === 'interface' && vals.every((v) => v.s)) {
        // Required on the instance: the most common one there, the others per node.
        const counts = new Map<string, number>();
        for (const v of vals) counts.set(JSON.stringify(v.s!.value), (counts.get(JSON.stringify(v.s!.value)) ?? 0) + 1);
        const common = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
        value[f] = JSON.parse(common) as unknown;
        for (const v of vals) if (JSON.stringify(v.s!.value) !== common) (perNode[v.node] ??= {})[f] = v.s!.value;
      } else if (PER_NODE.has(f)) {
        for (const v of vals) if (v.s) (perNode[v.node] ??= {})[f] = v.s.value;
      } else {
        const other = vals.find((v) => !v.s || !same(v.s.value, base.s!.value))!;
        conflict(base.s!.at, f, `vrrp_instance ${name}: ${f} differs between ${between(base, other)}: vigil has one value per instance (only ${[...PER_NODE].join(', ')} may differ per node)`);
        value[f] = base.s!.value;
      }
    }
    // Node-only fields that some nodes leave to keepalived's default go per node, the defaults stay implicit.
    if (Object.keys(perNode).length > 0) value.nodes = Object.fromEntries(nodes.filter((n) => perNode[n.name]).map((n) => [n.name, perNode[n.name]]));
    instances[name] = value;
    origins.push({ path: ['vrrp_instances', name], at: having.map((n) => n.imported.instances[name]!.at) });
  }

  // VIP groups: an instance's addresses; "dev X" is dropped where X is that node's interface for the instance.
  const vipGroups: Record<string, Record<string, unknown>> = {};
  for (const name of [...new Set(nodes.flatMap((n) => Object.keys(n.imported.vips)))]) {
    const lists = nodes.filter((n) => n.imported.vips[name]).map((n) => {
      const iface = n.imported.instances[name]?.fields.interface?.value;
      const item = n.imported.vips[name]!;
      const addresses = (item.fields.addresses!.value as string[]).map((a) => a.replace(new RegExp(`\\s+dev\\s+${String(iface).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=\\s|$)`), ''));
      return { node: n.name, addresses, at: item.fields.addresses!.at };
    });
    const base = lists[0]!;
    const other = lists.find((l) => !same(l.addresses, base.addresses));
    if (other) conflict(base.at, 'virtual_ipaddress', `vrrp_instance ${name}: the addresses differ between ${at(base.at)} (${base.node}) and ${at(other.at)} (${other.node}): a VIP group has the same addresses on every node`);
    vipGroups[name] = { instance: name, addresses: base.addresses };
    origins.push({ path: ['vip_groups', name], at: lists.map((l) => l.at) });
  }

  const trackScripts = sameEverywhere('track_scripts', (n) => n.trackScripts, 'vrrp_script');
  const syncGroups = sameEverywhere('vrrp_sync_groups', (n) => n.syncGroups, 'vrrp_sync_group');
  const virtualServers = sameEverywhere('virtual_servers', (n) => n.virtualServers, 'virtual_server');
  const vsgs = sameEverywhere('virtual_server_groups', (n) => n.virtualServerGroups, 'virtual_server_group');

  const global: Record<string, unknown> = {};
  for (const k of ['vrrp_priority', 'checker_priority', 'vrrp_log_unknown_vrids']) {
    const vals = nodes.map((n) => ({ node: n.name, s: n.imported.global[k] })).filter((v) => v.s);
    if (vals.length === 0) continue;
    const other = vals.find((v) => !same(v.s!.value, vals[0]!.s!.value));
    if (other) conflict(vals[0]!.s!.at, k, `global_defs ${k} differs between ${at(vals[0]!.s!.at)} and ${at(other.s!.at)}: one value for the cluster`);
    global[k] = vals[0]!.s!.value;
  }

  const config: Record<string, unknown> = {
    cluster: o.cluster,
    nodes: Object.fromEntries(nodes.map((n) => [n.name, {}])),
    zookeeper: { hosts: o.zookeeper ?? ['zk1:2181', 'zk2:2181', 'zk3:2181'], session_timeout: 1.5 },
    ...(o.nats ? { nats: { servers: o.nats } } : {}),
    ...(Object.keys(global).length > 0 ? { global_defs: global } : {}),
    ...(Object.keys(trackScripts).length > 0 ? { track_scripts: trackScripts } : {}),
    ...(Object.keys(instances).length > 0 ? { vrrp_instances: instances } : {}),
    ...(Object.keys(syncGroups).length > 0 ? { vrrp_sync_groups: syncGroups } : {}),
    ...(Object.keys(vipGroups).length > 0 ? { vip_groups: vipGroups } : {}),
    ...(Object.keys(vsgs).length > 0 ? { virtual_server_groups: Object.fromEntries(Object.entries(vsgs).map(([k, v]) => [k, v.members])) } : {}),
    ...(Object.keys(virtualServers).length > 0 ? { virtual_servers: virtualServers } : {}),
  };
  return { config, origins, warnings, conflicts };
}

/** Lines of the inputs that nothing translated and no warning names (a bug of the importer if any). */
export function unaccounted(lines: { file: string; line: number; text: string }[], nodes: ImportedNode[], warnings: Warning[]): { file: string; line: number; text: string }[] {
  const done = new Set<string>([...nodes.flatMap((n) => [...n.imported.used]), ...warnings.map(lineKey)]);
  return lines.filter((l) => !done.has(lineKey(l)));
}
