import { describe, expect, it } from 'vitest';
import { EventRefused, expandTypePatterns, UnknownEventType, validateNewEvent } from '../../shared/eventlog/index.js';
import { rowHash, GENESIS_HASH } from '../../shared/eventlog/hash.js';

const note = { type: 'operator.note', source: 'cli', subject: 'operator:ann', data: { text: 'maintenance on lb2', author: 'ann' } };

function refusal(e: unknown): string {
  try {
    validateNewEvent(e);
  } catch (err) {
    expect(err).toBeInstanceOf(EventRefused);
    return (err as Error).message;
  }
  throw new Error('the event was accepted');
}

describe('event catalogue validation', () => {
  it('accepts a valid event and returns it typed', () => {
    expect(validateNewEvent(note)).toEqual(note);
    const vrrp = {
      type: 'vrrp.state_changed', source: 'vrrp', subject: 'vrrp:VI_1', causation: 3, correlation: 'fo-1',
      data: { instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer', priority: 150 },
    };
    expect(validateNewEvent(vrrp)).toEqual(vrrp);
  });

  it('refuses an unknown type, naming it', () => {
    expect(refusal({ ...note, type: 'vrrp.state_chnaged' })).toMatch(/type "vrrp.state_chnaged" is not in the event catalogue/);
  });

  it('refuses a payload that does not match, naming each field', () => {
    const msg = refusal({ type: 'vrrp.state_changed', source: 'vrrp', subject: 'vrrp:VI_1', data: { instance: 'VI_1', from: 'BACKUP', to: 'LEADER', reason: 'x', priority: 300 } });
    expect(msg).toMatch(/data\.to/);
    expect(msg).toMatch(/data\.reason/);
    expect(msg).toMatch(/data\.priority/);
  });

  it('refuses unknown payload fields, a wrong subject, source, causation and envelope fields', () => {
    expect(refusal({ ...note, data: { ...note.data, extra: 1 } })).toMatch(/Unrecognized key: "extra"/);
    expect(refusal({ ...note, subject: 'vrrp:VI_1' })).toMatch(/subject "vrrp:VI_1" does not match/);
    expect(refusal({ ...note, source: 'keepalived' })).toMatch(/source must be one of/);
    expect(refusal({ ...note, causation: 0 })).toMatch(/causation must be the seq/);
    expect(refusal({ ...note, seq: 5 })).toMatch(/unknown field "seq"/);
    expect(refusal({ ...note, data: undefined })).toMatch(/data: /);
    expect(refusal(null)).toMatch(/must be an object/);
    expect(refusal('operator.note')).toMatch(/must be an object/);
  });
});

describe('hash chain', () => {
  const row = { seq: 1, id: 'lb1:abcd:1', ts: 1, node: 'lb1', source: 'cli', type: 'operator.note', subject: 'operator:a', data: '{"a":1}', causation: null, correlation: null };
  it('depends on every column and on the previous hash', () => {
    const h = rowHash(GENESIS_HASH, row);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    for (const [k, v] of Object.entries({ seq: 2, id: 'x', ts: 2, node: 'lb2', source: 'vrrp', type: 't', subject: 's', data: '{"a":2}', causation: 1, correlation: 'c' })) {
      expect(rowHash(GENESIS_HASH, { ...row, [k]: v }), k).not.toBe(h);
    }
    expect(rowHash(h, row)).not.toBe(h);
  });
});

describe('event type patterns (vigil log --type)', () => {
  it('expands globs against the catalogue, and names a pattern that matches nothing', () => {
    expect(expandTypePatterns(['fence.lease*']).sort()).toEqual(['fence.lease_acquired', 'fence.lease_candidate', 'fence.lease_denied', 'fence.lease_lost']);
    expect(expandTypePatterns(['vip.*']).sort()).toEqual(['vip.bound', 'vip.unbound']);
    expect(expandTypePatterns(['*.state_changed', 'vrrp.state_changed'])).toEqual(['vrrp.state_changed']);
    expect(expandTypePatterns(['vip.?ound'])).toEqual(['vip.bound']);
    expect(() => expandTypePatterns(['fence.leas'])).toThrow(/no event type matches "fence.leas" \(types: operator\.note, /);
    expect(() => expandTypePatterns(['vip.(bound)'])).toThrow(UnknownEventType);
  });
});
