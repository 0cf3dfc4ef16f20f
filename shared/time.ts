// Times an operator types: ISO 8601, "10m" (ago), "03:12:07" (today, local), "@1700000000", "now".
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export class TimeParseError extends Error {}

export function parseTime(text: string, now: number = Date.now()): number {
  const s = text.trim();
  if (s === 'now') return now;
  const rel = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)(?:\s*ago)?$/.exec(s);
  if (rel) return now - Math.round(Number(rel[1]) * UNITS[rel[2]!]!);
  const epoch = /^@(\d+(?:\.\d+)?)$/.exec(s);
  if (epoch) return Math.round(Number(epoch[1]) * 1000);
  const clock = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/.exec(s);
  if (clock) {
    const d = new Date(now);
    d.setHours(Number(clock[1]), Number(clock[2]), Number(clock[3] ?? 0), Number((clock[4] ?? '0').padEnd(3, '0')));
    return d.getTime();
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(s)) {
    const t = Date.parse(s);
    if (!Number.isNaN(t)) return t;
  }
  throw new TimeParseError(`cannot read time "${text}": use ISO 8601 (2026-11-23T03:12:07Z), a duration ago (90s, 10m, 2h, 1d), a clock time today (03:12:07) or @unix-seconds`);
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
