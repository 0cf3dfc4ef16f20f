// How a service records its events: in order, and never at the cost of its work. When
// the log refuses writes (a full or failing disk, a read-only remount), the events are
// kept in memory (bounded) and appended, in their order and marked late with the time
// they happened, as soon as the log accepts writes again; one warning a minute says so
// meanwhile. The actions that keep the cluster safe never wait for any of this.
import { EventRefused, serviceSubject, type EventLog, type NewEvent, type Source, type StoredEvent } from './eventlog/index.js';
import { throttledWarning, type Logger } from './logger.js';

/** Events kept while the log refuses writes; later ones are counted and dropped. */
export const BACKLOG_LIMIT = 10_000;
const RETRY_MS = 500;

export class Recorder {
  private readonly backlog: NewEvent[] = [];
  private failingSince: number | undefined;
  private lastError = '';
  private dropped = 0;
  private retry: NodeJS.Timeout | undefined;
  /** Events recorded with soon(), appended together at the end of this turn of the event loop. */
  private queued: NewEvent[] = [];
  private queuedFlush: NodeJS.Immediate | undefined;
  private readonly warn: ReturnType<typeof throttledWarning>;

  constructor(private readonly log: EventLog, private readonly logger: Logger) {
    this.warn = throttledWarning(logger, 'the event log refuses writes: events are kept in memory and will be appended late');
  }

  /** Appends now, or keeps the event for later (undefined then, and for a refused event). */
  record(e: NewEvent): StoredEvent | undefined {
    return this.recordAll([e])?.[0];
  }

  /** Appends all at once (one transaction), or keeps them all for later (undefined then, and for refused events). */
  recordAll(events: readonly NewEvent[]): StoredEvent[] | undefined {
    if (events.length === 0) return [];
    if (this.backlog.length === 0) {
      try {
        return this.log.appendBatch(events);
      } catch (err) {
        if (err instanceof EventRefused) {
          this.logger.error('event refused by the catalogue (a bug: please report it)', { types: events.map((e) => e.type), err });
          return undefined;
        }
        this.failed(err);
      }
    }
    for (const e of events) this.keep(e);
    return undefined;
  }

  /**
   * Records these with the others of this turn of the event loop, in one transaction (a
   * service that makes many events at once: one append instead of many).
   */
  soon(events: readonly NewEvent[]): void {
    if (events.length === 0) return;
    this.queued.push(...events);
    this.queuedFlush ??= setImmediate(() => this.recordQueued());
  }

  /** Records what soon() queued, now. */
  recordQueued(): void {
    if (this.queuedFlush) clearImmediate(this.queuedFlush);
    this.queuedFlush = undefined;
    const events = this.queued;
    this.queued = [];
    this.recordAll(events);
  }

  /** Tries to append the backlog now; true when nothing is left waiting. */
  flush(): boolean {
    clearTimeout(this.retry);
    this.retry = undefined;
    if (this.backlog.length === 0) return true;
    const service: Source = this.backlog[0]!.source;
    const recovered: NewEvent = {
      type: 'service.log_recovered', source: service, subject: serviceSubject(service),
      data: { service, failing_since: this.failingSince ?? Date.now(), appended_late: this.backlog.length, dropped: this.dropped, error: this.lastError.slice(0, 1024) },
    };
    try {
      this.log.appendBatch([...this.backlog, recovered]);
    } catch (err) {
      this.failed(err);
      this.schedule();
      return false;
    }
    this.logger.info('the event log accepts writes again: kept events appended late', { appended_late: this.backlog.length, dropped: this.dropped });
    this.backlog.length = 0;
    this.dropped = 0;
    this.failingSince = undefined;
    return true;
  }

  /** A last try; what still cannot be appended goes to stderr, one JSON line per event, so that it is not lost unseen. */
  close(): number {
    this.recordQueued();
    if (this.flush()) return 0;
    const left = this.backlog.length;
    for (const event of this.backlog) this.logger.error('event not recorded: the event log refuses writes', { event });
    if (this.dropped > 0) this.logger.error('events dropped while the event log refused writes', { dropped: this.dropped });
    this.backlog.length = 0;
    return left + this.dropped;
  }

  private failed(err: unknown): void {
    this.lastError = err instanceof Error ? err.message : String(err);
    this.failingSince ??= Date.now();
    this.warn({ error: this.lastError, pending: this.backlog.length, dropped: this.dropped });
  }

  private keep(e: NewEvent): void {
    if (this.backlog.length >= BACKLOG_LIMIT) this.dropped += 1;
    else this.backlog.push({ ...e, late: { ts: e.ts ?? Date.now(), error: this.lastError.slice(0, 1024) } });
    this.schedule();
  }

  private schedule(): void {
    if (this.retry) return;
    this.retry = setTimeout(() => this.flush(), RETRY_MS);
    this.retry.unref();
  }
}
