// The IPVS service's I/O: rebuild the real servers' health and the quorum states from the
// log, keep the kernel's table equal to desiredTable() with one ipvsadm -R per change,
// record every applied line as ipvs.changed (caused by the event that made it necessary),
// and read the table every ipvs_drift_check seconds to find, record and repair changes
// made by hand. Between drift checks the table is known from the last successful batch,
// so a reconcile costs one ipvsadm process.
import type { VigilConfig } from '../../shared/config/index.js';
import { followLog, nodeSubject, serviceSubject, UNCONFIGURED_VIRTUAL_SERVER, virtualServerSubject, type EventLog, type NewEvent, type StoredEvent, type Subscription } from '../../shared/eventlog/index.js';
import { throttledWarning, type Logger } from '../../shared/logger.js';
import type { Recorder } from '../../shared/recorder.js';
import { recorderOf, type ReloadChanges } from '../../shared/service.js';
import { diffByName, sameJson } from '../../shared/config/diff.js';
import { QuorumTracker } from '../../shared/health-record.js';
import { desiredTable, type Desired } from './desired.js';
import { diffTables, type IpvsOp } from './diff.js';
import { Ipvsadm } from './ipvsadm.js';
import { readProcView } from './proc-view.js';
import type { Table } from './table.js';
import { every, type Chore } from '../../shared/housekeeping.js';

const RETRY_MS = 1000;
/**
 * While the table cannot be read at all (no IPVS in the kernel, ipvsadm missing), retries
 * back off to this, and drift checks leave it to them: each runs ipvsadm (0.7 % of a core at
 * one a second), and the module loaded is then seen within it.
 */
const UNAVAILABLE_RETRY_MAX_MS = 30_000;
/**
 * A drift check reads the table with ipvsadm (a process: ~0.15 % of a core at one each
 * 10 s) only when /proc/net/ip_vs changed since the last full read, or this long after it.
 */
const FULL_READ_MS = 60_000;

export interface IpvsServiceOptions {
  config: VigilConfig;
  node: string;
  log: EventLog;
  logger: Logger;
  ipvsadm?: Ipvsadm;
}

export class IpvsService {
  readonly ipvsadm: Ipvsadm;
  private readonly recorder: Recorder;
  private quorum: QuorumTracker;
  /** The configuration running now (a reload replaces it). */
  private config: VigilConfig;
  /** The kernel's table as of our last read or successful batch; undefined: read it first. */
  private known: Table | undefined;
  private subscription: Subscription | undefined;
  private driftChore: Chore | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private pending: { cause: number | null; drift: boolean } | undefined;
  /** A reconcile runs now (the table is ours to change: a drift check waits for the read after it). */
  private reconciling = false;
  private stopped = false;
  /** Since when the table cannot be read or changed (undefined: it can). */
  private unavailable: number | undefined;
  /** Failed attempts since the table was last read or changed (the retry's backoff). */
  private failures = 0;
  /** /proc/net/ip_vs as it was before the last full read (undefined: read in full next time). */
  private viewBeforeRead: string | undefined;
  /** Drift checks answered by /proc/net/ip_vs alone since the last full read. */
  private quickChecks = 0;
  private readonly stillUnavailable: (fields?: Record<string, unknown>) => void;

  constructor(private readonly o: IpvsServiceOptions) {
    this.ipvsadm = o.ipvsadm ?? new Ipvsadm();
    this.recorder = recorderOf(o.log, o.logger);
    this.config = o.config;
    this.quorum = new QuorumTracker(o.config, Object.keys(o.config.virtual_servers));
    this.stillUnavailable = throttledWarning(o.logger, 'the IPVS table still cannot be read or changed; retrying');
  }

  /** Rebuilds state from the log, reconciles once, then follows the log. */
  async start(): Promise<void> {
    const { log, config, logger } = this.o;
    const rebuild = async (upTo: number) => {
      this.quorum.load(log, upTo);
      const [started] = log.query({ types: ['service.started'], subject: serviceSubject('ipvs'), toSeq: upTo, newest: true, limit: 1 });
      await this.reconcile(started?.seq ?? null, true);
      logger.info('following the log', { services: this.known?.size ?? null, ipvsadm_runs: this.ipvsadm.invocations });
    };
    this.subscription = await followLog(log, { logger, rebuild }, (batch) => this.onEvents(batch));
    this.driftChore = every(config.global_defs.ipvs_drift_check * 1000, () => this.driftCheck());
  }

