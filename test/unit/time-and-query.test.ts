import { describe, expect, it } from 'vitest';
import { compileEventQuery, eventMatches } from '../../shared/eventlog/query.js';
import { parseTime, TimeParseError } from '../../shared/time.js';

describe('parseTime', () => {
  const now = Date.parse('2026-11-23T12:00:00Z');
  it('reads ISO, durations ago, unix seconds and now', () => {
    expect(parseTime('2026-11-23T03:12:07Z', now)).toBe(Date.parse('2026-11-23T03:12:07Z'));
    expect(parseTime('10m', now)).toBe(now - 600_000);
    expect(parseTime('90s ago', now)).toBe(now - 90_000);
    expect(parseTime('1.5h', now)).toBe(now - 5_400_000);
    expect(parseTime('@1700000000', now)).toBe(1_700_000_000_000);
    expect(parseTime('now', now)).toBe(now);
  });
  it('reads a clock time as today, local time', () => {
    const t = new Date(parseTime('03:12:07', now));
    expect([t.getHours(), t.getMinutes(), t.getSeconds()]).toEqual([3, 12, 7]);
    expect(t.toDateString()).toBe(new Date(now).toDateString());
  });
  it('refuses what it cannot read, saying what it can', () => {
    expect(() => parseTime('yesterday-ish', now)).toThrow(TimeParseError);
    expect(() => parseTime('10 minutes', now)).toThrow(/ISO 8601/);
  });
});

describe('event filters', () => {
  const e = { seq: 5, ts: 1000, node: 'lb1', type: 'vrrp.state_changed', subject: 'rs:web/10.0.0.29:80', correlation: 'fo-1' };
  it('match in memory as in SQL', () => {
    expect(eventMatches({ types: ['vrrp.*'] }, e)).toBe(true);
    expect(eventMatches({ types: ['vrrp.state'] }, e)).toBe(false);
    expect(eventMatches({ types: ['fence.*', 'vrrp.state_changed'] }, e)).toBe(true);
    expect(eventMatches({ subject: 'rs:web/*' }, e)).toBe(true);
    expect(eventMatches({ subject: 'rs:web' }, e)).toBe(false);
    expect(eventMatches({ since: 1001 }, e)).toBe(false);
    expect(eventMatches({ until: 1000, afterSeq: 4, node: 'lb1', correlation: 'fo-1' }, e)).toBe(true);
    expect(eventMatches({ afterSeq: 5 }, e)).toBe(false);
  });
  it('compile prefixes to index-friendly ranges, never LIKE', () => {
    const q = compileEventQuery({ subject: 'rs:web/*', types: ['vrrp.*'], newest: true, limit: 10 });
    expect(q.sql).not.toMatch(/like/i);
    expect(q.parameters).toEqual(['rs:web/', 'rs:web0', 'vrrp.', 'vrrp/', 10]);
    expect(q.sql).toMatch(/order by "seq" desc limit \?$/);
  });
});
