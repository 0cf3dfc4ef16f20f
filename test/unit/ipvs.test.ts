// The IPVS model: ipvsadm -Sn parsing, the minimal diff, and the desired table from
// configuration and health with keepalived's semantics. No kernel here (see
// test/integration/ipvs.test.ts for the real one).
import { describe, expect, it } from 'vitest';
import { desiredTable } from '../../services/ipvs/desired.js';
import { nextQuorum, type CheckState, type QuorumState } from '../../shared/quorum.js';
import { diffTables } from '../../services/ipvs/diff.js';
import { formatTable, parseTable, TableParseError } from '../../services/ipvs/table.js';
import { parseConfig } from '../../shared/config/index.js';

// As ipvsadm 1.31 prints it (captured from Debian 12's kernel in the test VM).
const SAVED = `-A -t 10.0.0.1:80 -s wrr -p 300 -M 255.255.255.0
-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 3
-a -t 10.0.0.1:80 -r 10.0.0.3:80 -g -w 0
-A -u 10.0.0.1:53 -s sh -b sh-port
-A --sctp-service 10.0.0.1:9 -s rr
-A -f 7 -s mh
-a -f 7 -r 10.0.0.4:0 -i -w 2 --tun-type ipip
`;

describe('ipvsadm -Sn parsing', () => {
  it('reads services of every kind with their servers, and writes them back', () => {
    const t = parseTable(SAVED);
    expect([...t.keys()].sort()).toEqual(['FWM 7', 'SCTP 10.0.0.1:9', 'TCP 10.0.0.1:80', 'UDP 10.0.0.1:53']);
    expect(t.get('TCP 10.0.0.1:80')!.service).toEqual({ protocol: 'TCP', address: '10.0.0.1:80', scheduler: 'wrr', persistence: 300, netmask: '255.255.255.0' });
    expect([...t.get('TCP 10.0.0.1:80')!.servers.values()]).toEqual([
      { address: '10.0.0.2:80', method: 'NAT', weight: 3 },
      { address: '10.0.0.3:80', method: 'DR', weight: 0 },
    ]);
    expect(t.get('UDP 10.0.0.1:53')!.service.flags).toBe('sh-port');
    expect(t.get('FWM 7')!.servers.get('10.0.0.4:0')).toEqual({ address: '10.0.0.4:0', method: 'TUN', weight: 2 });
    expect(parseTable(formatTable(t))).toEqual(t);
    expect(parseTable('')).toEqual(new Map());
  });

  it('refuses what it does not understand, naming the line', () => {
    expect(() => parseTable('-A -t 10.0.0.1:80 -s rr\n-X -t 1')).toThrow(new TableParseError('ipvsadm line 2 "-X -t 1": expected -A or -a'));
    expect(() => parseTable('-A -t 10.0.0.1:80 -s rr --frob')).toThrow(/unexpected "--frob"/);
    expect(() => parseTable('-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1')).toThrow(/real server of a service not listed before it/);
    expect(() => parseTable('-A -t 10.0.0.1:80')).toThrow(/no scheduler/);
  });
});

