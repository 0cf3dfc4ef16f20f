import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, instancesForNode, logPathForNode, parseConfig, parseVipAddress } from '../../shared/config/index.js';

const base = `cluster: test
nodes:
  lb1: {}
  lb2: {}
zookeeper:
  hosts: [127.0.0.1:2181]
`;

function problems(text: string, file = 'c.yaml'): string[] {
  try {
    parseConfig(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.file}:${i.line}:${i.column}: ${i.field}: ${i.message}`);
  }
  throw new Error('the configuration was accepted');
}

describe('configuration', () => {
  it('accepts the example in deploy/ and resolves per-node values', () => {
    const file = 'deploy/vigil.example.yaml';
    const { config } = parseConfig(readFileSync(file, 'utf8'), file);
    expect(config.cluster).toBe('prod-lb');
    const [lb1] = instancesForNode(config, 'lb1');
    const [lb2] = instancesForNode(config, 'lb2');
    expect([lb1!.priority, lb2!.priority]).toEqual([150, 100]);
    expect(lb1!.advert_int).toBe(0.1);
    expect(lb1!.garp_master_repeat).toBe(5); // keepalived's default
    expect(logPathForNode(config, 'lb1', file)).toBe('/var/lib/vigil/events.db');
    expect(() => instancesForNode(config, 'lb3')).toThrow(/not in the configuration/);
  });

  it('names file, line, column and field of a bad value', () => {
    expect(problems(`${base}vrrp_instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    priority: 300\n`)).toEqual([
      'c.yaml:11:5: vrrp_instances.VI_1.priority: must be at most 255',
    ]);
  });

  it('says what is wrong in a sentence, not in the validator\'s words', () => {
    expect(problems(`${base}vrrp_instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 0\n    advert_int: fast\n    version: 4\n    state: BOSS\n`)).toEqual([
      'c.yaml:10:5: vrrp_instances.VI_1.virtual_router_id: must be at least 1',
      'c.yaml:11:5: vrrp_instances.VI_1.advert_int: must be a number, not a string',
      'c.yaml:12:5: vrrp_instances.VI_1.version: must be one of 2, 3',
      'c.yaml:13:5: vrrp_instances.VI_1.state: must be one of "MASTER", "BACKUP"',
    ]);
  });

  it('zookeeper.failsafe: needs every node\'s address (named where the node is), and a secret of at least 16 characters', () => {
    expect(problems(`${base}  failsafe: true\n  failsafe_secret: short\n`)).toEqual([
      'c.yaml:8:3: zookeeper.failsafe_secret: must be at least 16 characters',
    ]);
    expect(problems(`${base}  failsafe: true\n`)).toEqual([
      "c.yaml:3:3: nodes.lb1.address: zookeeper.failsafe needs every node's address: the nodes confirm each other over it (UDP port zookeeper.failsafe_port)",
      "c.yaml:4:3: nodes.lb2.address: zookeeper.failsafe needs every node's address: the nodes confirm each other over it (UDP port zookeeper.failsafe_port)",
    ]);
    const ok = parseConfig(`${base.replace('lb1: {}', 'lb1: { address: 10.0.0.1 }').replace('lb2: {}', 'lb2: { address: 10.0.0.2 }')}  failsafe: true\n`, 'c.yaml').config;
    expect(ok.zookeeper).toMatchObject({ failsafe: true, failsafe_port: 5407 });
  });

  it('names a misspelt field where it is written', () => {
    expect(problems(`${base}vrrp_instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    prority: 100\n`)).toEqual([
      'c.yaml:11:5: vrrp_instances.VI_1.prority: unknown field (check its spelling and nesting)',
    ]);
  });

  it('names a missing required field at its parent', () => {
    expect(problems(`${base}vrrp_instances:\n  VI_1:\n    interface: eth0\n`)).toEqual([
      'c.yaml:8:3: vrrp_instances.VI_1.virtual_router_id: required (a number)',
    ]);
  });

  it('reports every problem, in file order, inside lists too', () => {
    const text = `${base}virtual_servers:
  web:
    ip: 10.0.0.31
    port: 80
    lb_algo: roundrobin
    real_servers:
      - ip: 10.0.0.29
        port: 80
        checks:
          - type: HTTP_GET
            url: [{ path: status }]
      - ip: 10.0.30
        port: 80
`;
    expect(problems(text)).toEqual([
      expect.stringMatching(/^c\.yaml:11:5: virtual_servers\.web\.lb_algo: must be one of "rr", "wrr", /),
      'c.yaml:17:21: virtual_servers.web.real_servers[0].checks[0].url[0].path: must start with "/"',
      'c.yaml:18:9: virtual_servers.web.real_servers[1].ip: must be an IPv4 address',
    ]);
  });

  it('checks references between sections', () => {
    const text = `${base}track_scripts:
  chk: { script: [/bin/true] }
vrrp_instances:
  VI_1: { interface: eth0, virtual_router_id: 51, track_script: [chk, chk_missing], nodes: { lb3: { priority: 1 } } }
  VI_2: { interface: eth0, virtual_router_id: 51, version: 3, advert_int: 0.005, authentication: { auth_type: PASS, auth_pass: x } }
vip_groups:
  web: { instance: VI_9, addresses: [10.0.0.31/24] }
  api: { instance: VI_1, addresses: [10.0.0.31/24 dev eth1] }
vrrp_sync_groups:
  G1: { group: [VI_1, VI_2], track_virtual_server: [{ name: nope, weight: -10 }] }
`;
    const p = problems(text);
    expect(p).toContainEqual('c.yaml:16:53: vrrp_sync_groups.G1.track_virtual_server[0]: no virtual server named "nope" under virtual_servers');
    expect(p).toContainEqual('c.yaml:10:71: vrrp_instances.VI_1.track_script[1]: no track script named "chk_missing" under track_scripts');
    expect(p).toContainEqual('c.yaml:10:94: vrrp_instances.VI_1.nodes.lb3: "lb3" is not one of the nodes (lb1, lb2)');
    expect(p).toContainEqual('c.yaml:11:28: vrrp_instances.VI_2.virtual_router_id: virtual_router_id 51 on eth0 is already used by VI_1');
    expect(p.some((x) => /VI_2\.advert_int: VRRPv3 adverts are centiseconds/.test(x))).toBe(true);
    expect(p.some((x) => /VI_2\.authentication: authentication exists only in VRRPv2/.test(x))).toBe(true);
    expect(p).toContainEqual('c.yaml:13:10: vip_groups.web.instance: no vrrp instance named "VI_9"');
    expect(p).toContainEqual('c.yaml:14:38: vip_groups.api.addresses[0]: 10.0.0.31 is already in VIP group web: one address, one lease');
  });

  it('refuses a ZooKeeper session too short for fenced VIPs (heartbeats must fit several times)', () => {
    const text = `${base}vrrp_instances:
  VI_1: { interface: eth0, virtual_router_id: 51 }
vip_groups:
  web: { instance: VI_1, addresses: [10.0.0.31/24] }
`.replace('hosts: [127.0.0.1:2181]', 'hosts: [127.0.0.1:2181]\n  session_timeout: 0.3');
    expect(problems(text).some((x) => /zookeeper\.session_timeout: must be at least 0\.4 s when VIP groups are fenced/.test(x))).toBe(true);
    expect(() => parseConfig(text.replace('session_timeout: 0.3', 'session_timeout: 0.4'), 'c.yaml')).not.toThrow();
  });

  it('profile: fast fills in the fast settings where the file has none; what the file says wins', () => {
    const fast = (extra: string, instance = '{ interface: eth0, virtual_router_id: 51 }') => parseConfig(`profile: fast
${base}${extra}vrrp_instances:
  VI_1: ${instance}
`, 'c.yaml').config;
    const c = fast('');
    expect(c.profile).toBe('fast');
    expect(c.zookeeper.session_timeout).toBe(0.4);
    expect(c.fence.liveness_timeout).toBe(0.3);
    expect(c.vrrp_instances.VI_1).toMatchObject({ version: 3, advert_int: 0.1 });
    expect(fast('fence: { required: true }\n').fence).toEqual({ required: true, liveness_timeout: 0.3 });
    expect(fast('fence: { liveness_timeout: 0.5 }\n').fence.liveness_timeout).toBe(0.5);
    expect(fast('').vrrp_instances.VI_1!.nodes).toEqual({});
    // a VRRPv2 instance (a keepalived peer's) keeps whole-second adverts; an explicit interval stays
    expect(fast('', '{ interface: eth0, virtual_router_id: 51, version: 2 }').vrrp_instances.VI_1).toMatchObject({ version: 2, advert_int: 1 });
    expect(fast('', '{ interface: eth0, virtual_router_id: 51, advert_int: 0.25 }').vrrp_instances.VI_1).toMatchObject({ version: 3, advert_int: 0.25 });
    // without a profile: the defaults
    const d = parseConfig(`${base}vrrp_instances:\n  VI_1: { interface: eth0, virtual_router_id: 51 }\n`, 'c.yaml').config;
    expect(d).toMatchObject({ profile: 'default', zookeeper: { session_timeout: 1.5 }, fence: { liveness_timeout: 0.5 } });
    expect(d.vrrp_instances.VI_1).toMatchObject({ version: 2, advert_int: 1 });
    expect(problems(`profile: quick\n${base}`)).toContainEqual('c.yaml:1:1: profile: must be one of "default", "fast"');
  });

  it('refuses two virtual servers for one IPVS service, also through a virtual_server_group', () => {
    const text = `${base}virtual_server_groups:
  g: [{ ip: 10.0.0.31, port: 443 }, { fwmark: 7 }]
virtual_servers:
  a: { ip: 10.0.0.31, port: 80 }
  b: { ip: 10.0.0.31, port: 80 }
  c: { ip: 10.0.0.31, port: 80, protocol: UDP }
  d: { fwmark: 7 }
  e: { group: g }
`;
    expect(problems(text)).toEqual([
      'c.yaml:11:3: virtual_servers.b: the IPVS service TCP 10.0.0.31:80 is already virtual server a',
      'c.yaml:14:3: virtual_servers.e: the IPVS service FWM 7 is already virtual server d',
    ]);
  });

  it('refuses node names that would split a NATS subject token when NATS is configured', () => {
    const text = `cluster: test\nnodes:\n  lb1.dc1: {}\nzookeeper: { hosts: [127.0.0.1:2181] }\nnats: { servers: [nats://127.0.0.1:4222] }\n`;
    expect(problems(text)).toEqual(['c.yaml:3:3: nodes.lb1.dc1: "lb1.dc1" is one token of NATS subjects (vigil.test.events.<node>...) and must not contain "."']);
  });

  it('reports YAML syntax errors and duplicate keys with their line', () => {
    expect(problems('cluster: a\nnodes:\n  lb1: {}\n  lb1: {}\n')[0]).toMatch(/^c\.yaml:4:3: : YAML: Map keys must be unique/);
    expect(problems('cluster: [a\n')[0]).toMatch(/^c\.yaml:\d+:\d+: : YAML: /);
  });

  it('reads both forms of a VIP address', () => {
    expect(parseVipAddress('10.0.0.31/24 dev eth0 label eth0:1')).toEqual({ address: '10.0.0.31', prefix: 24, dev: 'eth0', label: 'eth0:1' });
    expect(parseVipAddress({ address: '10.0.0.32/32' })).toEqual({ address: '10.0.0.32', prefix: 32, dev: undefined, label: undefined });
  });
});
