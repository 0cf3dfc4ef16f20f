import type { z } from 'zod';
import { catalogue, isEventType, SOURCES, type NewEvent, type Source } from './catalogue.js';

export class EventRefused extends Error {
  constructor(readonly type: string, readonly reasons: string[]) {
    super(`event refused (${type}): ${reasons.join('; ')}`);
    this.name = 'EventRefused';
  }
}

function describeIssues(prefix: string, issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].join('.');
    return `${path}: ${i.message}`;
  });
}

const ENVELOPE_KEYS = new Set(['type', 'subject', 'data', 'source', 'causation', 'correlation', 'ts', 'late']);

/** Checks an event against the catalogue; returns it typed, or throws EventRefused naming every problem. */
export function validateNewEvent(input: unknown): NewEvent {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new EventRefused('?', ['an event must be an object']);
  }
  const e = input as Record<string, unknown>;
  const type = typeof e.type === 'string' ? e.type : '?';
  const reasons: string[] = [];
  for (const key of Object.keys(e)) if (!ENVELOPE_KEYS.has(key)) reasons.push(`unknown field "${key}"`);
  if (!isEventType(type)) {
    throw new EventRefused(type, [`type ${JSON.stringify(e.type)} is not in the event catalogue`, ...reasons]);
  }
  const spec = catalogue[type];
  if (typeof e.source !== 'string' || !(SOURCES as readonly string[]).includes(e.source)) {
    reasons.push(`source must be one of ${SOURCES.join(', ')} (got ${JSON.stringify(e.source)})`);
  }
  if (typeof e.subject !== 'string' || !spec.subject.test(e.subject)) {
    reasons.push(`subject ${JSON.stringify(e.subject)} does not match ${spec.subject}`);
  }
  if (e.causation != null && !(Number.isSafeInteger(e.causation) && (e.causation as number) > 0)) {
    reasons.push('causation must be the seq (a positive integer) of an earlier event');
  }
  if (e.correlation != null && (typeof e.correlation !== 'string' || e.correlation.length === 0 || e.correlation.length > 128)) {
    reasons.push('correlation must be a non-empty string of at most 128 characters');
  }
  if (e.ts !== undefined && !(Number.isSafeInteger(e.ts) && (e.ts as number) > 0)) {
    reasons.push('ts must be unix milliseconds');
  }
  if (e.late !== undefined) {
    const l = e.late as { ts?: unknown; error?: unknown } | null;
    if (typeof l !== 'object' || l === null || !(Number.isSafeInteger(l.ts) && (l.ts as number) > 0) || typeof l.error !== 'string' || l.error.length > 1024 || Object.keys(l).length !== 2) {
      reasons.push('late must be { ts: unix milliseconds, error: text of at most 1024 characters }');
    }
  }
  const parsed = spec.data.safeParse(e.data);
  if (!parsed.success) reasons.push(...describeIssues('data', parsed.error.issues));
  if (reasons.length > 0) throw new EventRefused(type, reasons);
  return { ...(e as NewEvent), source: e.source as Source, data: parsed.data as NewEvent['data'] } as NewEvent;
}