describe('diff', () => {
  const t = (text: string) => parseTable(text);
  const lines = (a: string, b: string) => diffTables(t(a), t(b)).map((o) => o.line);

  it('is empty for equal tables, whatever the order of their lines', () => {
    const reordered = `-A -f 7 -s mh
-a -f 7 -r 10.0.0.4:0 -i -w 2
-A -t 10.0.0.1:80 -s wrr -p 300 -M 255.255.255.0
-a -t 10.0.0.1:80 -r 10.0.0.3:80 -g -w 0
-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 3
-A --sctp-service 10.0.0.1:9 -s rr
-A -u 10.0.0.1:53 -s sh -b sh-port
`;
    expect(diffTables(t(SAVED), t(reordered))).toEqual([]);
    expect(diffTables(t(''), t(''))).toEqual([]);
  });

  it('creates everything from empty: services before their servers', () => {
    expect(lines('', SAVED)).toEqual([
      '-A -f 7 -s mh',
      '-A --sctp-service 10.0.0.1:9 -s rr',
      '-A -t 10.0.0.1:80 -s wrr -p 300 -M 255.255.255.0',
      '-A -u 10.0.0.1:53 -s sh -b sh-port',
      '-a -f 7 -r 10.0.0.4:0 -i -w 2',
      '-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 3',
      '-a -t 10.0.0.1:80 -r 10.0.0.3:80 -g -w 0',
    ]);
  });

  it('a weight-only change is one -e line', () => {
    const changed = SAVED.replace('-r 10.0.0.2:80 -m -w 3', '-r 10.0.0.2:80 -m -w 7');
    expect(diffTables(t(SAVED), t(changed))).toEqual([{ op: 'edit_server', service: 'TCP 10.0.0.1:80', server: '10.0.0.2:80', line: '-e -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 7' }]);
  });

  it('a scheduler or persistence change edits the service; a removed one is deleted first, with its servers', () => {
    expect(lines(SAVED, SAVED.replace('-s wrr -p 300 -M 255.255.255.0', '-s rr'))).toEqual(['-E -t 10.0.0.1:80 -s rr']);
    expect(lines(SAVED, SAVED.replace('-M 255.255.255.0', ''))).toEqual(['-E -t 10.0.0.1:80 -s wrr -p 300']);
    expect(lines('-A -t 10.0.0.1:80 -s wrr -p 300 -M 255.255.255.255', '-A -t 10.0.0.1:80 -s wrr -p 300')).toEqual([]);
    const without = SAVED.split('\n').filter((l) => !l.includes('-f 7')).join('\n');
    expect(lines(SAVED, without + '\n-A -t 10.0.0.9:443 -s lc\n')).toEqual(['-D -f 7', '-A -t 10.0.0.9:443 -s lc']);
  });

  it('a changed forwarding method edits the server; a gone one is deleted before new ones are added', () => {
    const next = SAVED.replace('-r 10.0.0.3:80 -g -w 0', '-r 10.0.0.5:80 -g -w 1').replace('-r 10.0.0.2:80 -m', '-r 10.0.0.2:80 -g');
    expect(lines(SAVED, next)).toEqual(['-d -t 10.0.0.1:80 -r 10.0.0.3:80', '-e -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 3', '-a -t 10.0.0.1:80 -r 10.0.0.5:80 -g -w 1']);
  });
});

const config = parseConfig(
  `
cluster: c
nodes: { n1: {} }
zookeeper: { hosts: ["127.0.0.1:2181"] }
virtual_server_groups:
  both: [{ ip: 10.0.0.31, port: 443 }, { fwmark: 9 }]
virtual_servers:
  web:
    ip: 10.0.0.31
    port: 80
    lb_algo: wrr
    lb_kind: DR
    persistence_timeout: 300
    persistence_granularity: 255.255.255.0
    quorum: 15
    hysteresis: 5
    sorry_server: { ip: 10.0.0.99 }
    real_servers:
      - { ip: 10.0.0.1, weight: 10, checks: [{ type: TCP_CHECK }, { type: HTTP_GET, url: [{ path: / }] }] }
      - { ip: 10.0.0.2, weight: 10, inhibit_on_failure: true, checks: [{ type: TCP_CHECK }] }
      - { ip: 10.0.0.3, port: 8080, weight: 5, checks: [{ type: MISC_CHECK, misc_path: [/bin/true], misc_dynamic: true, alpha: true }] }
  tls:
    group: both
    protocol: TCP
    lb_algo: rr
    alpha: true
    real_servers:
      - { ip: 10.0.1.1, port: 443, checks: [{ type: TCP_CHECK }] }
      - { ip: 10.0.1.2, port: 443 }
`,
  'ipvs.yaml',
).config;

type States = Record<string, Record<string, CheckState>>;
const health = (s: States) => new Map(Object.entries(s).map(([k, v]) => [k, new Map(Object.entries(v))]));
const table = (s: States, q: Record<string, QuorumState> = {}) => {
  const d = desiredTable(config, health(s), new Map(Object.entries(q)));
  return { ...d, text: formatTable(d.table) };
};

