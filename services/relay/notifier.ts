// Runs keepalived-style notify scripts: one queue per key (an instance, a real server, a
// virtual server), so one key's scripts run one at a time in log order while a slow or
// hanging script of one key never delays another's. Every run is recorded as
// relay.notify_ran. The cursor "relay:notify" moves past an event only when all its
// scripts have run: after a restart, nothing is skipped.
import type { VigilConfig } from '../../shared/config/index.js';
import { followLog, notifySubject, type EventLog, type StoredEvent, type Subscription } from '../../shared/eventlog/index.js';
import { runArgv, type RunningExec } from '../../shared/exec.js';
import type { Logger } from '../../shared/logger.js';
import { recorder } from '../../shared/service.js';
import { NotifyRules, type NotifyJob } from './notify.js';
import { Progress } from './progress.js';
import { consumerStart } from './consumer.js';

export const NOTIFY_CURSOR = 'relay:notify';
/** On the very first start, scripts run for the events of the last minute (not the log's whole history). */
const FIRST_START_WINDOW_MS = 60_000;
const TAIL_BYTES = 4096;

export interface NotifierOptions {
  config: VigilConfig;
  node: string;
  log: EventLog;
  logger: Logger;
}

export class Notifier {
  private readonly rules: NotifyRules;
  private readonly append;
  private readonly queues = new Map<string, Promise<void>>();
  private readonly running = new Set<RunningExec>();
  private progress = new Progress(0);
  /** The cursor as last stored. */
  private saved = 0;
  private subscription: Subscription | undefined;
  private stopped = false;

  constructor(private readonly o: NotifierOptions) {
    this.rules = new NotifyRules(o.config, o.node);
    this.append = recorder(o.log, o.logger);
  }

  /** Whether any notify script is configured for this node. */
  get needed(): boolean {
    return this.rules.any;
  }

  async start(): Promise<void> {
    const { log, logger } = this.o;
    const after = consumerStart(log, NOTIFY_CURSOR, { lastMs: FIRST_START_WINDOW_MS });
    this.progress = new Progress(after);
    this.saved = after;
    const onError = (err: unknown) => logger.error('cannot read the log; notify scripts wait for the next change', { err });
    const replay = { types: NotifyRules.STATE_TYPES, apply: (e: StoredEvent) => void this.rules.jobs(e) };
    this.subscription = await followLog(log, { logger, after, replay, onError }, (batch) => this.read(batch));
  }

  /** Kills scripts still running (their events are read again at the next start) and waits for their records. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.subscription?.close();
    for (const r of this.running) r.kill();
    await Promise.all(this.queues.values());
  }

  private read(batch: StoredEvent[]): void {
    for (const e of batch) {
      const jobs = this.rules.jobs(e);
      if (jobs.length > 0) this.enqueue(e, jobs);
    }
    this.progress.readUpTo(batch[batch.length - 1]!.seq);
    this.saveCursor();
  }

  private enqueue(e: StoredEvent, jobs: NotifyJob[]): void {
    this.progress.started(e.seq);
    const key = jobs[0]!.key; // every job of one event has the same key
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(async () => {
      for (const job of jobs) if (!this.stopped) await this.run(e, job);
      if (this.stopped) return; // not finished: read again at the next start
      this.progress.finished(e.seq);
      this.saveCursor();
    });
    this.queues.set(key, next);
    void next.finally(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
  }

  private async run(e: StoredEvent, job: NotifyJob): Promise<void> {
    const exec = runArgv(job.argv, { timeoutMs: this.o.config.global_defs.notify_timeout * 1000, tailBytes: TAIL_BYTES });
    this.running.add(exec);
    const r = await exec.done;
    this.running.delete(exec);
    if (r.spawnError) this.o.logger.warn('cannot start notify script', { script: job.script, argv: job.argv, error: r.spawnError });
    this.append({
      type: 'relay.notify_ran', source: 'relay', subject: notifySubject(job.key), causation: e.seq,
      data: {
        script: job.script, argv: job.argv, exit_code: r.code, signal: r.signal, timed_out: r.timedOut, duration_ms: Math.round(r.durationMs),
        output_tail: (r.spawnError ?? r.tail).slice(-TAIL_BYTES),
      },
    });
  }

  private saveCursor(): void {
    const cursor = this.progress.cursor;
    try {
      if (cursor === this.saved) return;
      this.o.log.setCursor(NOTIFY_CURSOR, cursor);
      this.saved = cursor;
    } catch (err) {
      this.o.logger.warn('cannot store the notify cursor (scripts may run again after a restart)', { err });
    }
  }
}
