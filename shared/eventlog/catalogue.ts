// The contract between services: every event type, its subject shape and its payload.
// An event that is not described here, or does not match its description, is refused
// at append time (see validate.ts).
import { z } from 'zod';
import { SUBJECTS, type SubjectKind } from './subjects.js';
import type { EventsTable } from './tables.js';

export const SOURCES = ['vrrp', 'fence', 'health', 'ipvs', 'relay', 'cli'] as const;
export type Source = (typeof SOURCES)[number];

const name = z.string().min(1).max(128);
const ipv4 = z.ipv4();
const ms = z.number().int().nonnegative();

// The enumerations the deciders speak in: their types are derived from these, so a
// decider cannot produce a value the log would refuse, nor the log list one nobody makes.
export const VRRP_STATES = ['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOPPED'] as const;
export type VrrpStateName = (typeof VRRP_STATES)[number];
export const VRRP_TRANSITION_REASONS = [
  'startup', 'master_down_timer', 'higher_priority_advert', 'preempted', 'priority_zero_advert',
  'fault', 'fault_cleared', 'shutdown', 'address_owner', 'sync_group', 'lease_free',
] as const;
export type VrrpTransitionReason = (typeof VRRP_TRANSITION_REASONS)[number];
export const HEALTH_STATES = ['up', 'down', 'unknown'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];
/** A check's result once known: a decider never reports 'unknown', which only says "no result yet". */
export type CheckResult = Exclude<HealthState, 'unknown'>;
export const TRACK_STATES = ['ok', 'fail', 'unknown'] as const;
export const ZK_STATES = ['connected', 'suspended', 'lost', 'expired'] as const;
export type ZkState = (typeof ZK_STATES)[number];
export const QUORUM_CHANGES = ['lost', 'regained'] as const;
export const IPVS_OPS = ['add_service', 'edit_service', 'del_service', 'add_server', 'edit_server', 'del_server'] as const;
export type IpvsOpName = (typeof IPVS_OPS)[number];

const vrrpState = z.enum(VRRP_STATES);
const health = z.enum(HEALTH_STATES);
export const alertSeverity = z.enum(['critical', 'warning', 'info']);
export type AlertSeverity = z.infer<typeof alertSeverity>;
const boundAddress = z.strictObject({ address: ipv4, prefix: z.number().int().min(0).max(32), interface: name });
const ipvsService = z.string().min(1); // "TCP 10.0.0.31:80" / "FWM 7"
const ipvsServer = z.string().min(1); // "10.0.0.29:80"

interface Entry<S extends z.ZodType> {
  /** What an operator should read this event as. */
  doc: string;
  /** The kind of entity the event is about (its builder and parser); `vigil log --subject` filters on it. */
  subjectKind: SubjectKind;
  /** What its subject must look like. */
  subject: RegExp;
  data: S;
}
const entry = <S extends z.ZodType>(doc: string, subjectKind: SubjectKind, data: S): Entry<S> => ({ doc, subjectKind, subject: subjectKind.pattern, data });

