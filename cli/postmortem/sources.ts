// Where a postmortem reads the cluster's events: copies of the nodes' log files (or the
// logs a config names, on a machine that has them), or the JetStream stream into which
// every node's relay publishes. Whatever a source holds is checked at this edge.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { z } from 'zod';
import { catalogue, EVENT_TYPES, EventLog, isEvent, isEventType, SUBJECTS, type EventOf, type EventType, type StoredEvent } from '../../shared/eventlog/index.js';
import { drainConsumer, eventsWildcard } from '../../shared/nats.js';
import type { Lookup } from '../../shared/postmortem/history.js';

export interface Loaded {
  events: StoredEvent[];
  /** Finds a cause outside what was loaded. */
  lookup: Lookup;
  /** Where each node's events came from. */
  origins: Record<string, string>;
  /** Messages or rows that were not events, and why (counted, never fatal). */
  skipped: { count: number; first: string | undefined };
  /** What the reader should know about the record (printed on stderr). */
  notes: string[];
  /** Reads the rest of the events (not only the history's) of this window, where the source was read for the history alone. */
  widen(w: Window): void;
  close(): void;
}

export interface Window {
  since?: number | undefined;
  until?: number | undefined;
}

/** Types a postmortem never reads (periodic summaries, per-packet noise, the IPVS table line by line). */
const NOISE: readonly EventType[] = ['health.summary', 'vrrp.bad_packets', 'ipvs.changed', 'relay.delivery_failed'];
const WANTED = EVENT_TYPES.filter((t) => !NOISE.includes(t));
/**
 * Read over the whole record whatever the window: what tenures and clocks are built from
 * (few events). All are about a VIP group, so the subject index finds them without a scan.
 */
const ALWAYS: readonly EventType[] = ['vip.bound', 'vip.unbound', 'fence.lease_acquired', 'relay.lease_observed'];
if (!ALWAYS.every((t) => catalogue[t].subjectKind === SUBJECTS.vip)) throw new Error('a type the postmortem reads by its vip: subject has another subject kind');
const history = (log: EventLog) => log.query({ types: [...ALWAYS], subject: `${SUBJECTS.vip.of('')}*` });
/** Events that say where a node stood at a moment (drawn from before a window on). */
const STANDING: readonly EventType[] = ['vrrp.state_changed', 'service.started', 'service.stopped', 'relay.service_lost'];
/** How far before --since events are read, so that a tenure starting in the window has its causes. */
const LEAD_MS = 60_000;

/** Every events.db (or *.db) file a --db argument names: the file, or those in the folder and its subfolders (two levels). */
export function dbFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    for (const d of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (d.isFile() && d.name.endsWith('.db')) out.push(join(dir, d.name));
      else if (d.isDirectory() && depth > 0) walk(join(dir, d.name), depth - 1);
    }
  };
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      const before = out.length;
      walk(p, 2);
      if (out.length === before) throw new Error(`no .db file in ${p} or its subfolders`);
    } else out.push(p);
  }
  return out;
}

export function loadDbFiles(paths: readonly string[], w: Window, o: { historyOnly?: boolean } = {}): Loaded {
  const logs = new Map<string, EventLog>();
  const origins: Record<string, string> = {};
  const events: StoredEvent[] = [];
  const close = () => {
    for (const l of logs.values()) l.close();
  };
  // The queries below read disjoint types or windows: only a second copy of a node's log repeats events.
  const take = (list: StoredEvent[]) => {
    for (const e of list) events.push(e);
  };
  const copied = new Map<string, Set<string>>();
  const takeCopy = (node: string, list: StoredEvent[]) => {
    let ids = copied.get(node);
    if (!ids) copied.set(node, (ids = new Set(events.filter((e) => e.node === node).map((e) => e.id))));
    for (const e of list) {
      if (ids.has(e.id)) continue;
      ids.add(e.id);
      events.push(e);
    }
  };
  const others = WANTED.filter((t) => !ALWAYS.includes(t));
  /** The events of a window (from LEAD_MS before it, for causes) other than the history's. */
  const inWindow = (log: EventLog, x: Window) => log.query({ types: others, ...(x.since !== undefined ? { since: x.since - LEAD_MS } : {}), ...(x.until !== undefined ? { until: x.until } : {}) });
  const widen = (x: Window) => {
    for (const log of logs.values()) {
      take(inWindow(log, x));
      // Where each node stood when the window opened (its VRRP states, its services): the last such events before it.
      if (x.since !== undefined) take(log.query({ types: [...STANDING], until: x.since - LEAD_MS - 1, newest: true, limit: 50 }));
    }
  };
  const copies: { node: string; log: EventLog }[] = [];
  try {
    for (const path of dbFiles(paths)) {
      const log = EventLog.open({ path, readOnly: true });
      const node = log.node;
      if (node === undefined) {
        log.close();
        continue; // an empty log: no node appended to it yet
      }
      if (logs.has(node)) {
        origins[node] += `, ${path}`;
        copies.push({ node, log });
        continue;
      }
      logs.set(node, log);
      origins[node] = path;
      take(history(log));
    }
    if (!o.historyOnly) widen(w);
    // A second copy of a node's log: what it has that the first has not (by id).
    for (const { node, log } of copies) {
      takeCopy(node, history(log));
      if (!o.historyOnly) takeCopy(node, inWindow(log, w));
    }
  } catch (err) {
    close();
    throw err;
  } finally {
    for (const { log } of copies) log.close();
  }
  const lookup: Lookup = (node, seq) => logs.get(node)?.query({ fromSeq: seq, toSeq: seq })[0];
  return { events, lookup, origins, skipped: { count: 0, first: undefined }, notes: [], widen, close };
}

