// When a ZooKeeper session must be taken as lost, from our heartbeats alone.
import { describe, expect, it } from 'vitest';
import { healthAt, leaseDeadline, livenessTiming, nextHealthChange } from '../../shared/zookeeper/liveness.js';
import { MIN_LEASE_LEFT_MS, MIN_SESSION_TIMEOUT_MS } from '../../services/fence/decider.js';
import { parseConfig } from '../../shared/config/index.js';
import { beatPeriodMs } from '../../shared/service.js';

describe('ZooKeeper liveness', () => {
  const t = livenessTiming(1500);

  it('derives heartbeat, suspension and margin from the granted timeout', () => {
    expect(t).toEqual({ sessionTimeoutMs: 1500, marginMs: 150, suspendAfterMs: 300, heartbeatMs: 100 });
    expect(livenessTiming(100_000).heartbeatMs).toBe(500);
    expect(livenessTiming(300).marginMs).toBe(100);
  });

  it('the deadline counts from when the answered request was sent, not answered', () => {
    expect(leaseDeadline(10_000, t)).toBe(10_000 + 1500 - 150);
  });

  it('connected, then suspended after three silent heartbeats, then lost at the deadline', () => {
    expect(healthAt(10_000 + 300, 10_000, t)).toBe('connected');
    expect(healthAt(10_000 + 301, 10_000, t)).toBe('suspended');
    expect(healthAt(10_000 + 1349, 10_000, t)).toBe('suspended');
    expect(healthAt(10_000 + 1350, 10_000, t)).toBe('lost');
  });

  it('says when to look again', () => {
    expect(nextHealthChange(10_000, 10_000, t)).toBe(10_301);
    expect(nextHealthChange(10_301, 10_000, t)).toBe(11_350);
    expect(nextHealthChange(11_350, 10_000, t)).toBeUndefined();
  });

  it('the shortest allowed session leaves room to renew the kernel fence after an answer', () => {
    const min = livenessTiming(MIN_SESSION_TIMEOUT_MS);
    const leftRightAfterAnswer = leaseDeadline(0, min) - 5; // 5 ms round trip
    expect(leftRightAfterAnswer).toBeGreaterThanOrEqual(MIN_LEASE_LEFT_MS);
  });
});

describe('heartbeats between a node\'s services', () => {
  const config = (extra: string) => parseConfig(`cluster: c
nodes: { lb1: {} }
zookeeper: { hosts: [zk:2181] }
${extra}`, 'test.yaml').config;

  it('beat four times within the shortest timeout a reader applies, at most once a second', () => {
    const c = config('');
    expect(beatPeriodMs('vrrp', c)).toBe(125); // fence.liveness_timeout 0.5 s
    expect(beatPeriodMs('fence', c)).toBe(125);
    for (const s of ['health', 'ipvs', 'relay'] as const) expect(beatPeriodMs(s, c)).toBe(500); // service_silent_ms 2000, vigil status --within 2
    const tight = config('fence: { liveness_timeout: 0.3 }\nalerts: { service_silent_ms: 500 }');
    expect(beatPeriodMs('fence', tight)).toBe(75);
    expect(beatPeriodMs('relay', tight)).toBe(125);
    expect(beatPeriodMs('relay', config('alerts: { service_silent_ms: 60000 }'))).toBe(500); // vigil status still wants 2 s
  });
});