export const catalogue = {
  'operator.note': entry(
    'An annotation by an operator ("maintenance on lb2 started"), for postmortems.',
    SUBJECTS.operator,
    z.strictObject({ text: z.string().min(1).max(4096), author: name }),
  ),
  'service.started': entry(
    'A vigil service process started on this node.',
    SUBJECTS.service,
    z.strictObject({ service: name, version: name, pid: z.number().int().positive() }),
  ),
  'service.stopped': entry(
    'A vigil service process stopped (signal, fatal error or normal end).',
    SUBJECTS.service,
    z.strictObject({
      service: name,
      pid: z.number().int().positive(),
      reason: z.enum(['signal', 'error', 'exit']),
      signal: z.string().optional(),
      error: z.string().optional(),
    }),
  ),
  'service.signal': entry(
    'A vigil service received a signal that does not stop it (SIGHUP), and what it did about it.',
    SUBJECTS.service,
    z.strictObject({ service: name, pid: z.number().int().positive(), signal: name, action: z.string().max(1024) }),
  ),
  'service.reloaded': entry(
    'A service re-read its configuration (SIGHUP, vigil reload) and applied the difference: what it started, stopped and restarted, what it left running untouched, and what only a restart changes.',
    SUBJECTS.service,
    z.strictObject({
      service: name,
      pid: z.number().int().positive(),
      config: z.string().max(4096),
      added: z.array(z.string().max(256)),
      removed: z.array(z.string().max(256)),
      changed: z.array(z.string().max(256)),
      unchanged: z.array(z.string().max(256)),
      /** Settings that differ but take effect only when the service restarts (its ZooKeeper, NATS, log). */
      restart_needed: z.array(z.string().max(256)),
    }),
  ),
  'service.reload_refused': entry(
    'A service was asked to reload (SIGHUP, vigil reload) a configuration it cannot use (invalid, or without this node): it keeps running the one it had.',
    SUBJECTS.service,
    z.strictObject({ service: name, pid: z.number().int().positive(), config: z.string().max(4096), errors: z.array(z.string().max(1024)).min(1) }),
  ),
  'service.log_recovered': entry(
    'The event log accepts writes again after refusing them (a full or failing disk); the events kept meanwhile precede this one, each marked late.',
    SUBJECTS.service,
    z.strictObject({ service: name, failing_since: ms, appended_late: ms, dropped: ms, error: z.string().max(1024) }),
  ),

  'vrrp.state_changed': entry(
    'A VRRP instance changed state, and why.',
    SUBJECTS.vrrp,
    z.strictObject({
      instance: name,
      from: vrrpState,
      to: vrrpState,
      reason: z.enum(VRRP_TRANSITION_REASONS),
      detail: z.string().max(1024).optional(),
      priority: z.number().int().min(0).max(255),
      master: ipv4.optional(),
    }),
  ),
  'vrrp.priority_changed': entry(
    'The effective priority of an instance changed (tracked script, interface, health or fence state).',
    SUBJECTS.vrrp,
    z.strictObject({
      instance: name,
      from: z.number().int().min(0).max(255),
      to: z.number().int().min(0).max(255),
      reason: z.string().max(1024),
    }),
  ),
  'vrrp.higher_priority_seen': entry(
    'A master saw an advert from a peer with a higher priority (or the tie-break lost).',
    SUBJECTS.vrrp,
    z.strictObject({ instance: name, peer: ipv4, peer_priority: z.number().int().min(0).max(255), own_priority: z.number().int().min(0).max(255) }),
  ),
  'vrrp.group_changed': entry(
    'A vrrp_sync_group changed state: all its members MASTER, all BACKUP, FAULT (any member in fault) or STOPPED.',
    SUBJECTS.vrrpGroup,
    z.strictObject({
      group: name,
      from: vrrpState,
      to: vrrpState,
      members: z.record(name, vrrpState),
      detail: z.string().max(1024),
    }),
  ),
  'vrrp.hearing': entry(
    'Whose adverts an instance hears now: the sources of valid adverts received within its master-down interval (address: its own source address). Recorded when the set changes; the fence publishes it in ZooKeeper (/<root>/<cluster>/hearing/<node>) for the rule by which a holder the other directors cannot hear gives way.',
    SUBJECTS.vrrp,
    z.strictObject({ instance: name, address: ipv4, hears: z.array(ipv4).max(64) }),
  ),
  'vrrp.bad_packets': entry(
    'Summary of VRRP packets dropped in a time window, counted by reason (never one event per packet).',
    SUBJECTS.vrrp,
    z.strictObject({
      interface: name,
      window_ms: ms,
      counts: z.record(z.string(), z.number().int().positive()),
      last_source: ipv4.optional(),
    }),
  ),

  'fence.zk_state': entry(
    "This node's view of its ZooKeeper session (connected, suspended = lease deadline running, lost).",
    SUBJECTS.node,
    z.strictObject({
      state: z.enum(ZK_STATES),
      session_id: z.string().optional(),
      session_timeout_ms: ms.optional(),
      deadline: ms.optional(),
      detail: z.string().max(1024).optional(),
      /** Set when the fence service itself is starting or stopping: no loss of ZooKeeper. */
      service: z.enum(['starting', 'stopping']).optional(),
      /** The session is lost but this node keeps its VIPs on its peers' promises (zookeeper.failsafe): its VRRP stays as it is. */
      failsafe: z.boolean().optional(),
    }),
  ),
  'fence.lease_candidate': entry(
    'This node joined (or left) the lock of a VIP group because its VRRP instance became (or stopped being) MASTER.',
    SUBJECTS.vip,
    z.strictObject({ group: name, action: z.enum(['joined', 'left']), candidate: z.string(), epoch: ms }),
  ),
  'fence.lease_acquired': entry(
    'This node holds the lease of a VIP group; epoch is the fencing token.',
    SUBJECTS.vip,
    z.strictObject({ group: name, epoch: ms, previous: z.strictObject({ node: name, epoch: ms }).optional() }),
  ),
  'fence.lease_denied': entry(
    'This node is MASTER but another node holds the lease: a split brain averted.',
    SUBJECTS.vip,
    z.strictObject({ group: name, epoch: ms, holder: name, holder_epoch: ms }),
  ),
  'fence.lease_free': entry(
    'The lease of a VIP group is free and no node is a candidate: its holder (previous) left the lock (its ZooKeeper session ended, or it let go), or nobody held it when this node\'s session began. successor: the live node with the highest priority for the group\'s instance; its vrrp service becomes MASTER as soon as the old master\'s adverts are overdue, without waiting for the master-down timer.',
    SUBJECTS.vip,
    z.strictObject({ group: name, instance: name, previous: z.strictObject({ node: name, epoch: ms }).optional(), successor: name.optional() }),
  ),
  'fence.lease_outranked': entry(
    'When this node\'s session began, the lease of a VIP group was held by a node with a lower configured priority for the group\'s instance: this node\'s vrrp service, if BACKUP and preempting, takes over at once instead of waiting for the holder\'s next advert.',
    SUBJECTS.vip,
    z.strictObject({ group: name, instance: name, holder: z.strictObject({ node: name, epoch: ms }), holder_priority: z.number().int().min(1).max(255), priority: z.number().int().min(1).max(255) }),
  ),
  'fence.failsafe': entry(
    'zookeeper.failsafe: holding (ZooKeeper lost, the VIP group kept because every other node promised it cannot reach ZooKeeper either and holds none of the group: peers), ended (ZooKeeper back, the lease taken again without unbinding) or released (a peer stopped promising: unbound as without failsafe). without_coordinator_ms: since the session was lost.',
    SUBJECTS.vip,
    z.strictObject({
      group: name, state: z.enum(['holding', 'ended', 'released']), peers: z.array(name).max(64), detail: z.string().max(1024),
      epoch: ms, without_coordinator_ms: ms.optional(),
    }),
  ),
  'fence.gave_way': entry(
    'This node held the lease of a VIP group and gave it up to another director: a strict majority of the configured directors (heard_by) hear that director\'s adverts and not this node\'s, and it is VRRP master waiting for the lease. The side most of the directors (and so, most likely, the clients) reach serves.',
    SUBJECTS.vip,
    z.strictObject({ group: name, epoch: ms, to: name, heard_by: z.array(name).min(1), directors: z.number().int().positive() }),
  ),
  'fence.lease_lost': entry(
    'The lease of a VIP group was given up or lost (deadline passed, session expired, VRRP left MASTER).',
    SUBJECTS.vip,
    z.strictObject({ group: name, epoch: ms, reason: z.string().max(1024) }),
  ),
  'fence.address_observed': entry(
    'An address of a VIP group appeared or vanished on an interface without this service doing it.',
    SUBJECTS.vip,
    z.strictObject({ group: name, address: ipv4, interface: name, change: z.enum(['added', 'removed']), repaired: z.boolean(), detail: z.string().max(1024).optional() }),
  ),
  'vip.bound': entry(
    'The addresses of a VIP group were added on this node under a lease (after gratuitous ARP was sent).',
    SUBJECTS.vip,
    z.strictObject({
      group: name, epoch: ms, addresses: z.array(boundAddress).min(1), valid_lft_s: z.number().int().positive(),
      /**
       * The tenure before this one, as its holder left it in ZooKeeper: when its addresses
       * were really gone (removed, or dropped by the kernel when their lifetime ran out).
       * From there to this event, no node had them: the outage clients saw.
       */
      previous: z.strictObject({ node: name, epoch: ms, gone_at: ms, how: z.enum(['unbound', 'lifetime']) }).optional(),
      /** When the addresses went on (the kernel's echo); the event's ts is later when the log's time had moved past it (it never goes back). */
      bound_at: ms.optional(),
    }),
  ),
  'vip.unbound': entry(
    'The addresses of a VIP group were removed from this node, or found gone (gone_at: when they went; older records have it only when found gone after a crash).',
    SUBJECTS.vip,
    z.strictObject({
      group: name, epoch: ms, addresses: z.array(boundAddress), reason: z.string().max(1024), gone_at: ms.optional(),
      /**
       * How they went: removed by this fence (gone_at is the kernel's echo); vanished before it
       * removed them (gone_at is when its monitor saw it: lifetime, dead man's switch, someone
       * else); expired unseen (gone_at is the lifetime's end: a crashed fence; the kernel
       * removes an expired address at its next check, up to 250 ms later).
       */
      how: z.enum(['removed', 'vanished', 'expired']).optional(),
    }),
  ),

  'health.changed': entry(
    'A real server check changed state (transitions only), with a reason a person can act on.',
    SUBJECTS.realServer,
    z.strictObject({
      target: z.string(),
      check: z.string(),
      from: health,
      to: health,
      reason: z.string().max(1024),
      weight: z.number().int().min(0).optional(),
    }),
  ),
  'health.summary': entry(
    'Periodic compact summary of all checks on this node.',
    SUBJECTS.node,
    z.strictObject({
      total: ms,
      up: ms,
      down: ms,
      unknown: ms,
      window_ms: ms,
      /** Probes finished in the window, and how many failed or timed out. */
      probes: ms.optional(),
      failed: ms.optional(),
      timed_out: ms.optional(),
      /** How late probes started against their schedule (jitter excluded), in ms. */
      late_p99_ms: ms.optional(),
      late_max_ms: ms.optional(),
      /** Most probes in flight at once, and how many waited for a free slot. */
      in_flight_max: ms.optional(),
      queued: ms.optional(),
    }),
  ),
  'track.changed': entry(
    'A track script (keepalived vrrp_script) or tracked interface changed state.',
    SUBJECTS.track,
    z.strictObject({ name, from: z.enum(TRACK_STATES), to: z.enum(TRACK_STATES), reason: z.string().max(1024) }),
  ),

  'ipvs.changed': entry(
    'One change applied to the kernel IPVS table.',
    SUBJECTS.virtualServer,
    z.strictObject({
      op: z.enum(IPVS_OPS),
      service: ipvsService,
      server: ipvsServer.optional(),
      line: z.string().max(1024),
    }),
  ),
  'ipvs.quorum_changed': entry(
    "A virtual server's up real servers fell below its quorum (lost: the sorry server takes over) or came back above quorum + hysteresis (regained).",
    SUBJECTS.virtualServer,
    z.strictObject({
      service: ipvsService,
      state: z.enum(QUORUM_CHANGES),
      up_weight: ms,
      quorum: ms,
      hysteresis: ms,
      sorry_server: ipvsServer.optional(),
    }),
  ),
  'ipvs.availability': entry(
    "The kernel's IPVS table could not be read or changed (available false: no IPVS in the kernel, no ipvsadm, ...; what to do in hint), or can be again.",
    SUBJECTS.node,
    z.strictObject({ available: z.boolean(), error: z.string().max(1024).optional(), hint: z.string().max(1024).optional() }),
  ),
  'ipvs.drift': entry(
    'The kernel IPVS table differed from the desired one without vigil changing it (someone ran ipvsadm).',
    SUBJECTS.node,
    z.strictObject({ differences: z.array(z.string().max(1024)).min(1) }),
  ),

  'relay.delivery_failed': entry(
    'The relay could not deliver to a sink (NATS down, ...); it will retry, nothing is lost.',
    SUBJECTS.relay,
    z.strictObject({ sink: name, error: z.string().max(4096), cursor: ms, attempts: z.number().int().positive() }),
  ),
  'relay.alert': entry(
    'An alert raised by a rule over the log (published on vigil.<cluster>.alerts.<severity>.<kind>); events are the ids behind it.',
    SUBJECTS.alert,
    z.strictObject({
      /** Stable for one occurrence, whichever node raises it (NATS drops a second copy). */
      id: z.string().min(1).max(512),
      kind: z.string().regex(/^[a-z_]+$/),
      severity: alertSeverity,
      summary: z.string().min(1).max(2048),
      events: z.array(z.string().min(1)).min(1),
      details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
    }),
  ),
  'relay.node_changed': entry(
    "A node's ZooKeeper node (kept by its fence service, or with service relay by its relay) appeared or vanished, as this node's relay saw it.",
    SUBJECTS.node,
    z.strictObject({ node: name, change: z.enum(['joined', 'left']), speaker: name, service: z.enum(['fence', 'relay']).optional() }),
  ),
  'relay.lease_observed': entry(
    "The holder of a VIP group's lease (the lowest lock candidate) changed, as this node's relay saw it; holder null: nobody holds it.",
    SUBJECTS.vip,
    z.strictObject({
      group: name,
      holder: z.strictObject({ node: name, epoch: ms }).nullable(),
      previous: z.strictObject({ node: name, epoch: ms }).nullable(),
      speaker: name,
      /**
       * watch: recorded as ZooKeeper told of the change (every relay within milliseconds:
       * postmortems measure the nodes' clocks with it); session_start: found at a session's
       * first read (the change may be long past).
       */
      seen: z.enum(['watch', 'session_start']).optional(),
    }),
  ),
  'relay.service_lost': entry(
    'A service of this node stopped beating without recording its stop (killed, hung or crashed).',
    SUBJECTS.service,
    z.strictObject({ service: name, pid: z.number().int().positive(), silent_ms: ms }),
  ),
  'relay.notify_ran': entry(
    'A keepalived-style notify script ran: its argv, exit status, duration and the tail of its output.',
    SUBJECTS.notify,
    z.strictObject({
      /** The configuration key that named the script (notify_master, notify, notify_down, quorum_up, ...). */
      script: z.string().min(1).max(64),
      argv: z.array(z.string()).min(1),
      exit_code: z.number().int().nullable(),
      signal: z.string().nullable(),
      timed_out: z.boolean(),
      duration_ms: ms,
      output_tail: z.string().max(8192),
    }),
  ),
} as const;

