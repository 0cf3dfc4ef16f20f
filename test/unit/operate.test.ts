// The pure parts of operating: what a reload changes (by name), what vigil status makes of
// a node's record and ZooKeeper's tree, and how vigil zk reads a znode.
import { describe, expect, it } from 'vitest';
import { clusterFromTree, unreachable, verdict } from '../../cli/cluster/verdict.js';
import type { NodeView } from '../../cli/cluster/node-view.js';
import { describeZnode, type Znode } from '../../cli/cluster/zk-tree.js';
import { diffByName, sameJson } from '../../shared/config/diff.js';

describe('reload: the difference by name', () => {
  it('added, removed, changed and unchanged, each sorted; plans compared as data (a regular expression by its source)', () => {
    const running = new Map<string, unknown>([['b', { x: 1 }], ['a', { x: 1 }], ['c', { re: /a+/ }], ['gone', {}]]);
    const next = new Map<string, unknown>([['a', { x: 1 }], ['b', { x: 2 }], ['c', { re: /a+/ }], ['new', {}]]);
    expect(diffByName(running, next, sameJson)).toEqual({ added: ['new'], removed: ['gone'], changed: ['b'], unchanged: ['a', 'c'] });
    expect(sameJson({ re: /a+/ }, { re: /b+/ })).toBe(false);
  });
});

const znode = (path: string, data: unknown, session?: string): Znode => ({ path, session, version: 0, ctime: 0, mtime: 0, data: typeof data === 'string' ? data : JSON.stringify(data), meaning: '' });
const base = '/vigil/c';
const tree = [
  znode(`${base}/nodes/n1`, { node: 'n1', pid: 7, since: 'x' }, '0x1'),
  znode(`${base}/nodes/n2`, { node: 'n2' }, '0x2'),
  znode(`${base}/relays/n1`, { node: 'n1' }, '0x3'),
  znode(`${base}/vips/web/lock/c-n2-0000000009`, { node: 'n2' }, '0x2'),
  znode(`${base}/vips/web/lock/c-n1-0000000004`, { node: 'n1', since: '2026-12-04T20:00:00Z' }, '0x1'),
  znode(`${base}/vips/web/owner`, { node: 'n1', epoch: 4, since: 's', addresses: ['10.0.0.31/32 dev eth0'] }, '0x1'),
];

const healthy = (over: Partial<NodeView> = {}): NodeView => ({
  node: 'n1',
  services: (['vrrp', 'fence', 'health', 'ipvs', 'relay'] as const).map((service) => ({ service, state: 'alive' as const, pid: 1, age_ms: 10 })),
  zk: { state: 'connected', ts: 0, detail: null },
  instances: [{ name: 'VI_1', state: 'MASTER', since: 0, reason: null, detail: null, base_priority: 150, priority: 150, deductions: [], trackers: [] }],
  groups: [{ group: 'web', instance: 'VI_1', bound: true, epoch: 4, since: 0, denied: null, last_takeover: null }],
  health: { total: 2, up: 2, down: 0, unknown: 0, ts: 0 },
  relay: { backlog: 0, last_failure: null },
  log: { path: 'x', bytes: 0, events: 1 },
  ...over,
});

