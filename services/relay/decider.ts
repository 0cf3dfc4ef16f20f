// What the relay decides without I/O: where to resume after a restart, how long to wait
// after a failed delivery, and when a failure is worth an event in the log.

/** The parts of an event id: <node>:<log id>:<seq>. */
export function parseEventId(id: string): { node: string; logId: string; seq: number } | undefined {
  const m = /^(.+):([^:]+):(\d+)$/.exec(id);
  return m ? { node: m[1]!, logId: m[2]!, seq: Number(m[3]) } : undefined;
}

/**
 * Where to resume: the stored cursor, or further when the stream already holds later
 * events of this very log (the relay was killed after the publish was acknowledged and
 * before its cursor was stored). An id from another log (a recreated file) says nothing.
 */
export function resumeAfter(cursor: number, lastPublishedId: string | undefined, own: { node: string; logId: string }, lastSeq: number): number {
  const p = lastPublishedId === undefined ? undefined : parseEventId(lastPublishedId);
  if (!p || p.node !== own.node || p.logId !== own.logId) return cursor;
  return Math.min(Math.max(cursor, p.seq), lastSeq);
}

export interface RetryState {
  attempts: number;
  /** When a relay.delivery_failed event was last recorded (ms), or undefined. */
  reportedAt: number | undefined;
}

export const FIRST_RETRY_MS = 250;
export const MAX_RETRY_MS = 5000;
/** While a sink stays down, one relay.delivery_failed event per this long (not one per retry). */
export const REPORT_EVERY_MS = 60_000;

export function onDeliveryFailed(s: RetryState, now: number): { state: RetryState; retryInMs: number; report: boolean } {
  const attempts = s.attempts + 1;
  const retryInMs = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempts - 1));
  const report = s.reportedAt === undefined || now - s.reportedAt >= REPORT_EVERY_MS;
  return { state: { attempts, reportedAt: report ? now : s.reportedAt }, retryInMs, report };
}

export const delivered = (): RetryState => ({ attempts: 0, reportedAt: undefined });