describe('desired table (keepalived virtual_server semantics)', () => {
  it('before any result: checks count as up, alpha ones as down; a group gives one service per member', () => {
    const d = table({});
    expect(d.text).toBe(`-A -f 9 -s rr
-a -f 9 -r 10.0.1.2:443 -m -w 1
-A -t 10.0.0.31:443 -s rr
-a -t 10.0.0.31:443 -r 10.0.1.2:443 -m -w 1
-A -t 10.0.0.31:80 -s wrr -p 300 -M 255.255.255.0
-a -t 10.0.0.31:80 -r 10.0.0.1:80 -g -w 10
-a -t 10.0.0.31:80 -r 10.0.0.2:80 -g -w 10
`);
    expect(d.owner.get('FWM 9')).toBe('tls');
    expect(d.quorumChanges).toEqual([]);
    // persistence_timeout 0 is no persistence (keepalived ignores a 0)
    const none = { ...config, virtual_servers: { web: { ...config.virtual_servers.web!, persistence_timeout: 0 } } };
    expect(formatTable(desiredTable(none, health({}), new Map()).table)).toContain('-A -t 10.0.0.31:80 -s wrr\n');
  });

  it('a real server is down when one check is down: removed, or weight 0 with inhibit_on_failure; misc_dynamic sets the weight', () => {
    const d = table({
      'rs:web/10.0.0.1:80': { 'TCP_CHECK#0': { to: 'up' }, 'HTTP_GET#1': { to: 'down' } },
      'rs:web/10.0.0.2:80': { 'TCP_CHECK#0': { to: 'down' } },
      'rs:web/10.0.0.3:8080': { 'MISC_CHECK#0': { to: 'up', weight: 20 } },
    });
    expect(d.text).toContain('-a -t 10.0.0.31:80 -r 10.0.0.2:80 -g -w 0\n-a -t 10.0.0.31:80 -r 10.0.0.3:8080 -g -w 20\n');
    expect(d.text).not.toContain('10.0.0.1:80');
  });

  it('quorum is lost below quorum - hysteresis: the sorry server replaces the real servers; regained only at quorum + hysteresis', () => {
    const down = { 'TCP_CHECK#0': { to: 'down' as const } };
    // up weight 10 (10.0.0.1 only): 10 is not below 15 - 5, quorum holds
    const ten = table({ 'rs:web/10.0.0.2:80': down });
    expect(ten.quorum.get('web')).toBe('up');
    // up weight 0: lost
    const none = table({ 'rs:web/10.0.0.1:80': down, 'rs:web/10.0.0.2:80': down });
    expect(none.quorumChanges).toEqual([{ vs: 'web', service: 'TCP 10.0.0.31:80', state: 'lost', upWeight: 0, quorum: 15, hysteresis: 5, sorryServer: '10.0.0.99:80' }]);
    expect(none.text).toContain('-A -t 10.0.0.31:80 -s wrr -p 300 -M 255.255.255.0\n-a -t 10.0.0.31:80 -r 10.0.0.99:80 -g -w 1\n');
    expect(none.text).not.toContain('10.0.0.2:80 -g -w 0');
    // back to 10: still lost (needs 20)
    const some = table({ 'rs:web/10.0.0.2:80': down }, { web: 'lost' });
    expect(some.quorum.get('web')).toBe('lost');
    expect(some.quorumChanges).toEqual([]);
    // 20: regained, real servers back, no sorry server
    const all = table({ 'rs:web/10.0.0.1:80': { 'TCP_CHECK#0': { to: 'up' } } }, { web: 'lost' });
    expect(all.quorumChanges.map((q) => q.state)).toEqual(['regained']);
    expect(all.text).not.toContain('10.0.0.99');
  });

  it('quorum hysteresis as a function', () => {
    expect(nextQuorum('up', 9, 10, 0)).toBe('lost');
    expect(nextQuorum('up', 10, 10, 0)).toBe('up');
    expect(nextQuorum('lost', 10, 10, 0)).toBe('up');
    expect(nextQuorum('up', 7, 10, 3)).toBe('up');
    expect(nextQuorum('up', 6, 10, 3)).toBe('lost');
    expect(nextQuorum('lost', 12, 10, 3)).toBe('lost');
    expect(nextQuorum('lost', 13, 10, 3)).toBe('up');
  });
});
