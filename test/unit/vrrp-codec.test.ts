import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { internetChecksum } from '../../shared/checksum.js';
import { ipv4ToNumber, numberToIpv4 } from '../../shared/ipv4.js';
import { acceptAdvert, decodeAdvert, decodeIpPacket, DROP_REASONS, encodeAdvert, encodeIpPacket, type Advert, type InstanceExpectations } from '../../services/vrrp/codec.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const SRC = '10.77.0.1';
const DST = '224.0.0.18';
// Captured from keepalived 2.2.7 (vrid 51, prio 150, VIP 10.77.0.100, source 10.77.0.1).
const KEEPALIVED_V2 = '2133960100013e190a4d00640000000000000000';
const KEEPALIVED_V3 = '31339601000a43330a4d0064';

describe('VRRP codec against keepalived 2.2.7', () => {
  it('decodes the v2 reference advert (RFC 3768 layout)', () => {
    expect(decodeAdvert(hex(KEEPALIVED_V2), { src: SRC, dst: DST })).toEqual({
      ok: true,
      value: { version: 2, vrid: 51, priority: 150, addresses: ['10.77.0.100'], interval: 1, authType: 'none' },
    });
  });

  it('encodes the same v2 bytes, checksum included', () => {
    const a: Advert = { version: 2, vrid: 51, priority: 150, addresses: ['10.77.0.100'], interval: 1, authType: 'none' };
    expect(encodeAdvert(a, { src: SRC, dst: DST }).toString('hex')).toBe(KEEPALIVED_V2);
  });

  it('decodes and re-encodes the v3 reference advert (checksum over the IPv4 pseudo-header)', () => {
    const d = decodeAdvert(hex(KEEPALIVED_V3), { src: SRC, dst: DST });
    expect(d).toEqual({ ok: true, value: { version: 3, vrid: 51, priority: 150, addresses: ['10.77.0.100'], interval: 10, authType: 'none' } });
    expect(encodeAdvert((d as { value: Advert }).value, { src: SRC, dst: DST }).toString('hex')).toBe(KEEPALIVED_V3);
    // the same bytes from another source do not verify: the pseudo-header counts
    expect(decodeAdvert(hex(KEEPALIVED_V3), { src: '10.77.0.2', dst: DST })).toMatchObject({ ok: false, reason: 'bad_checksum' });
  });

  it('lays v2 PASS authentication out as 8 zero-padded bytes after the addresses', () => {
    const a: Advert = { version: 2, vrid: 7, priority: 100, addresses: ['192.0.2.1', '192.0.2.2'], interval: 3, authType: 'pass', authPass: 'secret' };
    const b = encodeAdvert(a, { src: SRC, dst: DST });
    expect(b.length).toBe(8 + 8 + 8);
    expect(b[4]).toBe(1);
    expect(b.subarray(16).toString('latin1')).toBe('secret\0\0');
    expect(internetChecksum(b)).toBe(0);
    expect(decodeAdvert(b, { src: SRC, dst: DST })).toEqual({ ok: true, value: a });
  });

  it('puts v3 intervals in the low 12 bits with the reserved bits zero', () => {
    const b = encodeAdvert({ version: 3, vrid: 1, priority: 255, addresses: [], interval: 4095, authType: 'none' }, { src: SRC, dst: DST });
    expect(b.readUInt16BE(4)).toBe(0x0fff);
    expect(b.length).toBe(8);
  });
});

describe('adverts that could drive the state machine faster than VRRP allows', () => {
  it('an advert interval of 0 is malformed, in v2 and v3', () => {
    const v3 = encodeAdvert({ version: 3, vrid: 51, priority: 200, addresses: ['10.77.0.100'], interval: 0, authType: 'none' }, { src: SRC, dst: DST });
    expect(decodeAdvert(v3, { src: SRC, dst: DST })).toMatchObject({ ok: false, reason: 'bad_interval' });
    const v2 = encodeAdvert({ version: 2, vrid: 51, priority: 200, addresses: ['10.77.0.100'], interval: 0, authType: 'none' }, { src: SRC, dst: DST });
    expect(decodeAdvert(v2, { src: SRC, dst: DST })).toMatchObject({ ok: false, reason: 'bad_interval' });
  });
  it('with check_unicast_src, an advert from a source that is not a peer is dropped; from a peer it counts', () => {
    const want: InstanceExpectations = { version: 3, vrid: 51, interval: 10, addresses: ['10.77.0.100'], peers: ['10.77.0.2'] };
    const from = (src: string) => encodeIpPacket(encodeAdvert({ version: 3, vrid: 51, priority: 200, addresses: ['10.77.0.100'], interval: 10, authType: 'none' }, { src, dst: '10.77.0.3' }), { src, dst: '10.77.0.3' });
    expect(acceptAdvert(from('10.77.0.9'), want)).toMatchObject({ ok: false, reason: 'not_a_peer' });
    expect(acceptAdvert(from('10.77.0.2'), want)).toMatchObject({ ok: true });
  });
});

