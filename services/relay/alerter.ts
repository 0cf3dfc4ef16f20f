// The alert rules' I/O: follow the log after the cursor "relay:alerts", apply the rules,
// append what they raise as relay.alert events together with the new cursor (one
// transaction: an alert is recorded once however the relay stops), and wake up when an
// alert is owed to time. The publisher then carries each relay.alert to its NATS subject.
import { parseVipAddress, type VigilConfig } from '../../shared/config/index.js';
import { alertKindSubject, followLog, isEvent, replayLog, type EventLog, type NewEvent, type StoredEvent, type Subscription } from '../../shared/eventlog/index.js';
import type { Logger } from '../../shared/logger.js';
import { AlertRules, type AlertDraft } from './alerts.js';
import { consumerStart } from './consumer.js';

export const ALERTS_CURSOR = 'relay:alerts';

export interface AlerterOptions {
  config: VigilConfig;
  node: string;
  log: EventLog;
  logger: Logger;
}

export class Alerter {
  private rules: AlertRules;
  private subscription: Subscription | undefined;
  private dueTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: AlerterOptions) {
    this.rules = this.newRules();
  }

  private newRules(): AlertRules {
    const groupAddresses = new Map(Object.entries(this.o.config.vip_groups).map(([g, v]) => [g, v.addresses.map((a) => {
      const p = parseVipAddress(a);
      return `${p.address}/${p.prefix}`;
    })]));
    return new AlertRules({ node: this.o.node, vipUnownedMs: this.o.config.alerts.vip_unowned_ms, leaseDeniedMs: this.o.config.alerts.lease_denied_ms, groupAddresses });
  }

  async start(): Promise<void> {
    const { log, logger } = this.o;
    const onError = (err: unknown) => {
      // The rules may have seen events whose alerts are not recorded: rebuild them up to the
      // stored cursor; the subscription hands the same batch again at the next wake-up.
      logger.error('cannot record alerts; retrying', { err });
      this.rebuild(log.getCursor(ALERTS_CURSOR));
    };
    const after = consumerStart(log, ALERTS_CURSOR, 'end');
    this.subscription = await followLog(log, { logger, after, rebuild: (upTo) => this.rebuild(upTo), onError }, (batch) => this.onBatch(batch));
    this.owed();
  }

  stop(): void {
    this.stopped = true;
    this.subscription?.close();
    clearTimeout(this.dueTimer);
  }

  private rebuild(cursor: number): void {
    this.rules = this.newRules();
    replayLog(this.o.log, AlertRules.STATE_TYPES, cursor, (e) => void this.rules.apply(e));
  }

  private onBatch(batch: StoredEvent[]): void {
    const drafts = batch.flatMap((e) => this.rules.apply(e));
    this.record(drafts, batch[batch.length - 1]!.seq);
    this.owed();
  }

  /** Records the alerts owed to time, and wakes up when the next one will be. */
  private owed(): void {
    clearTimeout(this.dueTimer);
    if (this.stopped) return;
    try {
      this.record(this.rules.due(Date.now()));
    } catch (err) {
      this.o.logger.error('cannot record alerts; retrying', { err });
      this.rebuild(this.o.log.getCursor(ALERTS_CURSOR));
    }
    const at = this.rules.nextDueAt();
    if (at !== undefined) this.dueTimer = setTimeout(() => this.owed(), Math.max(0, at - Date.now()) + 1);
  }

  private record(drafts: AlertDraft[], cursor?: number): void {
    if (drafts.length === 0) {
      if (cursor !== undefined) this.o.log.setCursor(ALERTS_CURSOR, cursor);
      return;
    }
    const events: NewEvent[] = drafts.map((a) => ({
      type: 'relay.alert', source: 'relay', subject: alertKindSubject(a.kind), causation: a.cause,
      data: { id: a.id, kind: a.kind, severity: a.severity, summary: a.summary, events: a.events, details: a.details },
    }));
    const stored = this.o.log.appendBatch(events, cursor === undefined ? undefined : { consumer: ALERTS_CURSOR, seq: cursor });
    for (const e of stored) {
      if (!isEvent(e, 'relay.alert')) continue;
      this.o.logger.info('alert', { severity: e.data.severity, kind: e.data.kind, summary: e.data.summary, event: e.id });
    }
  }
}
