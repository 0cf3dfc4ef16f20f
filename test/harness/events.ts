// Stored events for tests of pure rules ("given these stored events, when this, then
// these events"): a scripted log of one node, each event one second after the previous
// unless its ts is given; its data typed by the catalogue, so that a test cannot script
// an event the log would refuse.
import type { EventData, EventType, Source, StoredEvent } from '../../shared/eventlog/index.js';

export interface Extra {
  causation?: number;
  correlation?: string;
  ts?: number;
  source?: Source;
}

/** A scripted log of a node: each call makes its next stored event. */
export function scriptedLog(node = 'n2', startTs = 1_000_000) {
  let seq = 0;
  return <T extends EventType>(type: T, subject: string, data: EventData<T>, extra: Extra = {}): StoredEvent => {
    seq += 1;
    return {
      seq, id: `${node}:log:${seq}`, ts: extra.ts ?? startTs + seq * 1000, node, source: extra.source ?? 'relay', type, subject,
      data, causation: extra.causation ?? null, correlation: extra.correlation ?? null, hash: '',
    };
  };
}

/** Feeds events to a rule, in order, and collects what it answers. */
export const given = <R>(events: readonly StoredEvent[], when: (e: StoredEvent) => readonly R[]): R[] => events.flatMap((e) => [...when(e)]);
