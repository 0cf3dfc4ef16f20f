import { describe, expect, it } from 'vitest';
import { compilerTierFor, steadyWorkPerSecond } from '../../shared/compiler-tier.js';
import { parseConfig } from '../../shared/config/index.js';

const config = (instances: number, advertInt: number, groups: number, realServers: number) => {
  const lines = ['cluster: c', 'nodes: { lb1: {}, lb2: {} }', 'zookeeper: { hosts: [zk:2181] }', 'vrrp_instances:'];
  for (let v = 1; v <= instances; v++) lines.push(`  VI_${v}: { interface: eth0, virtual_router_id: ${v}, version: 3, advert_int: ${advertInt} }`);
  lines.push('vip_groups:');
  for (let g = 1; g <= groups; g++) lines.push(`  g${g}: { instance: VI_1, addresses: [10.0.0.${g}/32] }`);
  lines.push('track_scripts:', '  alive: { script: [/bin/true], interval: 2 }');
  lines.push('virtual_servers:', '  web:', '    ip: 10.0.0.100', '    port: 80', '    delay_loop: 6', `    real_servers:${realServers === 0 ? ' []' : ''}`);
  for (let r = 1; r <= realServers; r++) lines.push(`      - { ip: 10.1.0.${r}, port: 80, checks: [{ type: TCP_CHECK }, { type: TCP_CHECK, delay_loop: 1 }] }`);
  return parseConfig(lines.join('\n') + '\n', 'c.yaml').config;
};

describe('which compiler a service gets', () => {
  it('counts the steady JavaScript work its configuration implies: renewals, checks and scripts a second (adverts are the socket\'s)', () => {
    const c = config(3, 0.5, 2, 2);
    expect(steadyWorkPerSecond('vrrp', c, 'lb2')).toBe(0);
    expect(steadyWorkPerSecond('fence', c, 'lb1')).toBe(4);
    expect(steadyWorkPerSecond('health', c, 'lb1')).toBeCloseTo(0.5 + 2 * (1 / 6 + 1));
    // the ipvs service follows the checks; the relay whatever the others record
    expect(steadyWorkPerSecond('ipvs', c, 'lb1')).toBeCloseTo(0.5 + 2 * (1 / 6 + 1));
    expect(steadyWorkPerSecond('relay', c, 'lb1')).toBeCloseTo(4 + 0.5 + 2 * (1 / 6 + 1));
  });

  it('an idle director runs on bytecode and baseline code; a busy service keeps the optimizing compiler', () => {
    const idle = config(1, 1, 1, 2);
    for (const s of ['vrrp', 'fence', 'health', 'ipvs', 'relay'] as const) expect(compilerTierFor(s, idle, 'lb1')).toBe('baseline');
    expect(compilerTierFor('vrrp', config(250, 0.1, 1, 0), 'lb1'), '2500 adverts a second, all the socket\'s').toBe('baseline');
    expect(compilerTierFor('fence', config(1, 1, 10, 0), 'lb1')).toBe('optimizing');
    expect(compilerTierFor('health', config(1, 1, 1, 20), 'lb1')).toBe('optimizing');
    expect(compilerTierFor('ipvs', config(1, 1, 1, 20), 'lb1')).toBe('optimizing');
    expect(compilerTierFor('relay', config(100, 0.1, 1, 0), 'lb1')).toBe('baseline');
    expect(compilerTierFor('relay', config(1, 1, 1, 20), 'lb1')).toBe('optimizing');
    expect(compilerTierFor('fence', config(1, 1, 9, 0), 'lb1'), '18 renewals a second').toBe('baseline');
  });
});