  /**
   * Applies a new configuration as a difference: the desired table is computed again and
   * only what differs from the kernel's is changed (an unchanged virtual server and its real
   * servers are not touched); quorum is taken again from the record for the new set.
   */
  async reload(config: VigilConfig): Promise<ReloadChanges> {
    const vs = (c: VigilConfig) => new Map(Object.entries(c.virtual_servers).map(([n, v]) => [n, { v, groups: v.group !== undefined ? c.virtual_server_groups[v.group] : undefined }]));
    const diff = diffByName(vs(this.config), vs(config), sameJson);
    this.config = config;
    this.quorum = new QuorumTracker(config, Object.keys(config.virtual_servers));
    this.quorum.load(this.o.log, this.o.log.lastSeq());
    this.request(null, false);
    await this.settled();
    const label = (n: string) => `virtual_server ${n}`;
    return { added: diff.added.map(label), removed: diff.removed.map(label), changed: diff.changed.map(label), unchanged: diff.unchanged.map(label) };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.subscription?.close();
    this.driftChore?.stop();
    clearTimeout(this.retryTimer);
    await this.running;
  }

  /** Reads the kernel's table now (a drift check) and resolves when it is repaired. */
  async check(): Promise<void> {
    this.request(null, true);
    await this.settled();
  }

  /** Resolves when every requested reconcile has run (for tests and the bench). */
  async settled(): Promise<void> {
    while (this.pending) await this.running;
    await this.running;
  }

  private onEvents(batch: StoredEvent[]): void {
    let cause: number | undefined;
    for (const e of batch) if (this.quorum.apply(e)) cause = e.seq;
    if (cause !== undefined) this.request(cause, false);
  }

  /**
   * Reads the table in full when /proc/net/ip_vs changed since the view taken before the last
   * full read (taken before: a change made while ipvsadm reads is seen at the next check),
   * when it cannot be read, and at least each FULL_READ_MS.
   */
  private driftCheck(): void {
    if (this.unavailable !== undefined) return; // the retries read it
    // While our own change is under way the table moves by our hand: a look now would take a
    // half-done table as drift (one read too many); the reconcile leaves the next check to read.
    if (this.reconciling || this.pending) return;
    const view = readProcView();
    const fullEvery = Math.max(1, Math.round(FULL_READ_MS / (this.config.global_defs.ipvs_drift_check * 1000)));
    if (view !== undefined && view === this.viewBeforeRead && ++this.quickChecks < fullEvery) return;
    this.quickChecks = 0;
    this.viewBeforeRead = view;
    this.request(null, true);
  }

  /** Queues a reconcile; requests that arrive while one runs are merged into the next. */
  private request(cause: number | null, drift: boolean): void {
    if (this.stopped) return;
    const p = this.pending;
    this.pending = { cause: cause ?? p?.cause ?? null, drift: drift || (p?.drift ?? false) };
    if (p) return;
    this.running = this.running.then(async () => {
      const next = this.pending!;
      this.pending = undefined;
      this.reconciling = true;
      try {
        if (!this.stopped) await this.reconcile(next.cause, next.drift);
      } finally {
        this.reconciling = false;
      }
    });
  }

  private async reconcile(cause: number | null, readFirst: boolean): Promise<void> {
    const desired = desiredTable(this.config, this.quorum.health, this.quorum.states);
    try {
      const current = readFirst || !this.known ? await this.ipvsadm.read() : this.known;
      let ops = diffTables(current, desired.table);
      this.recordQuorum(desired, cause);
      if (readFirst && this.known && ops.length > 0) {
        // The table differs from what we left it as: someone changed it. Say so, then repair.
        const drift = diffTables(this.known, current);
        if (drift.length > 0) cause = this.recordDrift(ops, cause);
      }
      this.known = current;
      if (ops.length === 0) return;
      this.viewBeforeRead = undefined; // the table changes now: the next check reads it
      const complaints = await this.ipvsadm.restore(ops.map((op) => op.line));
      let after = desired.table;
      if (complaints) {
        after = await this.ipvsadm.read();
        const left = new Set(diffTables(after, desired.table).map((op) => op.line));
        this.o.logger.error('ipvsadm could not apply every change; retrying', { complaints, failed: [...left] });
        ops = ops.filter((op) => !left.has(op.line));
        this.retryLater();
      }
      this.known = after;
      this.recordChanges(ops, desired, cause);
      this.reportAvailable();
    } catch (err) {
      this.known = undefined;
      this.viewBeforeRead = undefined;
      this.reportUnavailable(err);
      this.retryLater(Math.min(RETRY_MS * 2 ** this.failures++, UNAVAILABLE_RETRY_MAX_MS));
    }
  }

