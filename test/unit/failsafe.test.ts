// The failsafe's rules without I/O: the peer channel's messages, the promises, the
// holder's deadline, and the fence decider's steps for a group kept under failsafe.
import { describe, expect, it } from 'vitest';
import { answerAsk, Confirmations, decodePeerMessage, encodePeerMessage, type PeerMessage } from '../../services/fence/failsafe.js';
import { MIN_LEASE_LEFT_MS, nextStep, type GroupFacts } from '../../services/fence/decider.js';

const NONCE = 'ab'.repeat(16);
const ask: Extract<PeerMessage, { kind: 'ask' }> = { v: 1, kind: 'ask', from: 'n1', to: 'n2', nonce: NONCE, groups: ['web', 'db'] };

describe('failsafe messages', () => {
  it('round-trip, plain and signed', () => {
    expect(decodePeerMessage(encodePeerMessage(ask, undefined), undefined)).toEqual({ ok: true, message: ask });
    expect(decodePeerMessage(encodePeerMessage(ask, 'sixteen-chars-secret'), 'sixteen-chars-secret')).toEqual({ ok: true, message: ask });
  });
  it('drop, saying why: another secret, unsigned where a secret is set, not JSON, not a message', () => {
    expect(decodePeerMessage(encodePeerMessage(ask, 'sixteen-chars-secret'), 'another-secret-of-16')).toMatchObject({ ok: false, reason: 'bad_mac' });
    expect(decodePeerMessage(encodePeerMessage(ask, undefined), 'sixteen-chars-secret')).toMatchObject({ ok: false, reason: 'no_mac' });
    expect(decodePeerMessage(Buffer.from('{nope'), undefined)).toMatchObject({ ok: false, reason: 'not_json' });
    expect(decodePeerMessage(Buffer.from(JSON.stringify({ ...ask, nonce: 'short' })), undefined)).toMatchObject({ ok: false, reason: 'invalid', detail: expect.stringMatching(/^nonce/) });
    expect(decodePeerMessage(Buffer.from(JSON.stringify({ ...ask, extra: 1 })), undefined)).toMatchObject({ ok: false, reason: 'invalid' });
  });
});

describe('a node asked for a promise', () => {
  const me = { node: 'n2', zookeeper: false, bound: new Set<string>(), known: new Set(['web', 'db']), promiseMs: 1500, now: 1000 };
  it('without ZooKeeper and holding nothing: promises every group asked, until now + promise_ms', () => {
    const { reply, promised } = answerAsk(ask, me);
    expect(reply).toEqual({ v: 1, kind: 'promise', from: 'n2', to: 'n1', nonce: NONCE, groups: ['web', 'db'], promise_ms: 1500 });
    expect(promised).toEqual([{ group: 'web', until: 2500 }, { group: 'db', until: 2500 }]);
  });
  it('with a ZooKeeper session: promises nothing (ZooKeeper decides)', () => {
    const { reply, promised } = answerAsk(ask, { ...me, zookeeper: true });
    expect(reply.groups).toEqual([]);
    expect(reply.refused).toBe('this node has a ZooKeeper session');
    expect(promised).toEqual([]);
  });
  it('holding one of the groups: not that one; a group it does not have: not that one either', () => {
    const { reply } = answerAsk({ ...ask, groups: ['web', 'db', 'mail'] }, { ...me, bound: new Set(['db']) });
    expect(reply.groups).toEqual(['web']);
    expect(reply.refused).toBe('holds db; has no VIP group mail');
  });
});