const streamedEvent = z.strictObject({
  seq: z.number().int().positive(),
  id: z.string().min(1),
  ts: z.number().int().positive(),
  node: z.string().min(1),
  source: z.string().min(1),
  type: z.string().refine(isEventType, 'not a type of the event catalogue'),
  subject: z.string().min(1),
  data: z.unknown(),
  causation: z.number().int().positive().nullable(),
  correlation: z.string().nullable(),
  hash: z.string(),
});

export interface StreamSource {
  servers: string[];
  stream: string;
  cluster: string;
}

/** Every event of the cluster the stream holds (events published after --until are left out). */
export async function loadStream(s: StreamSource, w: Window): Promise<Loaded> {
  const nc = await connect({ servers: s.servers, name: 'vigil-postmortem', timeout: 3000, maxReconnectAttempts: 0 });
  const events: StoredEvent[] = [];
  const seen = new Set<string>();
  const skipped = { count: 0, first: undefined as string | undefined };
  const origins: Record<string, string> = {};
  try {
    const consumer = await jetstream(nc).consumers.get(s.stream, { filter_subjects: eventsWildcard(s.cluster), deliver_policy: DeliverPolicy.All });
    await drainConsumer(consumer, (m) => {
      let parsed: z.infer<typeof streamedEvent>;
      try {
        parsed = streamedEvent.parse(m.json());
      } catch (err) {
        skipped.count++;
        skipped.first ??= `${m.subject} (stream seq ${m.seq}): ${(err as Error).message.split('\n')[0]}`;
        return;
      }
      if (seen.has(parsed.id)) return;
      seen.add(parsed.id);
      if (w.until !== undefined && parsed.ts > w.until + LEAD_MS) return;
      if (NOISE.includes(parsed.type as EventType)) return;
      origins[parsed.node] ??= `stream ${s.stream} on ${s.servers.join(',')}`;
      events.push(parsed as StoredEvent);
    });
  } finally {
    await nc.close();
  }
  return { events, lookup: () => undefined, origins, skipped, notes: relaysStopped(events), widen: () => undefined, close: () => undefined };
}

/**
 * Nodes whose relay left ZooKeeper (as their peers' relays recorded) and was not back where
 * the stream ends: what those nodes recorded since is only in their log files. (A relay
 * cannot publish its own stop.)
 */
function relaysStopped(events: readonly StoredEvent[]): string[] {
  const last = new Map<string, EventOf<'relay.node_changed'>>();
  for (const e of events) {
    if (!isEvent(e, 'relay.node_changed') || e.data.service !== 'relay' || e.node === e.data.node) continue;
    const seen = last.get(e.data.node);
    if (!seen || seen.ts <= e.ts) last.set(e.data.node, e);
  }
  return [...last.values()]
    .filter((e) => e.data.change === 'left')
    .map((e) => `${e.data.node}'s relay stopped at ${new Date(e.ts).toISOString()} (as ${e.node} saw it) and was not back: what ${e.data.node} recorded after it is not in the stream (read its log file with --db for that)`);
}
