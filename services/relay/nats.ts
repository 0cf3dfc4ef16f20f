// The relay's NATS side: one connection that reconnects forever, the JetStream stream
// that keeps every event and alert (created if missing), acknowledged publishes with the event id
// as Nats-Msg-Id (JetStream drops a second copy), and the last event of a node the
// stream already holds (where a restarted relay resumes).
import { jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { isEvent, type StoredEvent } from '../../shared/eventlog/index.js';
import type { Logger } from '../../shared/logger.js';
import { alertMessage, alertMessageId, alertSubject, alertsWildcard, eventSubject, eventsWildcard, nodeEventsWildcard } from '../../shared/nats.js';

/** How long JetStream remembers a message id (a re-published event inside it is dropped). */
export const DUPLICATE_WINDOW_MS = 120_000;
const PUBLISH_TIMEOUT_MS = 2000;
const nanos = (ms: number) => ms * 1_000_000;

export interface NatsSinkOptions {
  servers: string[];
  stream: string;
  cluster: string;
  node: string;
  logger: Logger;
  /** Called when the connection comes back (the relay then retries at once). */
  onReconnect?: () => void;
}

export class NatsSink {
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private jsm: JetStreamManager | undefined;
  private connecting: Promise<void> | undefined;
  private streamReady = false;
  private connected = false;
  private closed = false;

  constructor(private readonly o: NatsSinkOptions) {}

  /** Connects (once; the client then reconnects by itself) and makes sure the stream exists. */
  async ready(): Promise<void> {
    if (!this.nc) {
      this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
      await this.connecting;
    }
    if (!this.streamReady) await this.ensureStream();
  }

  private async connect(): Promise<void> {
    const nc = await connect({ servers: this.o.servers, name: `vigil-relay-${this.o.node}`, maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 2000 });
    if (this.closed) {
      await nc.close();
      return;
    }
    this.nc = nc;
    this.connected = true;
    this.js = jetstream(nc, { timeout: PUBLISH_TIMEOUT_MS });
    this.jsm = await jetstreamManager(nc, { timeout: PUBLISH_TIMEOUT_MS });
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') {
          this.connected = false;
          this.o.logger.warn('NATS connection lost; reconnecting', { server: s.server });
        }
        if (s.type === 'reconnect') {
          this.connected = true;
          this.o.logger.info('NATS connection back', { server: s.server });
          this.o.onReconnect?.();
        }
      }
    })();
  }

  private async ensureStream(): Promise<void> {
    const wanted = [eventsWildcard(this.o.cluster), alertsWildcard(this.o.cluster)];
    try {
      const info = await this.jsm!.streams.info(this.o.stream);
      const subjects = info.config.subjects ?? [];
      const missing = wanted.filter((w) => !subjects.includes(w));
      if (missing.length > 0) {
        await this.jsm!.streams.update(this.o.stream, { subjects: [...subjects, ...missing] });
        this.o.logger.info("added vigil's subjects to the stream", { stream: this.o.stream, subjects: missing });
      }
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
      await this.jsm!.streams.add({ name: this.o.stream, subjects: wanted, duplicate_window: nanos(DUPLICATE_WINDOW_MS) });
      this.o.logger.info('created the JetStream stream', { stream: this.o.stream, subjects: wanted });
    }
    this.streamReady = true;
  }

  /** The id of this node's newest event in the stream, if any. */
  async lastPublishedId(): Promise<string | undefined> {
    await this.ready();
    const m = await this.jsm!.streams.getMessage(this.o.stream, { last_by_subj: nodeEventsWildcard(this.o.cluster, this.o.node) });
    return m?.header?.get('Nats-Msg-Id') || undefined;
  }

  /**
   * Publishes the events in order, pipelined, each relay.alert also on its alert subject;
   * resolves when JetStream has acknowledged every message.
   */
  async publish(events: readonly StoredEvent[]): Promise<{ duplicates: number }> {
    await this.ready();
    // Publishing while disconnected would only queue in the client and time out.
    if (!this.connected || this.nc!.isClosed()) throw new Error('not connected to NATS (reconnecting)');
    const options = (msgID: string) => ({ msgID, timeout: PUBLISH_TIMEOUT_MS });
    const acks = events.flatMap((e) => {
      const event = this.js!.publish(eventSubject(this.o.cluster, e.node, e.type), JSON.stringify(e), options(e.id));
      if (!isEvent(e, 'relay.alert')) return [event];
      const a = alertMessage(this.o.cluster, e);
      return [event, this.js!.publish(alertSubject(this.o.cluster, a.severity, a.kind), JSON.stringify(a), options(alertMessageId(a)))];
    });
    const settled = await Promise.allSettled(acks);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return { duplicates: settled.filter((s) => s.status === 'fulfilled' && s.value.duplicate).length };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.nc?.close();
  }
}
