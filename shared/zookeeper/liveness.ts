// When a ZooKeeper session must be taken as lost, from our side alone. The server expires
// a session `timeout` after it last heard from the client; a request we sent at time s
// and that was answered proves the server heard us at s or later. So every answered
// heartbeat moves the deadline to s + timeout - margin, and silence past that deadline is
// loss, whatever the client library believes (it reports neither partitions nor
// half-open connections).
export type SessionHealth = 'connected' | 'suspended' | 'lost';

export interface LivenessTiming {
  sessionTimeoutMs: number;
  /** Kept between our deadline and the earliest moment the server may expire the session. */
  marginMs: number;
  /** Silence after which the session counts as suspended (deadline running). */
  suspendAfterMs: number;
  /** How often a heartbeat request is sent. */
  heartbeatMs: number;
}

/**
 * Timing for a negotiated session timeout: ~15 heartbeats per timeout, suspended after 3
 * silent ones. A user that needs fewer (each heartbeat wakes the process twice) gives its
 * own period: suspended then after 2 silent ones, never sooner than by default.
 */
export function livenessTiming(sessionTimeoutMs: number, heartbeatEveryMs?: number): LivenessTiming {
  const usual = Math.min(500, Math.max(50, Math.round(sessionTimeoutMs / 15)));
  const heartbeatMs = heartbeatEveryMs === undefined ? usual : Math.max(50, Math.round(heartbeatEveryMs));
  return {
    sessionTimeoutMs,
    marginMs: Math.max(100, Math.round(sessionTimeoutMs / 10)),
    suspendAfterMs: heartbeatEveryMs === undefined ? 3 * heartbeatMs : Math.max(3 * usual, 2 * heartbeatMs),
    heartbeatMs,
  };
}

export function leaseDeadline(lastAckSentAt: number, t: LivenessTiming): number {
  return lastAckSentAt + t.sessionTimeoutMs - t.marginMs;
}

export function healthAt(now: number, lastAckSentAt: number, t: LivenessTiming): SessionHealth {
  if (now >= leaseDeadline(lastAckSentAt, t)) return 'lost';
  if (now - lastAckSentAt > t.suspendAfterMs) return 'suspended';
  return 'connected';
}

/** The next moment healthAt can change without a new answer (undefined once lost). */
export function nextHealthChange(now: number, lastAckSentAt: number, t: LivenessTiming): number | undefined {
  const suspendAt = lastAckSentAt + t.suspendAfterMs + 1;
  const deadline = leaseDeadline(lastAckSentAt, t);
  if (now < suspendAt) return suspendAt;
  if (now < deadline) return deadline;
  return undefined;
}