export type Catalogue = typeof catalogue;
export type EventType = keyof Catalogue;
export type EventData<T extends EventType> = z.infer<Catalogue[T]['data']>;
export const EVENT_TYPES = Object.keys(catalogue) as EventType[];

export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(catalogue, type);
}

export interface LateMark {
  /** Unix ms at which the event happened. */
  ts: number;
  /** Why it could not be appended then. */
  error: string;
}

/** The key under which a late event's LateMark is stored in its data. */
export const LATE_KEY = '_late';

/** An event as a service proposes it; the log adds seq, id, ts, node and hash. */
export type NewEvent = {
  [T in EventType]: {
    type: T;
    subject: string;
    data: EventData<T>;
    source: Source;
    causation?: number | null;
    correlation?: string | null;
    /** Unix ms; defaults to the time of the append, and is raised to the previous event's if earlier. */
    ts?: number;
    /**
     * Appended later than it happened (the log refused writes meanwhile): when it happened
     * and why it was late. Stored in data as `_late` (so the hash covers it).
     */
    late?: LateMark;
  };
}[EventType];

/** A row of the log, as read back. data is parsed JSON, typed through isEvent() or typed(). */
export type StoredEvent = Omit<EventsTable, 'data'> & { data: unknown };

/** A stored event of one type, its data typed by the catalogue. */
export type EventOf<T extends EventType> = T extends EventType ? Omit<StoredEvent, 'type' | 'data'> & { type: T; data: EventData<T> } : never;
/** A stored event of any type this version knows: switch on its type to narrow its data. */
export type TypedEvent = EventOf<EventType>;

