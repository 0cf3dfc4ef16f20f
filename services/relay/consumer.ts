// The relay's consumers of the log (alerts, notify scripts): where one starts.
import type { EventLog } from '../../shared/eventlog/index.js';

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
