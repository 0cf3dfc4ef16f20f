import { describe, expect, it } from 'vitest';
import { delivered, FIRST_RETRY_MS, MAX_RETRY_MS, onDeliveryFailed, parseEventId, REPORT_EVERY_MS, resumeAfter } from '../../services/relay/decider.js';
import { alertSubject, eventSubject } from '../../shared/nats.js';

describe('relay decider', () => {
  const own = { node: 'lb1', logId: 'a1b2' };
  it('parses event ids', () => {
    expect(parseEventId('lb1:a1b2:42')).toEqual({ node: 'lb1', logId: 'a1b2', seq: 42 });
    expect(parseEventId('garbage')).toBeUndefined();
  });

  it('resumes after the stream\'s last event of this very log, never before the cursor, never past the log', () => {
    expect(resumeAfter(10, undefined, own, 100)).toBe(10);
    expect(resumeAfter(10, 'lb1:a1b2:60', own, 100)).toBe(60);
    expect(resumeAfter(80, 'lb1:a1b2:60', own, 100)).toBe(80);
    expect(resumeAfter(10, 'lb1:ffff:60', own, 100)).toBe(10); // a recreated log file: its ids say nothing
    expect(resumeAfter(10, 'lb2:a1b2:60', own, 100)).toBe(10);
    expect(resumeAfter(10, 'lb1:a1b2:600', own, 100)).toBe(100);
  });

  it('backs off exponentially to a ceiling and reports a lasting outage once a minute', () => {
    let s = delivered();
    const waits: number[] = [];
    const reports: number[] = [];
    for (let t = 0; t < 130_000; t += 5000) {
      const v = onDeliveryFailed(s, t);
      s = v.state;
      waits.push(v.retryInMs);
      if (v.report) reports.push(t);
    }
    expect(waits.slice(0, 6)).toEqual([FIRST_RETRY_MS, 500, 1000, 2000, 4000, MAX_RETRY_MS]);
    expect(reports).toEqual([0, REPORT_EVERY_MS, 2 * REPORT_EVERY_MS]);
  });

  it('names subjects as DESIGN.md says', () => {
    expect(eventSubject('prod', 'lb1', 'vrrp.state_changed')).toBe('vigil.prod.events.lb1.vrrp.state_changed');
    expect(alertSubject('prod', 'critical', 'failover')).toBe('vigil.prod.alerts.critical.failover');
  });
});
