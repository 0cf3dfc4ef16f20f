// The relay's I/O: the node's log, read from a durable cursor, published to NATS. The
// cursor moves only after JetStream has acknowledged a whole batch; a restart resumes
// from it (or from the stream's own last event of this log, if that is further), and a
// re-published event is dropped by JetStream's de-duplication: exactly once, in order.
import type { VigilConfig } from '../../shared/config/index.js';
import { relaySubject, type EventLog } from '../../shared/eventlog/index.js';
import type { Logger } from '../../shared/logger.js';
import { recorder } from '../../shared/service.js';
import { delivered, onDeliveryFailed, resumeAfter, type RetryState } from './decider.js';
import { NatsSink } from './nats.js';

export const CURSOR = 'relay:nats';
const BATCH = 500;

export interface RelayServiceOptions {
  config: VigilConfig;
  node: string;
  log: EventLog;
  logger: Logger;
}

export class RelayService {
  private readonly sink: NatsSink;
  private cursor = 0;
  private resumed = false;
  private running = false;
  private again = false;
  private stopped = false;
  private retry: RetryState = delivered();
  private retryTimer: NodeJS.Timeout | undefined;
  private off: (() => void) | undefined;
  private readonly append;
  /** Resolves when the current pump ends (stop waits for it). */
  private pumping: Promise<void> = Promise.resolve();

  constructor(private readonly o: RelayServiceOptions) {
    const nats = o.config.nats;
    if (!nats) throw new Error('the configuration has no nats section: the relay has nowhere to publish');
    this.append = recorder(o.log, o.logger);
    this.sink = new NatsSink({ servers: nats.servers, stream: nats.stream, cluster: o.config.cluster, node: o.node, logger: o.logger, onReconnect: () => this.wake(true) });
  }

  start(): void {
    this.cursor = this.o.log.getCursor(CURSOR);
    this.off = this.o.log.onChange(() => this.wake(false));
    this.wake(false);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.off?.();
    clearTimeout(this.retryTimer);
    await this.pumping;
    await this.sink.close();
  }

  /** The seq of the last event known to be in the stream. */
  get delivered(): number {
    return this.cursor;
  }

  private wake(now: boolean): void {
    if (this.stopped) return;
    if (this.retryTimer !== undefined) {
      if (!now) return; // a failure's back-off is running; the retry reads everything new
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    if (this.running) {
      this.again = true;
      return;
    }
    this.pumping = this.pump();
  }

  private async pump(): Promise<void> {
    this.running = true;
    try {
      if (!this.resumed) {
        const last = await this.sink.lastPublishedId();
        const from = resumeAfter(this.cursor, last, { node: this.o.node, logId: this.o.log.logId }, this.o.log.lastSeq());
        if (from !== this.cursor) {
          this.o.logger.info('the stream already holds later events of this log; resuming after them', { cursor: this.cursor, resume_after: from });
          this.setCursor(from);
        }
        this.resumed = true;
      }
      do {
        this.again = false;
        for (;;) {
          if (this.stopped) return;
          const batch = this.o.log.readAfter(this.cursor, BATCH);
          if (batch.length === 0) break;
          const { duplicates } = await this.sink.publish(batch);
          if (duplicates > 0) this.o.logger.info('JetStream dropped re-published events', { duplicates });
          this.setCursor(batch[batch.length - 1]!.seq);
          if (this.retry.attempts > 0) this.o.logger.info('delivering again', { after_attempts: this.retry.attempts, cursor: this.cursor });
          this.retry = delivered();
        }
      } while (this.again && !this.stopped);
    } catch (err) {
      this.failed(err);
    } finally {
      this.running = false;
    }
  }

  private setCursor(seq: number): void {
    this.o.log.setCursor(CURSOR, seq);
    this.cursor = seq;
  }

  private failed(err: unknown): void {
    if (this.stopped) return;
    const v = onDeliveryFailed(this.retry, Date.now());
    this.retry = v.state;
    const error = (err as Error)?.message ?? String(err);
    this.o.logger.warn('cannot deliver to NATS; will retry', { attempts: v.state.attempts, retry_in_ms: v.retryInMs, cursor: this.cursor, error });
    if (v.report) {
      this.append({ type: 'relay.delivery_failed', source: 'relay', subject: relaySubject(this.o.node), data: { sink: 'nats', error: error.slice(0, 4096), cursor: this.cursor, attempts: v.state.attempts } });
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.wake(false);
    }, v.retryInMs);
  }
}
