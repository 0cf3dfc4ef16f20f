// When a ZooKeeper session must be taken as lost, from our heartbeats alone.
import { describe, expect, it } from 'vitest';
import { healthAt, leaseDeadline, livenessTiming, nextHealthChange } from '../../shared/zookeeper/liveness.js';
import { MIN_LEASE_LEFT_MS, MIN_SESSION_TIMEOUT_MS } from '../../services/fence/decider.js';

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

  it('the shortest allowed session leaves room for a fresh address lifetime after an answer', () => {
    const min = livenessTiming(MIN_SESSION_TIMEOUT_MS);
    const leftRightAfterAnswer = leaseDeadline(0, min) - 5; // 5 ms round trip
    expect(leftRightAfterAnswer).toBeGreaterThanOrEqual(MIN_LEASE_LEFT_MS);
  });
});
