import { describe, expect, it } from 'vitest';
import {
  alertKindSubject, catalogue, EventRefused, expandTypePatterns, isEvent, nodeSubject, notifySubject, operatorSubject, realServerSubject, relaySubject, serviceSubject, SUBJECTS,
  trackSubject, typed, UNCONFIGURED_VIRTUAL_SERVER, UnknownEventType, validateNewEvent, vipGroupSubject, virtualServerSubject, vrrpGroupSubject, vrrpSubject,
  type EventType, type StoredEvent,
} from '../../shared/eventlog/index.js';
import { scriptedLog } from '../harness/events.js';
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
    expect(expandTypePatterns(['fence.lease*']).sort()).toEqual(['fence.lease_acquired', 'fence.lease_candidate', 'fence.lease_denied', 'fence.lease_free', 'fence.lease_lost', 'fence.lease_outranked']);
    expect(expandTypePatterns(['vip.*']).sort()).toEqual(['vip.bound', 'vip.unbound']);
    expect(expandTypePatterns(['*.state_changed', 'vrrp.state_changed'])).toEqual(['vrrp.state_changed']);
    expect(expandTypePatterns(['vip.?ound'])).toEqual(['vip.bound']);
    expect(() => expandTypePatterns(['fence.leas'])).toThrow(/no event type matches "fence.leas" \(types: operator\.note, /);
    expect(() => expandTypePatterns(['vip.(bound)'])).toThrow(UnknownEventType);
  });
});

describe('subjects: one builder and one parser per kind, checked against the catalogue', () => {
  const built: [EventType, string, string][] = [
    ['operator.note', operatorSubject('ann smith'), 'ann_smith'],
    ['service.started', serviceSubject('fence'), 'fence'],
    ['vrrp.state_changed', vrrpSubject('VI_1'), 'VI_1'],
    ['vrrp.group_changed', vrrpGroupSubject('G1'), 'G1'],
    ['fence.zk_state', nodeSubject('lb1'), 'lb1'],
    ['vip.bound', vipGroupSubject('web'), 'web'],
    ['health.changed', realServerSubject('web', '10.0.0.29:80'), 'web/10.0.0.29:80'],
    ['track.changed', trackSubject('chk_nginx'), 'chk_nginx'],
    ['ipvs.changed', virtualServerSubject('web'), 'web'],
    ['ipvs.changed', UNCONFIGURED_VIRTUAL_SERVER, 'unconfigured'],
    ['relay.delivery_failed', relaySubject('lb1'), 'lb1'],
    ['relay.alert', alertKindSubject('vip_unowned'), 'vip_unowned'],
    ['relay.notify_ran', notifySubject('group:G1'), 'group:G1'],
  ];

  it('builds subjects the catalogue accepts for the types that speak of them, and reads the identity back', () => {
    for (const [type, subject, id] of built) {
      const kind = catalogue[type].subjectKind;
      expect(kind.pattern.test(subject), `${type} ${subject}`).toBe(true);
      expect(kind.idOf(subject), subject).toBe(id);
      expect(kind.of(id)).toBe(subject);
    }
  });

  it('reads no identity out of another kind of subject (rs: is not vs:)', () => {
    expect(SUBJECTS.virtualServer.idOf(realServerSubject('web', '10.0.0.29:80'))).toBeUndefined();
    expect(SUBJECTS.realServer.idOf('vs:web')).toBeUndefined();
    expect(SUBJECTS.vrrp.idOf(vrrpGroupSubject('G1'))).toBeUndefined();
    expect(SUBJECTS.vrrpGroup.idOf(vrrpSubject('G1'))).toBeUndefined();
  });

  it('refuses a subject with blanks in it: a builder must not make one (a sync group notify key once did)', () => {
    expect(refusal({ type: 'relay.notify_ran', source: 'relay', subject: 'notify:group G1', data: { script: 'notify', argv: ['/bin/x'], exit_code: 0, signal: null, timed_out: false, duration_ms: 1, output_tail: '' } }))
      .toMatch(/subject "notify:group G1" does not match/);
  });
});

describe('the read side: a stored event typed by its type', () => {
  const ev = scriptedLog('lb1');
  const stored = (type: string, data: unknown): StoredEvent => ({ ...ev('operator.note', 'operator:x', { text: 'x', author: 'x' }), type, subject: 'vip:web', data });

  it('narrows by type, one or several', () => {
    const e = stored('vip.bound', { group: 'web', epoch: 7, addresses: [{ address: '10.0.0.31', prefix: 24, interface: 'eth0' }], valid_lft_s: 1 });
    expect(isEvent(e, 'vip.unbound')).toBe(false);
    expect(isEvent(e, 'vip.unbound', 'vip.bound')).toBe(true);
    if (!isEvent(e, 'vip.bound')) throw new Error('not narrowed');
    expect(e.data.epoch).toBe(7);
    const t = typed(e);
    expect(t?.type === 'vip.bound' ? t.data.addresses[0]!.address : undefined).toBe('10.0.0.31');
  });

  it('leaves a type this version does not know untyped (written by a newer one)', () => {
    expect(typed(stored('vip.renamed', {}))).toBeUndefined();
    expect(isEvent(stored('vip.renamed', {}), 'vip.bound')).toBe(false);
  });
});
