// Alert rules and notify rules: given these events, these alerts and these scripts.
import { describe, expect, it } from 'vitest';
import { AlertRules, type AlertDraft } from '../../services/relay/alerts.js';
import { NotifyRules } from '../../services/relay/notify.js';
import { Progress } from '../../services/relay/progress.js';
import { parseConfig } from '../../shared/config/index.js';
import type { StoredEvent } from '../../shared/eventlog/index.js';
import { given, scriptedLog as script } from '../harness/events.js';

const rules = (node = 'n2', vipUnownedMs = 3000) => new AlertRules({ node, vipUnownedMs, leaseDeniedMs: 3000, groupAddresses: new Map([['web', ['10.0.0.31/24']]]) });
const kinds = (alerts: AlertDraft[]) => alerts.map((a) => `${a.severity}/${a.kind}`);
const applyAll = (r: AlertRules, events: StoredEvent[]) => given(events, (e) => r.apply(e));

describe('alert rules', () => {
  it('a failover says who, from whom, why and how long the VIP was unowned, with the events behind it', () => {
    const ev = script();
    const r = rules();
    const events = [
      ev('relay.lease_observed', 'vip:web', { group: 'web', holder: { node: 'n1', epoch: 7 }, previous: null, speaker: 'n1' }),
      ev('relay.lease_observed', 'vip:web', { group: 'web', holder: null, previous: { node: 'n1', epoch: 7 }, speaker: 'n2' }, { ts: 2_000_000 }),
      ev('vrrp.state_changed', 'vrrp:VI_1', { instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer', detail: 'no advert from 10.0.0.1 for 361 ms', priority: 100 }, { ts: 2_000_100 }),
    ];
    events.push(ev('fence.lease_acquired', 'vip:web', { group: 'web', epoch: 8 }, { causation: 3, ts: 2_001_500 }));
    events.push(ev('vip.bound', 'vip:web', { group: 'web', epoch: 8, addresses: [{ address: '10.0.0.31', prefix: 24, interface: 'eth0' }], valid_lft_s: 1 }, { causation: 3, ts: 2_001_920 }));
    const alerts = applyAll(r, events);
    expect(kinds(alerts)).toEqual(['warning/failover']);
    const [a] = alerts;
    expect(a!.summary).toBe('VIP group web (10.0.0.31/24) moved to n2 from n1 (epoch 7 -> 8): VI_1 became MASTER (master down timer: no advert from 10.0.0.1 for 361 ms); unowned for at least 1.92 s (between the leases)');
    expect(a!.id).toBe('failover:web:8');
    expect(a!.events).toEqual(['n2:log:2', 'n2:log:3', 'n2:log:4', 'n2:log:5']);
    expect(a!.details).toMatchObject({ from: 'n1', to: 'n2', unowned_ms: 1920, reason: 'master_down_timer' });
    expect(a!.cause).toBe(5);
  });

  it("the unowned time is what clients saw: from the old holder's addresses gone (kernel lifetime after a crash) to this bind", () => {
    const ev = script();
    const alerts = applyAll(rules(), [
      ev('relay.lease_observed', 'vip:web', { group: 'web', holder: { node: 'n1', epoch: 7 }, previous: null, speaker: 'n1' }),
      ev('relay.lease_observed', 'vip:web', { group: 'web', holder: null, previous: { node: 'n1', epoch: 7 }, speaker: 'n2' }, { ts: 2_001_400 }),
      ev('vrrp.state_changed', 'vrrp:VI_1', { instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer', priority: 100 }, { ts: 2_000_400 }),
      ev('vip.bound', 'vip:web', { group: 'web', epoch: 8, addresses: [{ address: '10.0.0.31', prefix: 24, interface: 'eth0' }], valid_lft_s: 1, previous: { node: 'n1', epoch: 7, gone_at: 2_000_900, how: 'lifetime' } }, { causation: 3, ts: 2_001_500 }),
    ]);
    expect(kinds(alerts)).toEqual(['warning/failover']);
    expect(alerts[0]!.summary).toContain('no node had the addresses for 0.60 s (the kernel of n1 dropped them when their lifetime ran out)');
    expect(alerts[0]!.details).toMatchObject({ unowned_ms: 600, gone: 'lifetime' });
  });

  it("a tenure that names this node (the holder in between did not write it) gives way to the lease's record of whom it waited for", () => {
    const ev = script();
    const alerts = applyAll(rules(), [
      ev('fence.lease_acquired', 'vip:web', { group: 'web', epoch: 9, previous: { node: 'n3', epoch: 8 } }),
      ev('vip.bound', 'vip:web', { group: 'web', epoch: 9, addresses: [{ address: '10.0.0.31', prefix: 24, interface: 'eth0' }], valid_lft_s: 1, previous: { node: 'n2', epoch: 7, gone_at: 1, how: 'unbound' } }),
    ]);
    expect(alerts[0]!.summary).toContain('moved to n2 from n3 (epoch 8 -> 9)');
  });

  it('a handover the old holder made itself is routine: info, not warning', () => {
    const ev = script();
    const alerts = applyAll(rules(), [
      ev('vrrp.state_changed', 'vrrp:VI_1', { instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'priority_zero_advert', priority: 100 }, { ts: 2_000_000 }),
      ev('vip.bound', 'vip:web', { group: 'web', epoch: 8, addresses: [{ address: '10.0.0.31', prefix: 24, interface: 'eth0' }], valid_lft_s: 1, previous: { node: 'n1', epoch: 7, gone_at: 2_000_010, how: 'unbound' } }, { causation: 1, ts: 2_000_090 }),
    ]);
    expect(kinds(alerts)).toEqual(['info/failover']);
    expect(alerts[0]!.summary).toContain('no node had the addresses for 0.08 s (n1 removed them)');
  });

  it('a failover the relay did not watch still names the previous holder (from the fence) and says the unowned time is unknown', () => {
    const ev = script();
    const alerts = applyAll(rules(), [
      ev('fence.lease_acquired', 'vip:web', { group: 'web', epoch: 9, previous: { node: 'n3', epoch: 4 } }),
      ev('vip.bound', 'vip:web', { group: 'web', epoch: 9, addresses: [{ address: '10.0.0.31', prefix: 24, interface: 'eth0' }], valid_lft_s: 1 }),
    ]);
    expect(alerts[0]!.summary).toContain('moved to n2 from n3 (epoch 4 -> 9)');
    expect(alerts[0]!.summary).toContain('unowned is unknown');
    expect(alerts[0]!.details.unowned_ms).toBeNull();
  });

  it('binding a VIP nobody held before, or that this node held, is no failover', () => {
    const ev = script();
    const bound = (epoch: number) => ev('vip.bound', 'vip:web', { group: 'web', epoch, addresses: [{ address: '10.0.0.31', prefix: 24, interface: 'eth0' }], valid_lft_s: 1 });
    const r = rules();
    expect(applyAll(r, [ev('fence.lease_acquired', 'vip:web', { group: 'web', epoch: 1 }), bound(1)])).toEqual([]);
    expect(applyAll(r, [
      ev('relay.lease_observed', 'vip:web', { group: 'web', holder: null, previous: { node: 'n2', epoch: 1 }, speaker: 'n2' }),
      ev('fence.lease_acquired', 'vip:web', { group: 'web', epoch: 2 }),
      bound(2),
    ])).toEqual([]);
  });

  it('a lease denied for longer than a handover takes is a critical alert: a split brain averted; once', () => {
    const ev = script();
    const r = rules();
    const denied = ev('fence.lease_denied', 'vip:web', { group: 'web', epoch: 12, holder: 'n1', holder_epoch: 11 });
    expect(r.apply(denied)).toEqual([]);
    expect(r.nextDueAt()).toBe(denied.ts + 3000);
    expect(r.due(denied.ts + 2999)).toEqual([]);
    const alerts = r.due(denied.ts + 3000);
    expect(kinds(alerts)).toEqual(['critical/lease_denied']);
    expect(alerts[0]!.summary).toBe('n2 has been MASTER for 3.00 s but n1 holds the lease of VIP group web (10.0.0.31/24) (epoch 11): two nodes each believe they must hold it (VRRP cannot hear between them?); split brain averted, n2 does not bind it');
    expect(r.due(denied.ts + 10_000)).toEqual([]);
  });

  it('a lease denied while the old holder lets go (a routine preemption) raises nothing', () => {
    const ev = script();
    const r = rules();
    const denied = ev('fence.lease_denied', 'vip:web', { group: 'web', epoch: 12, holder: 'n1', holder_epoch: 11 });
    r.apply(denied);
    r.apply(ev('fence.lease_acquired', 'vip:web', { group: 'web', epoch: 12, previous: { node: 'n1', epoch: 11 } }, { ts: denied.ts + 40 }));
    expect(r.due(denied.ts + 60_000)).toEqual([]);
    // or it stopped being MASTER and left the lock
    r.apply(ev('fence.lease_denied', 'vip:web', { group: 'web', epoch: 14, holder: 'n1', holder_epoch: 13 }, { ts: denied.ts + 100_000 }));
    r.apply(ev('fence.lease_candidate', 'vip:web', { group: 'web', action: 'left', candidate: '/x/c-n2-0000000014', epoch: 14 }, { ts: denied.ts + 100_500 }));
    expect(r.due(denied.ts + 200_000)).toEqual([]);
    expect(r.nextDueAt()).toBeUndefined();
  });

  it('a VIP unowned past the threshold is alerted once, by the speaker only, then its new owner is announced', () => {
    const ev = script();
    const speaker = rules('n2', 3000);
    const other = rules('n3', 3000);
    const vacant = ev('relay.lease_observed', 'vip:web', { group: 'web', holder: null, previous: { node: 'n1', epoch: 7 }, speaker: 'n2' }, { ts: 10_000 });
    for (const r of [speaker, other]) expect(r.apply(vacant)).toEqual([]);
    expect(speaker.nextDueAt()).toBe(13_000);
    expect(other.nextDueAt()).toBeUndefined();
    expect(speaker.due(12_999)).toEqual([]);
    const due = speaker.due(13_000);
    expect(kinds(due)).toEqual(['critical/vip_unowned']);
    expect(due[0]!.summary).toBe('VIP group web (10.0.0.31/24) has had no owner for 3.00 s; last held by n1 (epoch 7): no node is MASTER with a lease');
    expect(due[0]!.id).toBe('vip_unowned:web:7');
    expect(speaker.due(20_000)).toEqual([]);
    expect(other.due(20_000)).toEqual([]);
    const taken = ev('relay.lease_observed', 'vip:web', { group: 'web', holder: { node: 'n3', epoch: 8 }, previous: null, speaker: 'n2' }, { ts: 14_100 });
    const back = speaker.apply(taken);
    expect(kinds(back)).toEqual(['info/vip_owned']);
    expect(back[0]!.summary).toContain('held again, by n3 (epoch 8), after 4.10 s without an owner');
    expect(other.apply(taken)).toEqual([]);
  });

  it('a short vacancy raises nothing; one that ended while the relay was away is alerted late, not never', () => {
    const ev = script();
    const r = rules('n2', 3000);
    r.apply(ev('relay.lease_observed', 'vip:web', { group: 'web', holder: null, previous: { node: 'n1', epoch: 7 }, speaker: 'n2' }, { ts: 10_000 }));
    expect(r.apply(ev('relay.lease_observed', 'vip:web', { group: 'web', holder: { node: 'n2', epoch: 8 }, previous: null, speaker: 'n2' }, { ts: 10_400 }))).toEqual([]);
    r.apply(ev('relay.lease_observed', 'vip:web', { group: 'web', holder: null, previous: { node: 'n2', epoch: 8 }, speaker: 'n2' }, { ts: 20_000 }));
    const late = r.apply(ev('relay.lease_observed', 'vip:web', { group: 'web', holder: { node: 'n1', epoch: 9 }, previous: null, speaker: 'n2' }, { ts: 25_000 }));
    expect(kinds(late)).toEqual(['critical/vip_unowned', 'info/vip_owned']);
    expect(late[0]!.id).toBe('vip_unowned:web:8');
  });

  it('an unowned alert recorded before a restart is not raised again when the log is replayed', () => {
    const ev = script();
    const vacant = ev('relay.lease_observed', 'vip:web', { group: 'web', holder: null, previous: { node: 'n1', epoch: 7 }, speaker: 'n2' }, { ts: 10_000 });
    const first = rules();
    first.apply(vacant);
    const [alert] = first.due(13_000);
    const recorded = ev('relay.alert', 'alert:vip_unowned', { id: alert!.id, kind: alert!.kind, severity: alert!.severity, summary: alert!.summary, events: alert!.events, details: alert!.details });
    const restarted = rules();
    restarted.apply(vacant);
    restarted.apply(recorded);
    expect(restarted.due(30_000)).toEqual([]);
  });

  it('a node leaving ZooKeeper is alerted by the speaker only; its return is news too, its first join is not', () => {
    const ev = script();
    const joined = (speaker: string) => ev('relay.node_changed', 'node:n1', { node: 'n1', change: 'joined', speaker });
    const left = ev('relay.node_changed', 'node:n1', { node: 'n1', change: 'left', speaker: 'n2' });
    const n2 = rules('n2');
    expect(n2.apply(joined('n2')), 'a node that was never gone is not back').toEqual([]);
    expect(kinds(n2.apply(left))).toEqual(['critical/node_gone']);
    const n3 = rules('n3');
    expect(n3.apply(left)).toEqual([]);
    expect(kinds(n2.apply(joined('n2')))).toEqual(['info/node_back']);
    // The speaker may have changed meanwhile: the one that speaks at the return says it.
    expect(kinds(n3.apply(joined('n3')))).toEqual(['info/node_back']);
    expect(n3.apply(joined('n3')), 'once').toEqual([]);
  });

  it('a service that went silent or stopped with an error is gone; a stop by signal is not an alert', () => {
    const ev = script();
    const r = rules();
    expect(r.apply(ev('relay.service_lost', 'service:fence', { service: 'fence', pid: 42, silent_ms: 2100 }))[0]!.summary).toBe(
      'the fence service of n2 (pid 42) stopped beating 2.10 s ago without recording a stop (killed, hung or crashed)',
    );
    expect(kinds(r.apply(ev('service.stopped', 'service:vrrp', { service: 'vrrp', pid: 43, reason: 'error', error: 'EPERM' })))).toEqual(['critical/service_gone']);
    expect(r.apply(ev('service.stopped', 'service:vrrp', { service: 'vrrp', pid: 44, reason: 'signal', signal: 'SIGTERM' }))).toEqual([]);
  });

  it('a real server is down when one check is down and up again only when all are up; assumed states at start are quiet', () => {
    const ev = script();
    const r = rules();
    const h = (check: string, from: 'up' | 'down' | 'unknown', to: 'up' | 'down' | 'unknown', reason = 'x') =>
      ev('health.changed', 'rs:web/10.0.0.29:80', { target: '10.0.0.29:80', check, from, to, reason });
    expect(applyAll(r, [h('HTTP_GET#0', 'unknown', 'up'), h('TCP_CHECK#1', 'unknown', 'up')])).toEqual([]);
    const down = r.apply(h('HTTP_GET#0', 'up', 'down', 'HTTP 503 on GET /status from 10.0.0.29:80 (expected 200) after 3 retries'));
    expect(kinds(down)).toEqual(['warning/rs_down']);
    expect(down[0]!.summary).toBe('real server web/10.0.0.29:80 is down: HTTP_GET#0: HTTP 503 on GET /status from 10.0.0.29:80 (expected 200) after 3 retries');
    expect(r.apply(h('TCP_CHECK#1', 'up', 'down'))).toEqual([]); // already down
    expect(r.apply(h('HTTP_GET#0', 'down', 'up'))).toEqual([]); // TCP still down
    expect(kinds(r.apply(h('TCP_CHECK#1', 'down', 'up')))).toEqual(['info/rs_up']);
    expect(kinds(rules().apply(h('HTTP_GET#0', 'unknown', 'down')))).toEqual(['warning/rs_down']); // down from the start is news
  });

  it('quorum lost names the sorry server; regained is info', () => {
    const ev = script();
    const r = rules();
    const lost = r.apply(ev('ipvs.quorum_changed', 'vs:web', { service: 'TCP 10.0.0.31:80', state: 'lost', up_weight: 1, quorum: 2, hysteresis: 0, sorry_server: '10.0.0.99:80' }));
    expect(kinds(lost)).toEqual(['critical/quorum_lost']);
    expect(lost[0]!.summary).toBe('virtual server web (TCP 10.0.0.31:80) lost its quorum: up weight 1 < quorum 2; the sorry server 10.0.0.99:80 takes the traffic');
    expect(kinds(r.apply(ev('ipvs.quorum_changed', 'vs:web', { service: 'TCP 10.0.0.31:80', state: 'regained', up_weight: 3, quorum: 2, hysteresis: 1 })))).toEqual(['info/quorum_regained']);
  });

  it('a notify script that failed, timed out or could not start is a warning; one that succeeded is not', () => {
    const ev = script();
    const r = rules();
    const ran = (exit_code: number | null, timed_out = false, signal: string | null = null, output_tail = '') =>
      ev('relay.notify_ran', 'notify:VI_1', { script: 'notify_master', argv: ['/etc/vigil/master.sh'], exit_code, signal, timed_out, duration_ms: 12, output_tail });
    expect(r.apply(ran(0))).toEqual([]);
    expect(r.apply(ran(3, false, null, 'starting\nno route to host\n'))[0]!.summary).toBe('notify_master script /etc/vigil/master.sh for VI_1 exited with status 3: no route to host');
    expect(r.apply(ran(null, true, 'SIGTERM'))[0]!.summary).toContain('timed out after 12 ms and was killed');
    expect(r.apply(ran(null, false, null, 'spawn ENOENT'))[0]!.summary).toContain('could not start: spawn ENOENT');
  });
});

const notifyConfig = parseConfig(
  `
cluster: c
nodes: { n1: {}, n2: {} }
zookeeper: { hosts: ["127.0.0.1:2181"] }
vrrp_instances:
  VI_1:
    interface: eth0
    virtual_router_id: 51
    priority: 100
    notify: ["/bin/notify", "--verbose"]
    notify_master: ["/bin/master", "x"]
    notify_stop: ["/bin/stop"]
    nodes: { n2: { priority: 90 } }
vrrp_sync_groups:
  G1:
    group: [VI_1]
    notify: ["/bin/gnotify"]
    notify_fault: ["/bin/gfault"]
virtual_servers:
  web:
    ip: 10.0.0.31
    port: 80
    quorum_down: ["/bin/qdown"]
    real_servers:
      - { ip: 10.0.0.29, notify_up: ["/bin/up", "29"], notify_down: ["/bin/down", "29"] }
`,
  'notify.yaml',
).config;

describe('notify rules (keepalived arguments)', () => {
  const state = (to: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOPPED' | 'INIT', priority = 90) => ({
    instance: 'VI_1', from: 'BACKUP' as const, to, reason: 'master_down_timer' as const, priority,
  });

  it('runs notify_<state> as configured, then notify with INSTANCE name STATE priority appended, one key per instance', () => {
    const ev = script();
    const n = new NotifyRules(notifyConfig, 'n2');
    expect(n.jobs(ev('vrrp.state_changed', 'vrrp:VI_1', state('MASTER')))).toEqual([
      { key: 'VI_1', script: 'notify_master', argv: ['/bin/master', 'x'] },
      { key: 'VI_1', script: 'notify', argv: ['/bin/notify', '--verbose', 'INSTANCE', 'VI_1', 'MASTER', '90'] },
    ]);
    expect(n.jobs(ev('vrrp.state_changed', 'vrrp:VI_1', state('BACKUP')))).toEqual([
      { key: 'VI_1', script: 'notify', argv: ['/bin/notify', '--verbose', 'INSTANCE', 'VI_1', 'BACKUP', '90'] },
    ]);
    expect(n.jobs(ev('vrrp.state_changed', 'vrrp:VI_1', state('STOPPED', 0))).map((j) => j.argv)).toEqual([['/bin/stop'], ['/bin/notify', '--verbose', 'INSTANCE', 'VI_1', 'STOP', '0']]);
    expect(n.jobs(ev('vrrp.state_changed', 'vrrp:VI_1', state('INIT')))).toEqual([]);
  });

  it('runs a sync group\'s notify_<state>, then notify with GROUP name STATE 0 (keepalived), on its own key', () => {
    const ev = script();
    const n = new NotifyRules(notifyConfig, 'n1');
    const group = (from: 'INIT' | 'MASTER', to: 'BACKUP' | 'FAULT' | 'INIT' | 'STOPPED') => ev('vrrp.group_changed', 'vrrp_group:G1', { group: 'G1', from, to, members: { VI_1: to }, detail: 'x' });
    expect(n.jobs(group('MASTER', 'FAULT'))).toEqual([
      { key: 'group:G1', script: 'notify_fault', argv: ['/bin/gfault'] },
      { key: 'group:G1', script: 'notify', argv: ['/bin/gnotify', 'GROUP', 'G1', 'FAULT', '0'] },
    ]);
    expect(n.jobs(group('INIT', 'BACKUP')).map((j) => j.argv)).toEqual([['/bin/gnotify', 'GROUP', 'G1', 'BACKUP', '0']]);
    expect(n.jobs(group('MASTER', 'STOPPED')).map((j) => j.argv)).toEqual([['/bin/gnotify', 'GROUP', 'G1', 'STOP', '0']]);
    expect(n.jobs(group('MASTER', 'INIT'))).toEqual([]);
  });

  it('runs notify_down/notify_up when the real server (all its checks) changes, not for the state assumed at start', () => {
    const ev = script();
    const n = new NotifyRules(notifyConfig, 'n1');
    const h = (check: string, from: 'up' | 'down' | 'unknown', to: 'up' | 'down') => ev('health.changed', 'rs:web/10.0.0.29:80', { target: '10.0.0.29:80', check, from, to, reason: 'x' });
    expect(n.jobs(h('TCP_CHECK#0', 'unknown', 'up'))).toEqual([]);
    expect(n.jobs(h('TCP_CHECK#0', 'up', 'down'))).toEqual([{ key: 'web/10.0.0.29:80', script: 'notify_down', argv: ['/bin/down', '29'] }]);
    expect(n.jobs(h('TCP_CHECK#0', 'down', 'up'))).toEqual([{ key: 'web/10.0.0.29:80', script: 'notify_up', argv: ['/bin/up', '29'] }]);
  });

  it('runs quorum_down/quorum_up of the virtual server; events without scripts ask for nothing', () => {
    const ev = script();
    const n = new NotifyRules(notifyConfig, 'n1');
    expect(n.jobs(ev('ipvs.quorum_changed', 'vs:web', { service: 'TCP 10.0.0.31:80', state: 'lost', up_weight: 0, quorum: 1, hysteresis: 0 }))).toEqual([{ key: 'web', script: 'quorum_down', argv: ['/bin/qdown'] }]);
    expect(n.jobs(ev('ipvs.quorum_changed', 'vs:web', { service: 'TCP 10.0.0.31:80', state: 'regained', up_weight: 1, quorum: 1, hysteresis: 0 }))).toEqual([]);
    expect(n.jobs(ev('operator.note', 'operator:me', { text: 'x', author: 'me' }))).toEqual([]);
    expect(n.any).toBe(true);
  });
});

describe('notify progress', () => {
  it('moves the cursor past finished events only, whatever order they finish in', () => {
    const p = new Progress(10);
    p.started(12);
    p.started(15);
    p.readUpTo(20);
    expect(p.cursor).toBe(11);
    p.finished(15);
    expect(p.cursor).toBe(11);
    p.finished(12);
    expect(p.cursor).toBe(20);
  });
});

describe('ZooKeeper lost by this node', () => {
  const zk = (ev: ReturnType<typeof script>, state: 'connected' | 'lost' | 'suspended', ts: number, service?: 'starting' | 'stopping') =>
    ev('fence.zk_state', 'node:n2', { state, detail: `${state} now`, ...(service ? { service } : {}) }, { ts });
  const unbound = (ev: ReturnType<typeof script>, epoch: number, ts: number) =>
    ev('vip.unbound', 'vip:web', { group: 'web', epoch, addresses: [{ address: '10.0.0.31', prefix: 24, interface: 'eth0' }], reason: 'ZooKeeper session lost' }, { ts });

  it('a lost session is alerted once, and so is a VIP it released, while nobody can be seen to hold it; both end when the session is back', () => {
    const ev = script();
    const r = rules();
    expect(applyAll(r, [zk(ev, 'lost', 1000, 'starting'), zk(ev, 'connected', 1100)])).toEqual([]); // the fence starting is no loss
    expect(applyAll(r, [zk(ev, 'suspended', 5000)])).toEqual([]); // a leader election is no loss
    const lost = applyAll(r, [zk(ev, 'lost', 6000), unbound(ev, 7, 6010), zk(ev, 'lost', 6500)]);
    expect(kinds(lost)).toEqual(['critical/zookeeper_lost']);
    expect(lost[0]!.summary).toBe('n2 lost ZooKeeper (lost now): it released its VIPs and cannot hold one until its session is back');
    expect(r.nextDueAt()).toBe(9010);
    expect(r.due(9009)).toEqual([]);
    const unowned = r.due(9010);
    expect(kinds(unowned)).toEqual(['critical/vip_unowned']);
    expect(unowned[0]!.id).toBe('vip_unowned:web:7'); // the speaker's id for the same outage: NATS keeps one
    expect(unowned[0]!.summary).toContain('n2 released it (epoch 7) when it lost ZooKeeper');
    expect(r.due(20_000)).toEqual([]);
    const back = applyAll(r, [zk(ev, 'connected', 12_000)]);
    expect(kinds(back)).toEqual(['info/zookeeper_back']);
    expect(back[0]!.summary).toBe('n2 has a ZooKeeper session again after 6.00 s');
  });

  it('a stop of the fence is no loss of ZooKeeper, and a VIP given up with the session back soon is not unowned', () => {
    const ev = script();
    const r = rules();
    expect(applyAll(r, [zk(ev, 'connected', 1000), zk(ev, 'lost', 2000, 'stopping')])).toEqual([]);
    const r2 = rules();
    applyAll(r2, [zk(ev, 'connected', 1000), zk(ev, 'lost', 2000), unbound(ev, 3, 2001), zk(ev, 'connected', 2500)]);
    expect(r2.due(60_000)).toEqual([]);
  });
});
