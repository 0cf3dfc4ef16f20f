import { instancesForNode, loadConfig, nodeNames, parseVipAddress } from '../../shared/config/index.js';
import { configFile } from '../../shared/config/node.js';
import { commonOptions, parse, UsageError, type Io } from '../common.js';
import { configUsage } from '../usage.js';


export function configCommand(argv: string[], io: Io): number {
  const [verb, ...rest] = argv;
  if (verb === '--help' || verb === '-h' || verb === 'help') {
    io.out(configUsage + '\n');
    return 0;
  }
  if (verb !== 'check') throw new UsageError(`unknown config verb "${verb ?? ''}"\n${configUsage}`);
  const { values, positionals } = parse(rest, commonOptions);
  if (values.help) {
    io.out(configUsage + '\n');
    return 0;
  }
  const file = positionals[0] ?? configFile(values.config);
  if (file === undefined) throw new UsageError('give the configuration file to check');
  const { config } = loadConfig(file); // throws ConfigError, printed by main
  const nodes = nodeNames(config);
  if (values.json) {
    io.out(JSON.stringify({ ok: true, file, cluster: config.cluster, nodes, config }) + '\n');
    return 0;
  }
  const lines = [
    `${file}: OK, cluster ${config.cluster}`,
    `  nodes: ${nodes.join(', ')}`,
    // What the profile filled in is shown as in force: the times a failover is made of.
    `  profile ${config.profile}: ZooKeeper session ${config.zookeeper.session_timeout} s, fence liveness ${config.fence.liveness_timeout} s`,
  ];
  for (const node of nodes) {
    for (const vi of instancesForNode(config, node)) {
      lines.push(`  ${node} ${vi.name}: vrid ${vi.virtual_router_id} on ${vi.interface}, VRRPv${vi.version} every ${vi.advert_int} s, priority ${vi.priority}, ${vi.state}${vi.nopreempt ? ', nopreempt' : ''}`);
    }
  }
  for (const [name, g] of Object.entries(config.vip_groups)) {
    lines.push(`  vip group ${name} (${g.instance}): ${g.addresses.map((a) => { const v = parseVipAddress(a); return `${v.address}/${v.prefix}`; }).join(', ')}`);
  }
  for (const [name, vs] of Object.entries(config.virtual_servers)) {
    const where = vs.fwmark !== undefined ? `fwmark ${vs.fwmark}` : vs.group !== undefined ? `group ${vs.group}` : `${vs.protocol} ${vs.ip}:${vs.port ?? 0}`;
    lines.push(`  virtual server ${name}: ${where} ${vs.lb_algo}/${vs.lb_kind}, ${vs.real_servers.length} real server${vs.real_servers.length === 1 ? '' : 's'}`);
  }
  io.out(lines.join('\n') + '\n');
  return 0;
}