/**
 * The read side of the catalogue. A stored event's data was checked against its type's
 * schema when it was appended, and the log's triggers forbid changing it since, so its
 * type is enough to know its shape (the catalogue only ever adds optional fields).
 */
export function isEvent<T extends EventType>(e: Pick<StoredEvent, 'type'>, ...types: T[]): e is EventOf<T> & typeof e {
  return (types as string[]).includes(e.type);
}

/** The event typed by its type; undefined for a type this version does not know (written by a newer one). */
export function typed(e: StoredEvent): TypedEvent | undefined {
  return isEventType(e.type) ? (e as TypedEvent) : undefined;
}

/**
 * Event types named by shell-style patterns (`fence.lease*`, `vrrp.*`, `*.changed`, an
 * exact type): the catalogue's types each matches. A pattern that matches no type throws,
 * naming it (a typo must not look like "no such events").
 */
export function expandTypePatterns(patterns: readonly string[]): EventType[] {
  const out = new Set<EventType>();
  for (const p of patterns) {
    const re = new RegExp(`^${p.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    const matched = EVENT_TYPES.filter((t) => re.test(t));
    if (matched.length === 0) throw new UnknownEventType(p);
    for (const t of matched) out.add(t);
  }
  return [...out];
}

export class UnknownEventType extends Error {
  constructor(readonly pattern: string) {
    super(`no event type matches "${pattern}" (types: ${EVENT_TYPES.join(', ')})`);
    this.name = 'UnknownEventType';
  }
}