describe('IP layer', () => {
  it('writes TTL 255, protocol 112, TOS 0xc0 and a valid header checksum', () => {
    const pkt = encodeIpPacket(hex(KEEPALIVED_V2), { src: SRC, dst: DST, id: 9 });
    expect(pkt[8]).toBe(255);
    expect(pkt[9]).toBe(112);
    expect(pkt[1]).toBe(0xc0);
    expect(internetChecksum(pkt.subarray(0, 20))).toBe(0);
    const d = decodeIpPacket(pkt);
    expect(d).toMatchObject({ ok: true, value: { ip: { src: SRC, dst: DST, ttl: 255 } } });
  });
});

describe('drops with a reason', () => {
  const want: InstanceExpectations = { version: 2, vrid: 51, interval: 1, addresses: ['10.77.0.100'] };
  const datagram = (payload: Buffer, ttl = 255, src = SRC) => {
    const p = encodeIpPacket(payload, { src, dst: DST });
    p[8] = ttl;
    return p;
  };
  const reason = (b: Buffer, w: InstanceExpectations = want) => {
    const v = acceptAdvert(b, w);
    return v.ok ? 'accepted' : v.reason;
  };
  const v2 = (over: Partial<Advert> = {}) => encodeAdvert({ version: 2, vrid: 51, priority: 150, addresses: ['10.77.0.100'], interval: 1, authType: 'none', ...over }, { src: SRC, dst: DST });

  it('accepts the reference advert', () => expect(reason(datagram(hex(KEEPALIVED_V2)))).toBe('accepted'));
  it('short', () => expect(reason(Buffer.alloc(10))).toBe('short'));
  it('short VRRP header', () => expect(reason(datagram(Buffer.alloc(4)))).toBe('short'));
  it('bad IP header', () => {
    const p = datagram(v2());
    p[0] = 0x65;
    expect(reason(p)).toBe('bad_ip_header');
    const q = datagram(v2());
    q[0] = 0x4f; // 60-byte header in a 40-byte packet
    expect(reason(q)).toBe('bad_ip_header');
  });
  it('not VRRP', () => {
    const p = datagram(v2());
    p[9] = 6;
    expect(reason(p)).toBe('not_vrrp');
  });
  it('TTL not 255', () => expect(reason(datagram(v2(), 254))).toBe('bad_ttl'));
  it('bad version and type', () => {
    const a = v2();
    a[0] = 0x41;
    expect(reason(datagram(a))).toBe('bad_version');
    const b = v2();
    b[0] = 0x22;
    expect(reason(datagram(b))).toBe('bad_type');
    expect(reason(datagram(hex(KEEPALIVED_V3)))).toBe('bad_version'); // v3 to a v2 instance
  });
  it('bad length (count says more addresses than there are)', () => {
    const a = v2();
    a[3] = 5;
    expect(reason(datagram(a))).toBe('bad_length');
  });
  it('bad checksum', () => {
    const a = v2();
    a[2] = 151;
    expect(reason(datagram(a))).toBe('bad_checksum');
  });
  it('unknown auth type', () => {
    const a = v2();
    a[4] = 9;
    a.writeUInt16BE(0, 6);
    a.writeUInt16BE(internetChecksum(a), 6);
    expect(reason(datagram(a))).toBe('bad_auth_type');
  });
  it('wrong VRID', () => expect(reason(datagram(v2({ vrid: 52 })))).toBe('wrong_vrid'));
  it('auth mismatch: none vs pass, and the wrong password', () => {
    expect(reason(datagram(v2()), { ...want, authPass: 'secret' })).toBe('auth_mismatch');
    expect(reason(datagram(v2({ authType: 'pass', authPass: 'guess' })), { ...want, authPass: 'secret' })).toBe('auth_failure');
    expect(reason(datagram(v2({ authType: 'pass', authPass: 'secret' })), { ...want, authPass: 'secret' })).toBe('accepted');
  });
  it('v2 interval mismatch is dropped; a v3 one is accepted (the backup learns it)', () => {
    expect(reason(datagram(v2({ interval: 2 })))).toBe('interval_mismatch');
    const v3 = encodeAdvert({ version: 3, vrid: 51, priority: 150, addresses: ['10.77.0.100'], interval: 25, authType: 'none' }, { src: SRC, dst: DST });
    expect(reason(datagram(v3), { version: 3, vrid: 51, interval: 10 })).toBe('accepted');
  });
  it('address list mismatch, and our own looped-back advert', () => {
    expect(reason(datagram(v2({ addresses: ['10.77.0.101'] })))).toBe('address_mismatch');
    expect(reason(datagram(v2()), { ...want, ownAddresses: [SRC] })).toBe('own_address');
  });
});

