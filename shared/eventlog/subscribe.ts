// Reading the log as it grows: subscribe from a seq, or consume with a durable cursor
// (at-least-once: the cursor is stored only after the handler has finished a batch).
import type { StoredEvent } from './catalogue.js';
import type { EventLog } from './log.js';

export type BatchHandler = (events: StoredEvent[]) => void | Promise<void>;

export interface SubscribeOptions {
  /** Start after this seq (0 = from the beginning). */
  after: number;
  batchSize?: number;
  /** A handler (or a read) that throws is retried with the same batch at the next wake-up; this hears about it (batch is empty when the read failed). */
  onError?: (err: unknown, batch: StoredEvent[]) => void;
  /** Called with the new cursor after each handled batch (consume() stores it). */
  onAdvance?: (seq: number) => void;
}

export interface Subscription {
  close(): void;
  /** The seq of the last event handled. */
  readonly cursor: number;
}

export function subscribe(log: EventLog, options: SubscribeOptions, handler: BatchHandler): Subscription {
  const batchSize = options.batchSize ?? 500;
  let cursor = options.after;
  let running = false;
  let again = false;
  let closed = false;

  const pump = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        for (;;) {
          if (closed) return;
          let batch: StoredEvent[] = [];
          try {
            batch = log.readAfter(cursor, batchSize);
            if (batch.length === 0) break;
            await handler(batch);
          } catch (err) {
            // A read that fails (the file locked too long, say) is reported like a failed handler.
            options.onError?.(err, batch);
            return; // retried at the next wake-up (append or poll)
          }
          if (closed) return;
          cursor = batch[batch.length - 1]!.seq;
          options.onAdvance?.(cursor);
        }
      } while (again);
    } finally {
      running = false;
    }
  };

  const off = log.onChange(() => void pump());
  void pump();
  return {
    close() {
      closed = true;
      off();
    },
    get cursor() {
      return cursor;
    },
  };
}

/** Like subscribe, from and to the stored cursor of a named consumer. */
export function consume(log: EventLog, consumer: string, handler: BatchHandler, options: Omit<SubscribeOptions, 'after' | 'onAdvance'> = {}): Subscription {
  return subscribe(log, { ...options, after: log.getCursor(consumer), onAdvance: (seq) => log.setCursor(consumer, seq) }, handler);
}
