// Keeps one ZooKeeper session alive and says, from our own heartbeats, whether it can
// still be trusted (liveness.ts). After a loss or an expiry the client is closed and a
// new session is made; nothing waits for the library to notice.
import type { Logger } from '../logger.js';
import { answeredByServer, isZkError, ZkClient, type ZkClientOptions } from './client.js';
import { onZooKeeperFault } from './guard.js';
import { healthAt, leaseDeadline, livenessTiming, nextHealthChange, type LivenessTiming, type SessionHealth } from './liveness.js';

export type SessionState = SessionHealth | 'expired';

export interface SessionReport {
  state: SessionState;
  sessionId: string | undefined;
  sessionTimeoutMs: number | undefined;
  /** Wall-clock ms by which the session must be taken as lost (while connected/suspended). */
  deadline: number | undefined;
  detail: string;
}

export interface ZkSessionOptions {
  connectString: string;
  sessionTimeoutMs: number;
  logger: Logger;
  /** A session granted a shorter timeout than this is refused (closed and retried later). */
  minSessionTimeoutMs?: number;
  /** How often to send a heartbeat for a granted session timeout (default: livenessTiming's ~15 per timeout). */
  heartbeatMs?(sessionTimeoutMs: number): number;
  /** Called on every change of state, in order. */
  onState(report: SessionReport): void;
  /** Called after every answered heartbeat. */
  onAck?(): void;
  /** Called once per new session, before it is reported connected (create ephemeral nodes here). */
  onSession?(client: ZkClient): Promise<void>;
  /**
   * The request each heartbeat sends (default: exists /). Any answer of the server counts,
   * so a request that can carry news (the fence writes when its addresses go) costs no
   * extra traffic. Errors that are the server's answer count as answers.
   */
  heartbeatRequest?(client: ZkClient): Promise<unknown>;
}

const now = () => performance.now();
const wallClock = (monotonic: number) => Math.round(Date.now() + (monotonic - now()));

export class ZkSession {
  private client: ZkClient | undefined;
  private timing: LivenessTiming | undefined;
  private lastAckSentAt = 0;
  /** undefined until the first report. */
  private health: SessionState | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeatInFlight = false;
  /** Whether the current session has had a heartbeat answered yet. */
  private acked = false;
  private stopped = false;
  private failures = 0;
  private unlistenFaults: (() => void) | undefined;
  /** The client's connection is up (no 'disconnected' since it last connected). */
  private linkUp = false;
  /** When the heartbeat in flight was sent (undefined: none in flight). */
  private inFlightSince: number | undefined;

  constructor(private readonly o: ZkSessionOptions) {}

  start(): void {
    this.unlistenFaults = onZooKeeperFault((f) =>
      this.o.logger.warn('ZooKeeper client fault absorbed: the connection was ended and will be made again', {
        fault: f.kind === 'late_connect_response' ? 'a connect response arrived after the client was closed' : f.error.message,
      }));
    void this.connect();
  }

  /** The client of the current session while it can be trusted (connected or suspended). */
  get current(): ZkClient | undefined {
    return this.health === 'connected' || this.health === 'suspended' ? this.client : undefined;
  }

  get state(): SessionState {
    return this.health ?? 'lost';
  }

  /**
   * ZooKeeper answers now: connected, the connection up, no heartbeat waiting for its answer
   * longer than a quarter of the session timeout (at most 200 ms), and the last one answered
   * within 2.5 heartbeat periods. Stricter than the state, which turns suspended only after
   * most of the session timeout: the failsafe asks it of a node at any moment, and a holder
   * must hear "no" from its peers well before its own lease deadline passes.
   */
  get reachable(): boolean {
    const t = now();
    const timing = this.timing;
    if (this.health !== 'connected' || !this.linkUp || timing === undefined) return false;
    const patience = Math.min(200, timing.sessionTimeoutMs / 4);
    return (this.inFlightSince === undefined || t - this.inFlightSince <= patience) && t - this.lastAckSentAt <= 2.5 * timing.heartbeatMs;
  }

  /** The lease deadline in monotonic ms (performance.now()), while a session exists. */
  get deadline(): number | undefined {
    return this.client && this.timing ? leaseDeadline(this.lastAckSentAt, this.timing) : undefined;
  }

