// Failsafe (zookeeper.failsafe): the holder keeps its VIPs without ZooKeeper while every
// other node promises, over the peer channel, that it cannot reach ZooKeeper either and
// will not bind them for a while. Pure: the messages and their checks, the promises a node
// gave, the confirmations a holder collected.
//
// Why it is safe: a node binds only with a ZooKeeper lease, and never before the promises
// it gave have run out. A promise runs from when the promising node got the ask, so the
// holder counts it from when it sent the ask (earlier): the holder's deadline (the earliest
// promise of all peers, less the kernel fence's slack) ends before any promise does. A
// node that holds a VIP of the group promises nothing for it; a node with a ZooKeeper
// session promises nothing at all (ZooKeeper decides then, as without failsafe).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

const name = z.string().min(1).max(128);
const nonce = z.string().regex(/^[0-9a-f]{32}$/);
export const peerMessage = z.discriminatedUnion('kind', [
  z.strictObject({ v: z.literal(1), kind: z.literal('ask'), from: name, to: name, nonce, groups: z.array(name).max(256) }),
  z.strictObject({
    v: z.literal(1), kind: z.literal('promise'), from: name, to: name, nonce,
    /** The groups it promises not to bind for promise_ms from when it got the ask. */
    groups: z.array(name).max(256),
    promise_ms: z.number().int().min(0).max(600_000),
    /** Why it promises nothing, or not every group asked (it holds one, it has ZooKeeper). */
    refused: z.string().max(512).optional(),
  }),
]);
export type PeerMessage = z.infer<typeof peerMessage>;

const mac = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('hex');

/** The datagram of a message: its JSON, and an HMAC-SHA256 of that under the secret if there is one. */
export function encodePeerMessage(m: PeerMessage, secret: string | undefined): Buffer {
  const body = JSON.stringify(m);
  return Buffer.from(secret === undefined ? body : JSON.stringify({ body, mac: mac(secret, body) }));
}

export type DecodeResult = { ok: true; message: PeerMessage } | { ok: false; reason: 'not_json' | 'bad_mac' | 'no_mac' | 'invalid'; detail: string };

export function decodePeerMessage(datagram: Buffer, secret: string | undefined): DecodeResult {
  let outer: unknown;
  try {
    outer = JSON.parse(datagram.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'not_json', detail: (err as Error).message };
  }
  let body: unknown = outer;
  if (secret !== undefined) {
    const signed = z.strictObject({ body: z.string().max(16_384), mac: z.string().regex(/^[0-9a-f]{64}$/) }).safeParse(outer);
    if (!signed.success) return { ok: false, reason: 'no_mac', detail: 'not a signed message (zookeeper.failsafe_secret is set here)' };
    const want = Buffer.from(mac(secret, signed.data.body), 'hex');
    if (!timingSafeEqual(want, Buffer.from(signed.data.mac, 'hex'))) return { ok: false, reason: 'bad_mac', detail: 'HMAC does not match (another failsafe_secret?)' };
    try {
      body = JSON.parse(signed.data.body);
    } catch (err) {
      return { ok: false, reason: 'not_json', detail: (err as Error).message };
    }
  }
  const m = peerMessage.safeParse(body);
  if (!m.success) return { ok: false, reason: 'invalid', detail: m.error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; ').slice(0, 300) };
  return { ok: true, message: m.data };
}

export const newNonce = () => randomBytes(16).toString('hex');

/** What a node answers an ask with, and until when (its clock) it then must not bind each group promised. */
export function answerAsk(
  ask: Extract<PeerMessage, { kind: 'ask' }>,
  me: { node: string; zookeeper: boolean; bound: ReadonlySet<string>; known: ReadonlySet<string>; promiseMs: number; now: number },
): { reply: Extract<PeerMessage, { kind: 'promise' }>; promised: { group: string; until: number }[] } {
  const base = { v: 1 as const, kind: 'promise' as const, from: me.node, to: ask.from, nonce: ask.nonce, promise_ms: me.promiseMs };
  if (me.zookeeper) return { reply: { ...base, groups: [], refused: 'this node has a ZooKeeper session' }, promised: [] };
  const held = ask.groups.filter((g) => me.bound.has(g));
  const groups = ask.groups.filter((g) => !me.bound.has(g) && me.known.has(g));
  const unknown = ask.groups.filter((g) => !me.known.has(g));
  const why = [held.length > 0 ? `holds ${held.join(', ')}` : '', unknown.length > 0 ? `has no VIP group ${unknown.join(', ')}` : ''].filter(Boolean).join('; ');
  return { reply: { ...base, groups, ...(why ? { refused: why } : {}) }, promised: groups.map((group) => ({ group, until: me.now + me.promiseMs })) };
}

/** The holder's side: asks sent (by nonce), and each peer's promises as the holder may count them. */
export class Confirmations {
  private readonly asks = new Map<string, { peer: string; sentAt: number }>();
  /** peer -> group -> until (holder's clock). */
  private readonly until = new Map<string, Map<string, number>>();
  /** peer -> why it last refused (for the record of a release). */
  private readonly refusals = new Map<string, string>();

  /** An ask sent to a peer at sentAt; asks older than keepMs are forgotten. */
  sent(peer: string, nonce: string, sentAt: number, keepMs: number): void {
    for (const [n, a] of this.asks) if (sentAt - a.sentAt > keepMs) this.asks.delete(n);
    this.asks.set(nonce, { peer, sentAt });
  }

  /** A promise: counted from when its ask was sent; false if it answers no ask of ours sent to that peer. */
  received(m: Extract<PeerMessage, { kind: 'promise' }>): boolean {
    const a = this.asks.get(m.nonce);
    if (!a || a.peer !== m.from) return false;
    this.asks.delete(m.nonce);
    const mine = this.until.get(m.from) ?? new Map<string, number>();
    this.until.set(m.from, mine);
    for (const g of m.groups) mine.set(g, Math.max(mine.get(g) ?? 0, a.sentAt + m.promise_ms));
    if (m.refused) this.refusals.set(m.from, m.refused);
    else this.refusals.delete(m.from);
    return true;
  }

  /** Until when every peer has promised not to bind the group (undefined: some peer has not), and who has not now. */
  deadline(group: string, peers: readonly string[], now: number): { until: number | undefined; missing: string[] } {
    let until = Infinity;
    const missing: string[] = [];
    for (const p of peers) {
      const u = this.until.get(p)?.get(group);
      if (u === undefined || u <= now) missing.push(this.refusals.has(p) ? `${p} (${this.refusals.get(p)})` : p);
      else until = Math.min(until, u);
    }
    return { until: missing.length > 0 || peers.length === 0 ? undefined : until, missing };
  }
}
