// How every service and consumer reads the log: rebuild its state from the events up to a
// point, then follow from exactly there, so that no event is missed or seen twice between
// the two. Written once here; services say only what they rebuild and what they do.
import type { Logger } from '../logger.js';
import type { EventType, StoredEvent } from './catalogue.js';
import type { EventLog } from './log.js';
import { subscribe, type BatchHandler, type Subscription } from './subscribe.js';

const PAGE = 1000;

/** Calls apply on every event of these types up to toSeq, in log order (paged: any log size). */
export function replayLog(log: EventLog, types: readonly EventType[], toSeq: number, apply: (e: StoredEvent) => void): void {
  let after = 0;
  for (;;) {
    const page = log.query({ types: [...types], afterSeq: after, toSeq, limit: PAGE });
    for (const e of page) apply(e);
    if (page.length < PAGE) return;
    after = page[page.length - 1]!.seq;
  }
}

export interface FollowOptions {
  logger: Logger;
  /** The last event already accounted for (a consumer's stored cursor); default: the end of the log now. */
  after?: number;
  /** History to replay, in order, up to that point. */
  replay?: { types: readonly EventType[]; apply: (e: StoredEvent) => void };
  /** State rebuilt from queries up to that point, after the replay and before the first new event. */
  rebuild?: (upTo: number) => void | Promise<void>;
  /** A batch that could not be read or handled (it comes again at the next wake-up); default: logged as an error. */
  onError?: (err: unknown, batch: StoredEvent[]) => void;
}

/** Rebuilds, then follows the log from where the rebuild ended; resolves with the subscription once following. */
export async function followLog(log: EventLog, o: FollowOptions, handler: BatchHandler): Promise<Subscription> {
  const upTo = o.after ?? log.lastSeq();
  if (o.replay) replayLog(log, o.replay.types, upTo, o.replay.apply);
  await o.rebuild?.(upTo);
  const onError = o.onError ?? ((err: unknown) => o.logger.error('event handling failed', { err }));
  return subscribe(log, { after: upTo, onError }, handler);
}