  stop(): void {
    this.stopped = true;
    this.unlistenFaults?.();
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.healthTimer);
    clearTimeout(this.retryTimer);
    this.client?.close();
    this.client = undefined;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const started = now();
    const clientOptions: ZkClientOptions = {
      connectString: this.o.connectString,
      sessionTimeoutMs: this.o.sessionTimeoutMs,
      connectTimeoutMs: Math.max(1000, this.o.sessionTimeoutMs),
      requestTimeoutMs: this.o.sessionTimeoutMs,
    };
    let client: ZkClient;
    try {
      client = await ZkClient.connect(clientOptions);
      if (this.stopped) return client.close();
      const granted = client.sessionTimeoutMs;
      if (this.o.minSessionTimeoutMs !== undefined && granted < this.o.minSessionTimeoutMs) {
        client.close();
        throw new Error(`ZooKeeper granted a session timeout of ${granted} ms, below the ${this.o.minSessionTimeoutMs} ms vigil needs (check the servers' minSessionTimeout/maxSessionTimeout)`);
      }
      this.timing = livenessTiming(granted, this.o.heartbeatMs?.(granted));
      // Nothing is trusted before the first answered heartbeat of the new session.
      this.lastAckSentAt = started;
      await this.o.onSession?.(client);
      if (this.stopped) return client.close();
    } catch (err) {
      return this.retry(`cannot establish a ZooKeeper session: ${(err as Error).message}`);
    }
    this.client = client;
    this.acked = false;
    this.failures = 0;
    this.linkUp = true;
    client.onConnection((e) => {
      if (client !== this.client) return;
      this.linkUp = e === 'connected';
      if (e === 'expired') this.lose('expired', 'ZooKeeper reported the session expired');
      else if (e === 'disconnected') this.o.logger.warn('ZooKeeper connection lost; the lease deadline is running', { session: client.sessionId });
    });
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.timing!.heartbeatMs);
    void this.heartbeat();
    this.evaluate();
  }

  private retry(detail: string): void {
    if (this.stopped) return;
    this.failures += 1;
    this.report({ state: 'lost', sessionId: undefined, sessionTimeoutMs: undefined, deadline: undefined, detail }, true);
    // Short: an attempt already tries every 50 ms for connectTimeoutMs, so a long pause between
    // attempts only delays the session (and the VIP) once ZooKeeper is back (up to 2 s, measured).
    const delay = Math.min(250, 100 * 2 ** Math.min(this.failures - 1, 5));
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private async heartbeat(): Promise<void> {
    const client = this.client;
    if (!client || this.heartbeatInFlight) return;
    this.heartbeatInFlight = true;
    const sentAt = now();
    this.inFlightSince = sentAt;
    try {
      try {
        await (this.o.heartbeatRequest ? this.o.heartbeatRequest(client) : client.exists('/'));
      } catch (err) {
        if (client === this.client && isZkError(err, 'SESSION_EXPIRED')) return this.lose('expired', 'ZooKeeper answered: session expired');
        // Any other answer (a node missing, say) proves the server heard us; a lost
        // connection or a timeout is silence: the deadline decides.
        if (!answeredByServer(err)) return;
      }
      if (client !== this.client) return;
      this.lastAckSentAt = Math.max(this.lastAckSentAt, sentAt);
      this.acked = true;
      this.evaluate();
      if (this.health !== 'lost') this.o.onAck?.();
    } finally {
      this.heartbeatInFlight = false;
      this.inFlightSince = undefined;
    }
  }

  private evaluate(): void {
    if (!this.client || !this.timing) return;
    clearTimeout(this.healthTimer);
    const t = now();
    const health = healthAt(t, this.lastAckSentAt, this.timing);
    if (health === 'lost') {
      this.lose('lost', `${this.acked ? '' : 'new session: '}no answered heartbeat for ${Math.round(t - this.lastAckSentAt)} ms (session timeout ${this.timing.sessionTimeoutMs} ms, margin ${this.timing.marginMs} ms)`);
      return;
    }
    if (this.acked && health !== this.health) {
      const silent = Math.round(t - this.lastAckSentAt);
      this.report(
        {
          state: health,
          sessionId: this.client.sessionId,
          sessionTimeoutMs: this.timing.sessionTimeoutMs,
          deadline: wallClock(leaseDeadline(this.lastAckSentAt, this.timing)),
          detail: health === 'connected' ? 'heartbeats answered' : `no answered heartbeat for ${silent} ms; lease deadline running`,
        },
      );
    }
    const next = nextHealthChange(t, this.lastAckSentAt, this.timing);
    if (next !== undefined) this.healthTimer = setTimeout(() => this.evaluate(), Math.max(0, next - now()));
  }

  private lose(state: 'lost' | 'expired', detail: string): void {
    const client = this.client;
    if (!client) return;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.healthTimer);
    this.client = undefined;
    this.report({ state, sessionId: client.sessionId, sessionTimeoutMs: this.timing?.sessionTimeoutMs, deadline: undefined, detail }, true);
    // Ends the session at once if the server can still hear us (asymmetric cut), so that
    // peers need not wait for its expiry.
    client.close();
    if (!this.stopped) this.retryTimer = setTimeout(() => void this.connect(), 100);
  }

  /** With onlyIfChanged, a repeat of the current state is only logged (retries while lost). */
  private report(r: SessionReport, onlyIfChanged = false): void {
    if (onlyIfChanged && this.health === r.state) {
      this.o.logger.warn(r.detail);
      return;
    }
    this.health = r.state;
    this.o.onState(r);
  }
}