describe('decoder fuzzing', () => {
  const want: InstanceExpectations = { version: 3, vrid: 51, interval: 10 };
  const isVerdict = (v: { ok: true } | { ok: false; reason: string }) => v.ok || (DROP_REASONS as readonly string[]).includes(v.reason);

  it('never throws on random bytes, always gives a verdict', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 120 }), (bytes) => {
      expect(isVerdict(acceptAdvert(Buffer.from(bytes), want))).toBe(true);
      expect(isVerdict(decodeAdvert(Buffer.from(bytes), { src: SRC, dst: DST }))).toBe(true);
    }), { numRuns: 5000 });
  });

  it('never throws on mutated valid packets; a flipped byte in a VRRP message is never accepted silently', () => {
    const base = encodeIpPacket(hex(KEEPALIVED_V3), { src: SRC, dst: DST });
    fc.assert(fc.property(fc.integer({ min: 0, max: base.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.integer({ min: -8, max: 8 }), (at, xor, resize) => {
      const p = Buffer.from(base);
      p[at] = p[at]! ^ xor;
      const mutated = resize >= 0 ? Buffer.concat([p, Buffer.alloc(resize)]) : p.subarray(0, p.length + resize);
      const v = acceptAdvert(mutated, want);
      expect(isVerdict(v)).toBe(true);
      // Any change inside the VRRP message is caught by its checksum (or an earlier check).
      if (at >= 20 && resize >= 0) expect(v.ok).toBe(false);
    }), { numRuns: 5000 });
  });

  it('round-trips every well-formed advert', () => {
    const ip = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    const advert = fc.oneof(
      fc.record({ version: fc.constant(2 as const), vrid: fc.integer({ min: 1, max: 255 }), priority: fc.nat(255), addresses: fc.array(ip, { maxLength: 20 }), interval: fc.integer({ min: 1, max: 255 }), authType: fc.constant('pass' as const), authPass: fc.string({ minLength: 1, maxLength: 8 }).filter((s) => /^[\x21-\x7e]+$/.test(s)) }),
      fc.record({ version: fc.constant(3 as const), vrid: fc.integer({ min: 1, max: 255 }), priority: fc.nat(255), addresses: fc.array(ip, { maxLength: 20 }), interval: fc.integer({ min: 1, max: 4095 }), authType: fc.constant('none' as const) }),
    );
    fc.assert(fc.property(advert, ip, (a, src) => {
      const b = encodeAdvert(a, { src, dst: DST });
      expect(decodeAdvert(b, { src, dst: DST })).toEqual({ ok: true, value: a });
    }), { numRuns: 2000 });
  });
});

describe('IPv4 addresses as numbers (parsed by hand on the receive path)', () => {
  const QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
  const byRegex = (s: string) => (QUAD.test(s) ? s.split('.').reduce((a, o) => a * 256 + Number(o), 0) : 'refused');
  const byHand = (s: string) => {
    try {
      return ipv4ToNumber(s);
    } catch {
      return 'refused';
    }
  };
  it('accepts exactly the dotted quads, without leading zeros, and agrees on their value', () => {
    for (const s of ['0.0.0.0', '255.255.255.255', '10.0.0.1', '1.2.3.40', '01.2.3.4', '1.2.3.04', '00.0.0.0', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '.1.2.3', '1.2.3.', '', ' 1.2.3.4']) {
      expect(byHand(s), s).toBe(byRegex(s));
    }
    fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.string({ unit: fc.constantFrom('0', '1', '2', '5', '6', '9', '.', 'a') })), (s) => byHand(s) === byRegex(s)), { numRuns: 20_000 });
    expect(numberToIpv4(ipv4ToNumber('192.168.7.254'))).toBe('192.168.7.254');
  });
});