describe('the holder counts promises from when it asked', () => {
  const promise = (from: string, nonce: string, groups = ['web'], extra: Partial<Extract<PeerMessage, { kind: 'promise' }>> = {}): Extract<PeerMessage, { kind: 'promise' }> => ({ v: 1, kind: 'promise', from, to: 'n1', nonce, groups, promise_ms: 1500, ...extra });
  it('the deadline is the earliest of every peer\'s promise, counted from the ask', () => {
    const c = new Confirmations();
    c.sent('n2', 'a'.repeat(32), 100, 1500);
    c.sent('n3', 'b'.repeat(32), 150, 1500);
    expect(c.received(promise('n2', 'a'.repeat(32)))).toBe(true);
    expect(c.deadline('web', ['n2', 'n3'], 200)).toEqual({ until: undefined, missing: ['n3'] });
    expect(c.received(promise('n3', 'b'.repeat(32)))).toBe(true);
    expect(c.deadline('web', ['n2', 'n3'], 200)).toEqual({ until: 1600, missing: [] });
    expect(c.deadline('web', ['n2', 'n3'], 1600)).toEqual({ until: undefined, missing: ['n2'] });
    expect(c.deadline('web', ['n2', 'n3'], 1650)).toEqual({ until: undefined, missing: ['n2', 'n3'] });
  });
  it('a promise answering no ask of ours, or an ask sent to another node, does not count', () => {
    const c = new Confirmations();
    c.sent('n2', 'a'.repeat(32), 100, 1500);
    expect(c.received(promise('n2', 'c'.repeat(32)))).toBe(false);
    expect(c.received(promise('n3', 'a'.repeat(32)))).toBe(false);
    expect(c.deadline('web', ['n2'], 200).until).toBeUndefined();
  });
  it('a refusal names why; earlier promises still run to their end', () => {
    const c = new Confirmations();
    c.sent('n2', 'a'.repeat(32), 100, 1500);
    c.received(promise('n2', 'a'.repeat(32)));
    c.sent('n2', 'd'.repeat(32), 500, 1500);
    c.received(promise('n2', 'd'.repeat(32), [], { refused: 'this node has a ZooKeeper session' }));
    expect(c.deadline('web', ['n2'], 1000).until).toBe(1600);
    expect(c.deadline('web', ['n2'], 1700)).toEqual({ until: undefined, missing: ['n2 (this node has a ZooKeeper session)'] });
  });
  it('no other node: no failsafe (a single director releases as without it)', () => {
    expect(new Confirmations().deadline('web', [], 0).until).toBeUndefined();
  });
});

describe('fence decider: a group kept under failsafe', () => {
  const kept: GroupFacts = { master: true, session: 'lost', leaseLeftMs: 0, candidate: undefined, lowest: undefined, bound: { epoch: 4, failsafe: true }, failsafeLeftMs: 900 };
  it('stays bound while every peer\'s promise lasts', () => {
    expect(nextStep(kept)).toMatchObject({ kind: 'wait' });
  });
  it('unbinds when a promise runs out, naming who did not promise', () => {
    expect(nextStep({ ...kept, failsafeLeftMs: MIN_LEASE_LEFT_MS - 1, failsafeMissing: 'n3' })).toEqual({ kind: 'unbind', reason: 'failsafe ended: not every other node promised (n3)' });
  });
  it('unbinds when VRRP is no longer MASTER', () => {
    expect(nextStep({ ...kept, master: false, notMasterWhy: 'VRRP instance VI_1 is FAULT' })).toEqual({ kind: 'unbind', reason: 'VRRP instance VI_1 is FAULT' });
  });
  it('ZooKeeper back: joins the lock, still bound; takes the lease again (adopt) once its candidate is the lowest with lease time left', () => {
    const back = { ...kept, session: 'connected' as const, leaseLeftMs: 1200 };
    expect(nextStep(back)).toEqual({ kind: 'join' });
    expect(nextStep({ ...back, candidate: { epoch: 9 } })).toMatchObject({ kind: 'wait' });
    expect(nextStep({ ...back, candidate: { epoch: 9 }, lowest: { epoch: 9, node: 'n1', ours: true } })).toEqual({ kind: 'adopt', epoch: 9 });
    expect(nextStep({ ...back, candidate: { epoch: 9 }, lowest: { epoch: 9, node: 'n1', ours: true }, leaseLeftMs: 10 })).toMatchObject({ kind: 'wait' });
  });
  it('ZooKeeper back with the lease held by another: stays bound while the promises last (the holder binds nothing until then), then unbinds', () => {
    const back = { ...kept, session: 'connected' as const, leaseLeftMs: 1200, candidate: { epoch: 9 }, lowest: { epoch: 8, node: 'n2', ours: false } };
    expect(nextStep(back)).toEqual({ kind: 'wait', why: 'bound under failsafe, the lease held by n2 (epoch 8), which promised to bind nothing for now', holder: back.lowest });
    expect(nextStep({ ...back, failsafeLeftMs: MIN_LEASE_LEFT_MS - 1 })).toEqual({ kind: 'unbind', reason: 'ZooKeeper back, the lease held by n2 (epoch 8)' });
    // the holder left (it was not MASTER): ours is the lowest, the lease is taken again
    expect(nextStep({ ...back, lowest: { epoch: 9, node: 'n1', ours: true } })).toEqual({ kind: 'adopt', epoch: 9 });
  });
  it('a node that promised binds nothing until its promise runs out, and says when to look again', () => {
    const first: GroupFacts = { master: true, session: 'connected', leaseLeftMs: 1200, candidate: { epoch: 9 }, lowest: { epoch: 9, node: 'n2', ours: true }, bound: undefined, promisedMs: 300 };
    expect(nextStep(first)).toEqual({ kind: 'wait', why: 'promised a failsafe holder not to bind for 300 ms more', retryMs: 300 });
    expect(nextStep({ ...first, promisedMs: 0 })).toEqual({ kind: 'bind', epoch: 9 });
  });
});
