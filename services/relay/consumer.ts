// The relay's consumers of the log: where one starts, and how it rebuilds its state.
import type { EventLog, StoredEvent } from '../../shared/eventlog/index.js';

const PAGE = 1000;

/**
 * The stored cursor of a consumer; on its very first start, the end of the log ("end":
 * an old log's history raises no alerts) or the events of the last ms milliseconds.
 */
export function consumerStart(log: EventLog, consumer: string, first: 'end' | { lastMs: number }): number {
  const stored = log.storedCursor(consumer);
  if (stored !== undefined) return stored;
  const start = first === 'end' ? log.lastSeq() : log.firstSeqAtOrAfter(Date.now() - first.lastMs) - 1;
  log.setCursor(consumer, start);
  return start;
}

/** Calls apply on every event of these types up to toSeq, in order. */
export function replay(log: EventLog, types: readonly string[], toSeq: number, apply: (e: StoredEvent) => void): void {
  let after = 0;
  for (;;) {
    const page = log.query({ types: [...types], afterSeq: after, toSeq, limit: PAGE });
    for (const e of page) apply(e);
    if (page.length < PAGE) return;
    after = page[page.length - 1]!.seq;
  }
}

