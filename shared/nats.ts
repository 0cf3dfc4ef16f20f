// NATS subjects of a cluster and the alert message: every event under
// events.<node>.<type> (the type's own dot makes it two tokens:
// vigil.prod.events.lb1.vrrp.state_changed), alerts under alerts.<severity>.<kind>.
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { z } from 'zod';
import { alertSeverity, type EventOf } from './eventlog/index.js';

export const eventsWildcard = (cluster: string) => `vigil.${cluster}.events.>`;
export const nodeEventsWildcard = (cluster: string, node: string) => `vigil.${cluster}.events.${node}.>`;
export const eventSubject = (cluster: string, node: string, type: string) => `vigil.${cluster}.events.${node}.${type}`;
export const alertsWildcard = (cluster: string) => `vigil.${cluster}.alerts.>`;
export const alertSubject = (cluster: string, severity: string, kind: string) => `vigil.${cluster}.alerts.${severity}.${kind}`;

/** What a subscriber of vigil.<cluster>.alerts.> receives (JSON); Nats-Msg-Id is alertMessageId(). */
export const alertMessageSchema = z.strictObject({
  id: z.string().min(1),
  cluster: z.string().min(1),
  node: z.string().min(1),
  /** Unix ms when the alert was raised. */
  ts: z.number().int().nonnegative(),
  severity: alertSeverity,
  kind: z.string().regex(/^[a-z_]+$/),
  summary: z.string().min(1),
  /** Ids of the events behind it (vigil log shows them); the relay.alert event itself last. */
  events: z.array(z.string().min(1)).min(1),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
});
export type AlertMessage = z.infer<typeof alertMessageSchema>;

/** The Nats-Msg-Id of an alert: its own id (not its event's), so the same alert raised by two relays is kept once. */
export const alertMessageId = (a: Pick<AlertMessage, 'id'>) => `alert:${a.id}`;

/** The alert message of a relay.alert event. */
export function alertMessage(cluster: string, e: EventOf<'relay.alert'>): AlertMessage {
  const d = e.data;
  return { id: d.id, cluster, node: e.node, ts: e.ts, severity: d.severity, kind: d.kind, summary: d.summary, events: [...d.events, e.id], details: d.details ?? {} };
}

const FETCH_WAIT_MS = 1000; // JetStream's minimum

/** Hands every message the consumer has now to onMessage, in order; stops early when it returns false. */
export async function drainConsumer(consumer: Consumer, onMessage: (m: JsMsg) => boolean | void): Promise<void> {
  for (;;) {
    const batch = await consumer.fetch({ max_messages: 1000, expires: FETCH_WAIT_MS });
    let got = 0;
    let pending = 1;
    for await (const m of batch) {
      got++;
      pending = m.info.pending;
      if (onMessage(m) === false) return;
    }
    if (got === 0 || pending === 0) return;
  }
}
