// vrrp_sync_group as keepalived runs it, and tracked virtual servers: given the members'
// states, when one of them gets a command, then what every member does. No I/O.
import { describe, expect, it } from 'vitest';
import { effectivePriority, initialState, type VrrpCommand, type VrrpEvent, type VrrpInstanceSpec } from '../../services/vrrp/decider.js';
import { planInstance, virtualServerTracker } from '../../services/vrrp/spec.js';
import { groupState, stepGroup, syncTracker, type Member } from '../../services/vrrp/sync.js';
import { configSchema, instancesForNode } from '../../shared/config/index.js';

const G = 'G1';
const spec = (name: string, over: Partial<VrrpInstanceSpec> = {}): VrrpInstanceSpec => ({
  name, version: 3, vrid: name === 'VI_1' ? 51 : 52, priority: 100, advertIntervalMs: 1000, preempt: true, preemptDelayMs: 0,
  downTimerAdverts: 3, primaryAddress: '10.0.0.2', synced: true, trackers: { [syncTracker(G)]: { weight: 0, initiallyOk: true } }, ...over,
});

class Group {
  members: Member[];
  constructor(...specs: VrrpInstanceSpec[]) {
    this.members = specs.map((s) => ({ name: s.name, state: initialState(s) }));
  }
  /** Runs a command on a member; the events of every member, as "member: event". */
  on(member: string, c: VrrpCommand): string[] {
    const { steps, members } = stepGroup(G, this.members, member, c);
    this.members = members;
    return steps.flatMap((s) => s.events.map((e) => `${s.member}: ${describe1(e)}`));
  }
  state(name: string) {
    return this.members.find((m) => m.name === name)!.state;
  }
  start(now = 0): void {
    for (const m of this.members) this.on(m.name, { type: 'start', now });
  }
}
function describe1(e: VrrpEvent): string {
  if (e.type === 'state_changed') return `${e.from}->${e.to}:${e.reason}`;
  if (e.type === 'advert_sent') return `advert(${e.priority})`;
  return e.type;
}
const tick = (now: number): VrrpCommand => ({ type: 'tick', now });
const advert = (now: number, priority: number): VrrpCommand => ({ type: 'advert', now, from: '10.0.0.9', priority, intervalMs: 1000 });
const downAt = 3000 + (156 * 1000) / 256;

describe('sync group: MASTER together', () => {
  it('a member whose master-down timer fires waits for the others; the last one ready takes the whole group to MASTER', () => {
    const g = new Group(spec('VI_1'), spec('VI_2'));
    g.start();
    expect(g.on('VI_1', tick(downAt))).toEqual(['VI_1: wants_master']);
    expect(g.state('VI_1').state).toBe('BACKUP');
    expect(g.state('VI_1').masterDownAt).toBeGreaterThan(downAt); // re-armed, as keepalived does
    expect(g.on('VI_2', tick(downAt + 5))).toEqual(['VI_2: wants_master', 'VI_1: BACKUP->MASTER:master_down_timer', 'VI_1: advert(100)', 'VI_2: BACKUP->MASTER:master_down_timer', 'VI_2: advert(100)']);
    expect(groupState(g.members)).toBe('MASTER');
  });
  it('an advert heard from a master takes back the wish: the group stays BACKUP (keepalived prefers BACKUP to thrashing)', () => {
    const g = new Group(spec('VI_1'), spec('VI_2'));
    g.start();
    g.on('VI_1', tick(downAt));
    g.on('VI_1', advert(downAt + 100, 150));
    expect(g.state('VI_1').wantsMaster).toBeUndefined();
    expect(g.on('VI_2', tick(downAt + 200))).toEqual(['VI_2: wants_master']);
    expect(groupState(g.members)).toBe('BACKUP');
  });
  it('an address owner (priority 255) is MASTER at start and takes the group along', () => {
    const g = new Group(spec('VI_1'), spec('VI_2', { priority: 255 }));
    g.on('VI_1', { type: 'start', now: 0 });
    expect(g.on('VI_2', { type: 'start', now: 0 })).toEqual(['VI_2: started', 'VI_2: INIT->MASTER:address_owner', 'VI_2: advert(255)', 'VI_1: BACKUP->MASTER:sync_group', 'VI_1: advert(100)']);
  });
});

