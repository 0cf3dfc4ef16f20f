// The alert rules' I/O: read the log after the cursor "relay:alerts", apply the rules,
// append what they raise as relay.alert events together with the new cursor (one
// transaction: an alert is recorded once however the relay stops), and wake up when an
// alert is owed to time. The publisher then carries each relay.alert to its NATS subject.
import { parseVipAddress, type VigilConfig } from '../../shared/config/index.js';
import type { EventLog, NewEvent, StoredEvent } from '../../shared/eventlog/index.js';
import type { Logger } from '../../shared/logger.js';
import { AlertRules, type AlertDraft } from './alerts.js';
import { consumerStart, nextTurn, replay } from './consumer.js';

export const ALERTS_CURSOR = 'relay:alerts';
const BATCH = 1000;
const RETRY_MS = 1000;

export interface AlerterOptions {
  config: VigilConfig;
  node: string;
  log: EventLog;
  logger: Logger;
}

export class Alerter {
  private rules: AlertRules;
  private cursor = 0;
  private off: (() => void) | undefined;
  private dueTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly schedule = nextTurn(() => this.pump());

  constructor(private readonly o: AlerterOptions) {
    this.rules = this.newRules();
  }

  private newRules(): AlertRules {
    const groupAddresses = new Map(Object.entries(this.o.config.vip_groups).map(([g, v]) => [g, v.addresses.map((a) => {
      const p = parseVipAddress(a);
      return `${p.address}/${p.prefix}`;
    })]));
    return new AlertRules({ node: this.o.node, vipUnownedMs: this.o.config.alerts.vip_unowned_ms, groupAddresses });
  }

  start(): void {
    this.cursor = consumerStart(this.o.log, ALERTS_CURSOR, 'end');
    replay(this.o.log, AlertRules.STATE_TYPES, this.cursor, (e) => void this.rules.apply(e));
    this.off = this.o.log.onChange(() => this.schedule());
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.off?.();
    clearTimeout(this.dueTimer);
    clearTimeout(this.retryTimer);
  }

  private pump(): void {
    if (this.stopped || this.retryTimer !== undefined) return;
    try {
      for (;;) {
        const batch = this.o.log.readAfter(this.cursor, BATCH);
        if (batch.length === 0) break;
        const drafts = batch.flatMap((e) => this.rules.apply(e));
        const last = batch[batch.length - 1]!.seq;
        this.record(drafts, last);
        this.cursor = last;
      }
      this.record(this.rules.due(Date.now()));
    } catch (err) {
      // The rules have seen events whose alerts are not recorded: start over from the cursor.
      this.o.logger.error('cannot record alerts; retrying', { err, cursor: this.cursor });
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.restart();
      }, RETRY_MS);
      return;
    }
    this.armDue();
  }

  private restart(): void {
    this.off?.();
    this.rules = this.newRules();
    this.start();
  }

  private record(drafts: AlertDraft[], cursor?: number): void {
    if (drafts.length === 0) {
      if (cursor !== undefined) this.o.log.setCursor(ALERTS_CURSOR, cursor);
      return;
    }
    const events: NewEvent[] = drafts.map((a) => ({
      type: 'relay.alert', source: 'relay', subject: `alert:${a.kind}`, causation: a.cause,
      data: { id: a.id, kind: a.kind, severity: a.severity, summary: a.summary, events: a.events, details: a.details },
    }));
    const stored = this.o.log.appendBatch(events, cursor === undefined ? undefined : { consumer: ALERTS_CURSOR, seq: cursor });
    for (const e of stored) this.logged(e);
  }

  private logged(e: StoredEvent): void {
    const d = e.data as { severity: string; kind: string; summary: string };
    this.o.logger.info('alert', { severity: d.severity, kind: d.kind, summary: d.summary, event: e.id });
  }

  private armDue(): void {
    clearTimeout(this.dueTimer);
    const at = this.rules.nextDueAt();
    if (at === undefined || this.stopped) return;
    this.dueTimer = setTimeout(() => this.schedule(), Math.max(0, at - Date.now()) + 1);
  }
}
