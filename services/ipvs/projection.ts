// What the IPVS service's events say now, for it and for other services that read them.
import { virtualServerSubject, type EventData, type EventLog } from '../../shared/eventlog/index.js';
import type { QuorumState } from '../../shared/quorum.js';

/** A virtual server's quorum as the last ipvs.quorum_changed up to a seq recorded it (undefined: never changed). */
export function recordedQuorum(log: EventLog, vs: string, upTo: number): QuorumState | undefined {
  const [last] = log.query({ types: ['ipvs.quorum_changed'], subject: virtualServerSubject(vs), toSeq: upTo, newest: true, limit: 1 });
  if (!last) return undefined;
  return (last.data as EventData<'ipvs.quorum_changed'>).state === 'lost' ? 'lost' : 'up';
}