describe('sync group: BACKUP and FAULT together', () => {
  const masters = () => {
    const g = new Group(spec('VI_1', { trackers: { [syncTracker(G)]: { weight: 0, initiallyOk: true }, 'script:chk': { weight: 0, initiallyOk: true } } }), spec('VI_2'));
    g.start();
    g.on('VI_1', tick(downAt));
    g.on('VI_2', tick(downAt));
    expect(groupState(g.members)).toBe('MASTER');
    return g;
  };
  it('a master that hears a higher priority takes the other masters down with it (they say so with priority 0)', () => {
    const g = masters();
    expect(g.on('VI_1', advert(5000, 200))).toEqual(['VI_1: higher_priority_seen', 'VI_1: MASTER->BACKUP:higher_priority_advert', 'VI_2: advert(0)', 'VI_2: MASTER->BACKUP:sync_group']);
    expect(groupState(g.members)).toBe('BACKUP');
  });
  it("a member's fault is the group's: every member goes to FAULT, and comes back when no member has a fault of its own", () => {
    const g = masters();
    const events = g.on('VI_1', { type: 'track', now: 5000, name: 'script:chk', ok: false, detail: 'exit 1' });
    expect(events).toEqual(['VI_1: tracker_changed', 'VI_1: advert(0)', 'VI_1: MASTER->FAULT:fault', 'VI_2: tracker_changed', 'VI_2: advert(0)', 'VI_2: MASTER->FAULT:fault']);
    expect(groupState(g.members)).toBe('FAULT');
    expect(g.state('VI_2').trackerOk[syncTracker(G)]).toBe(false);
    expect(g.state('VI_1').trackerOk[syncTracker(G)]).toBe(true); // its fault is its own
    expect(g.on('VI_1', { type: 'track', now: 6000, name: 'script:chk', ok: true })).toEqual(['VI_1: tracker_changed', 'VI_1: FAULT->BACKUP:fault_cleared', 'VI_2: tracker_changed', 'VI_2: FAULT->BACKUP:fault_cleared']);
  });
  it('a condition the whole group tracks: FAULT until every member has it back', () => {
    const both = { [syncTracker(G)]: { weight: 0, initiallyOk: true }, 'if:eth1': { weight: 0, initiallyOk: true } };
    const g = new Group(spec('VI_1', { trackers: both }), spec('VI_2', { trackers: both }));
    g.start();
    const down = (m: string, ok: boolean) => g.on(m, { type: 'track', now: 1000, name: 'if:eth1', ok });
    down('VI_1', false);
    down('VI_2', false);
    expect(groupState(g.members)).toBe('FAULT');
    down('VI_1', true);
    expect(groupState(g.members)).toBe('FAULT');
    down('VI_2', true);
    expect(g.members.map((m) => m.state.state)).toEqual(['BACKUP', 'BACKUP']);
  });
  it('stopping every member ends in STOPPED', () => {
    const g = masters();
    g.on('VI_1', { type: 'stop', now: 9000 });
    expect(groupState(g.members)).toBeUndefined();
    g.on('VI_2', { type: 'stop', now: 9000 });
    expect(groupState(g.members)).toBe('STOPPED');
  });
});

describe('planning tracked conditions', () => {
  const config = (extra: string) =>
    configSchema.parse({
      cluster: 'c', nodes: { n1: null }, zookeeper: { hosts: ['127.0.0.1:2181'] }, fence: { required: false },
      track_scripts: { chk: { script: ['/bin/true'], weight: -20 } },
      virtual_servers: { web: { ip: '10.0.0.31', port: 80, quorum: 2, real_servers: [{ ip: '10.0.1.1' }, { ip: '10.0.1.2' }] } },
      vrrp_instances: {
        VI_1: { interface: 'eth0', virtual_router_id: 51, track_script: ['chk'], track_virtual_server: [{ name: 'web', weight: -50 }] },
        VI_2: { interface: 'eth1', virtual_router_id: 52, track_interface: [{ name: 'eth1', weight: -10 }] },
      },
      ...JSON.parse(extra),
    });
  const plan = (c: ReturnType<typeof config>, name: string) => planInstance(c, instancesForNode(c, 'n1').find((i) => i.name === name)!, '10.0.0.2');

  it('a tracked virtual server is a weighted condition: quorum lost subtracts its weight', () => {
    const p = plan(config('{}'), 'VI_1');
    expect(p.spec.trackers[virtualServerTracker('web')]).toEqual({ weight: -50, initiallyOk: true });
    expect(p.spec.synced).toBe(false);
    const s = initialState(p.spec);
    expect(effectivePriority({ ...s, trackerOk: { ...s.trackerOk, [virtualServerTracker('web')]: false } })).toBe(50);
  });
  it("in a sync group, members' own weights become 0 (keepalived), the group's tracking applies to every member, and sync_group_tracking_weight keeps the weights", () => {
    const c = config(JSON.stringify({ vrrp_sync_groups: { G1: { group: ['VI_1', 'VI_2'], track_script: [{ name: 'chk', weight: -30 }] } } }));
    const p1 = plan(c, 'VI_1');
    expect(p1.syncGroup).toBe('G1');
    expect(p1.spec.synced).toBe(true);
    expect(p1.spec.trackers).toEqual({
      'script:chk': { weight: -30, initiallyOk: true }, // the group's reference wins over the member's zeroed one
      [virtualServerTracker('web')]: { weight: 0, initiallyOk: true },
      [syncTracker('G1')]: { weight: 0, initiallyOk: true },
    });
    expect(plan(c, 'VI_2').spec.trackers['if:eth1']).toEqual({ weight: 0, initiallyOk: true });
    const kept = config(JSON.stringify({ vrrp_sync_groups: { G1: { group: ['VI_1', 'VI_2'], sync_group_tracking_weight: true } } }));
    expect(plan(kept, 'VI_2').spec.trackers['if:eth1']).toEqual({ weight: -10, initiallyOk: true });
  });
});
