// vigil log verify against the relay's copy of the log in JetStream (witness.ts compares).
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { EventLog } from './eventlog/index.js';
import { WitnessComparison, type WitnessProblem } from './eventlog/witness.js';
import { drainConsumer, nodeEventsWildcard } from './nats.js';

export interface StreamCheck {
  stream: string;
  compared: number;
  witnessedUpTo: number;
  problem: WitnessProblem | undefined;
}

/** Reads this log's events from the stream, in order, and compares each with the file. */
export async function compareWithStream(log: EventLog, o: { servers: string[]; stream: string; cluster: string }): Promise<StreamCheck> {
  if (log.node === undefined) throw new Error('the log has no node yet: nothing was published');
  const hashAt = log.db.prepare('SELECT hash FROM events WHERE seq = ?').pluck();
  const cmp = new WitnessComparison(log.logId, log.lastSeq(), (seq) => hashAt.get(seq) as string | undefined);
  const nc = await connect({ servers: o.servers, name: 'vigil-log-verify', timeout: 3000, maxReconnectAttempts: 0 });
  try {
    const consumer = await jetstream(nc).consumers.get(o.stream, { filter_subjects: nodeEventsWildcard(o.cluster, log.node), deliver_policy: DeliverPolicy.All });
    await drainConsumer(consumer, (m) => {
      const e = m.json<{ seq?: unknown; id?: unknown; hash?: unknown }>();
      if (typeof e.seq !== 'number' || typeof e.id !== 'string' || typeof e.hash !== 'string') return true; // not an event of ours
      return cmp.add({ seq: e.seq, id: e.id, hash: e.hash });
    });
    return { stream: o.stream, compared: cmp.compared, witnessedUpTo: cmp.witnessedUpTo, problem: cmp.problem };
  } finally {
    await nc.close();
  }
}