describe('vigil status: the verdict', () => {
  it('reads ZooKeeper: live nodes and relays, the lowest candidate holds, the others wait', () => {
    const c = clusterFromTree(base, tree, ['web', 'api']);
    expect(c.nodes).toEqual(['n1', 'n2']);
    expect(c.relays).toEqual(['n1']);
    expect(c.groups).toEqual([
      { group: 'web', holder: { node: 'n1', epoch: 4, since: '2026-12-04T20:00:00Z' }, waiting: [{ node: 'n2', epoch: 9 }], bound: { node: 'n1', addresses: ['10.0.0.31/32 dev eth0'] } },
      { group: 'api', holder: null, waiting: [], bound: null },
    ]);
  });

  it('ok, degraded (a candidate waiting, a node without session, a check down, a weighted condition failing) and critical (no holder, FAULT, a dead service, no ZooKeeper)', () => {
    const ok = clusterFromTree(base, tree.filter((z) => !z.path.includes('c-n2')), ['web']);
    expect(verdict(healthy(), ok, ['n1', 'n2'])).toEqual({ level: 'ok', problems: [] });
    const waiting = verdict(healthy(), clusterFromTree(base, tree, ['web']), ['n1', 'n2']);
    expect(waiting.level).toBe('degraded');
    expect(waiting.problems.map((p) => p.text)).toEqual(['VIP group web: n2 is VRRP MASTER and waits for the lease held by n1 (epoch 9)']);
    const degraded = verdict(
      healthy({ health: { total: 2, up: 1, down: 1, unknown: 0, ts: 0 }, instances: [{ ...healthy().instances[0]!, priority: 130, deductions: [{ name: 'chk', weight: -20, state: 'fail', reason: 'exit 1' }] }] }),
      ok,
      ['n1', 'n2', 'n3'],
    );
    expect(degraded.level).toBe('degraded');
    expect(degraded.problems.map((p) => p.text)).toEqual(['VI_1: chk failing (priority -20): exit 1', 'node n3 is not alive in ZooKeeper (no fence session)', '1 of 2 checks down (see vigil health --down)']);
    const critical = verdict(
      healthy({ services: healthy().services.map((s) => (s.service === 'ipvs' ? { ...s, state: 'silent', age_ms: 3100 } : s)), instances: [{ ...healthy().instances[0]!, state: 'FAULT', detail: 'fence failed' }] }),
      clusterFromTree(base, [], ['web']),
      ['n1'],
    );
    expect(critical.level).toBe('critical');
    expect(critical.problems.map((p) => `${p.level}: ${p.text}`)).toEqual([
      'critical: ipvs service not alive: last heartbeat 3.1 s ago (pid 1)',
      'critical: VI_1 is in FAULT: fence failed',
      'critical: VIP group web has no holder: no node is MASTER with the lease',
      'degraded: node n1 is not alive in ZooKeeper (no fence session)',
    ]);
    expect(verdict(healthy({ zk: { state: 'lost', ts: 0, detail: 'deadline passed' } }), unreachable('timeout'), ['n1']).problems.map((p) => p.text)).toEqual([
      'ZooKeeper unreachable from here: timeout',
      "the fence's ZooKeeper session is lost (deadline passed): this node holds no lease",
    ]);
  });
});

describe('vigil zk: what a znode means', () => {
  it('names holders and waiters, owners, tenures and live nodes; anything else says nothing', () => {
    expect(describeZnode(base, `${base}/vips/web/lock/c-n1-0000000004`, '{"node":"n1"}', 'c-n1-0000000004')).toBe('n1 holds the lease of web (epoch 4)');
    expect(describeZnode(base, `${base}/vips/web/lock/c-n2-0000000009`, '{}', 'c-n1-0000000004')).toBe('n2 waits for the lease of web (epoch 9)');
    expect(describeZnode(base, `${base}/vips/web/tenure`, JSON.stringify({ node: 'n1', epoch: 4, valid_until: 0, gone_at: 1000 }))).toBe('last tenure of web: n1 (epoch 4), addresses removed at 1970-01-01T00:00:01.000Z');
    expect(describeZnode(base, `${base}/vips/web/owner`, 'not json')).toBe('owner data is not JSON');
    expect(describeZnode(base, `${base}/hearing/n2`, JSON.stringify({ node: 'n2', instances: { VI_1: { address: '10.0.0.2', hears: ['10.0.0.1'] } } }))).toBe('whose VRRP adverts n2 hears: VI_1 (from 10.0.0.2) hears 10.0.0.1');
    expect(describeZnode(base, `${base}/hearing/n2`, JSON.stringify({ node: 'n2', instances: {} }))).toBe("whose VRRP adverts n2 hears: nothing known (its vrrp service is not running)");
    expect(describeZnode(base, `${base}/hearing/n2`, '{"node":"n3","instances":{}}')).toBe('not a hearing record vigil writes (names node "n3", not "n2"): n2 counts as hearing every holder');
    expect(describeZnode(base, `${base}/nodes/n2`, '{"pid":3}')).toBe('node n2 alive: its fence service has a session pid 3');
    expect(describeZnode(base, '/other/thing', '{}')).toBe('');
  });
});