  /** Once per outage: an event (the relay alerts on it) and one log line; then one warning a minute. */
  private reportUnavailable(err: unknown): void {
    const error = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, '; ').slice(0, 1024);
    if (this.unavailable !== undefined) {
      this.stillUnavailable({ error });
      return;
    }
    this.unavailable = Date.now();
    const hint = ipvsHint(error);
    this.o.logger.error('cannot read or change the IPVS table; retrying', { error, hint });
    this.recorder.record({ type: 'ipvs.availability', source: 'ipvs', subject: nodeSubject(this.o.node), data: { available: false, error, hint } });
  }

  private reportAvailable(): void {
    this.failures = 0;
    if (this.unavailable === undefined) return;
    this.o.logger.info('the IPVS table can be read and changed again', { after_ms: Date.now() - this.unavailable });
    this.unavailable = undefined;
    this.recorder.record({ type: 'ipvs.availability', source: 'ipvs', subject: nodeSubject(this.o.node), data: { available: true } });
  }

  private retryLater(ms = RETRY_MS): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.request(null, true);
    }, ms);
  }

  private subjectOf(op: IpvsOp, desired: Desired): string {
    const vs = desired.owner.get(op.service);
    return vs ? virtualServerSubject(vs) : UNCONFIGURED_VIRTUAL_SERVER;
  }

  private recordDrift(ops: IpvsOp[], cause: number | null): number | null {
    const what = { add_service: 'missing', add_server: 'missing', del_service: 'not configured', del_server: 'not configured', edit_service: 'differs', edit_server: 'differs' } as const;
    const differences = ops.map((op) => `${what[op.op]}: ${op.line}`.slice(0, 1024));
    this.o.logger.warn('the IPVS table was changed outside vigil; repairing', { differences });
    const e = this.recorder.record({ type: 'ipvs.drift', source: 'ipvs', subject: nodeSubject(this.o.node), causation: cause, data: { differences } });
    return e?.seq ?? cause;
  }

  private recordQuorum(desired: Desired, cause: number | null): void {
    for (const q of desired.quorumChanges) {
      this.o.logger.warn(`quorum ${q.state}`, { virtual_server: q.vs, up_weight: q.upWeight, quorum: q.quorum });
      this.recorder.record({
        type: 'ipvs.quorum_changed', source: 'ipvs', subject: virtualServerSubject(q.vs), causation: cause,
        data: { service: q.service, state: q.state, up_weight: q.upWeight, quorum: q.quorum, hysteresis: q.hysteresis, ...(q.sorryServer ? { sorry_server: q.sorryServer } : {}) },
      });
    }
    this.quorum.accept(desired.quorum);
  }

  private recordChanges(ops: IpvsOp[], desired: Desired, cause: number | null): void {
    if (ops.length === 0) return;
    const events: NewEvent[] = ops.map((op) => ({
      type: 'ipvs.changed', source: 'ipvs', subject: this.subjectOf(op, desired), causation: cause,
      data: { op: op.op, service: op.service, ...(op.server ? { server: op.server } : {}), line: op.line },
    }));
    this.recorder.recordAll(events);
    this.o.logger.info('IPVS table changed', { changes: ops.length });
  }
}

/** What an operator can do about an ipvsadm failure, from its words. */
export function ipvsHint(error: string): string {
  if (/Protocol not available|Module ip_vs not found|Can't initialize ipvs/i.test(error)) {
    return 'this kernel has no IPVS: load the ip_vs module (modprobe ip_vs; in a container, on the host) or use a kernel built with CONFIG_IP_VS';
  }
  if (/cannot run .*ENOENT/i.test(error)) return 'ipvsadm is not installed (Debian: apt-get install ipvsadm)';
  if (/Permission denied|Operation not permitted|EACCES|EPERM/i.test(error)) return 'the ipvs service needs CAP_NET_ADMIN (root, or the capability in its container or unit)';
  return 'see the error; the service retries every few seconds';
}
