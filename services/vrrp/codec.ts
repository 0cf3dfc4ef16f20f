// VRRP adverts on the wire, IPv4: RFC 3768 (v2) and RFC 5798 (v3). Pure: bytes in,
// a packet or a reason out. Nothing here throws on bad input; every drop has a reason
// that the shell counts (and summarises in vrrp.bad_packets events).
import { internetChecksum } from '../../shared/checksum.js';
import { readIpv4, writeIpv4 } from '../../shared/ipv4.js';

export const VRRP_PROTOCOL = 112;
export const VRRP_MULTICAST = '224.0.0.18';
export const VRRP_TTL = 255;
/** keepalived sends with IPTOS_PREC_INTERNETCONTROL. */
export const VRRP_TOS = 0xc0;
const ADVERTISEMENT = 1;
const V2_AUTH_LEN = 8;

export type VrrpVersion = 2 | 3;
export type AuthType = 'none' | 'pass' | 'ah';
const AUTH_CODES: Record<number, AuthType> = { 0: 'none', 1: 'pass', 2: 'ah' };
const AUTH_TYPE_CODE: Record<AuthType, number> = { none: 0, pass: 1, ah: 2 };

export interface Advert {
  version: VrrpVersion;
  vrid: number;
  priority: number;
  addresses: string[];
  /** v2: seconds; v3: centiseconds (Max Advertise Interval). */
  interval: number;
  /** v2 only. */
  authType: AuthType;
  /** v2 'pass' only: the password, without its zero padding. */
  authPass?: string;
}

export interface IpHeader {
  ttl: number;
  protocol: number;
  tos: number;
  src: string;
  dst: string;
  headerLength: number;
  totalLength: number;
}

export const DROP_REASONS = [
  'short', 'bad_ip_header', 'not_vrrp', 'bad_ttl', 'bad_version', 'bad_type', 'bad_length', 'bad_checksum',
  'bad_auth_type', 'bad_interval', 'wrong_vrid', 'auth_mismatch', 'auth_failure', 'interval_mismatch', 'address_mismatch', 'own_address',
  'not_a_peer',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export type Verdict<T> = { ok: true; value: T } | { ok: false; reason: DropReason; detail: string };

const drop = (reason: DropReason, detail: string): { ok: false; reason: DropReason; detail: string } => ({ ok: false, reason, detail });

/** Length of the VRRP message for a packet with n addresses. */
function messageLength(version: VrrpVersion, n: number): number {
  return 8 + 4 * n + (version === 2 ? V2_AUTH_LEN : 0);
}

function pseudoHeader(src: string, dst: string, length: number): Buffer {
  const b = Buffer.alloc(12);
  writeIpv4(b, 0, src);
  writeIpv4(b, 4, dst);
  b[9] = VRRP_PROTOCOL;
  b.writeUInt16BE(length, 10);
  return b;
}

export interface EncodeOptions {
  /** v3 checksums cover the IPv4 pseudo-header, so they need the source and destination. */
  src: string;
  dst: string;
}

/** The VRRP message (the IP payload), with its checksum. */
export function encodeAdvert(a: Advert, o: EncodeOptions): Buffer {
  const buf = Buffer.alloc(messageLength(a.version, a.addresses.length));
  buf[0] = (a.version << 4) | ADVERTISEMENT;
  buf[1] = a.vrid;
  buf[2] = a.priority;
  buf[3] = a.addresses.length;
  if (a.version === 2) {
    buf[4] = AUTH_TYPE_CODE[a.authType];
    buf[5] = a.interval;
  } else {
    buf.writeUInt16BE(a.interval & 0x0fff, 4);
  }
  a.addresses.forEach((ip, i) => writeIpv4(buf, 8 + 4 * i, ip));
  if (a.version === 2 && a.authType === 'pass') buf.write((a.authPass ?? '').slice(0, V2_AUTH_LEN), 8 + 4 * a.addresses.length, 'latin1');
  const sum = a.version === 2 ? internetChecksum(buf) : internetChecksum(pseudoHeader(o.src, o.dst, buf.length), buf);
  buf.writeUInt16BE(sum, 6);
  return buf;
}

/** An IPv4 header for IP_HDRINCL sockets: TTL 255, our source, VRRP's protocol and TOS. */
export function encodeIpPacket(payload: Buffer, o: EncodeOptions & { id?: number }): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h[1] = VRRP_TOS;
  h.writeUInt16BE(20 + payload.length, 2);
  h.writeUInt16BE((o.id ?? 0) & 0xffff, 4);
  h[8] = VRRP_TTL;
  h[9] = VRRP_PROTOCOL;
  writeIpv4(h, 12, o.src);
  writeIpv4(h, 16, o.dst);
  h.writeUInt16BE(internetChecksum(h), 10);
  return Buffer.concat([h, payload]);
}

/** Splits a received datagram (raw sockets deliver the IP header too). */
export function decodeIpPacket(buf: Buffer): Verdict<{ ip: IpHeader; payload: Buffer }> {
  if (buf.length < 20) return drop('short', `${buf.length} bytes, no room for an IPv4 header`);
  if (buf[0]! >> 4 !== 4) return drop('bad_ip_header', `IP version ${buf[0]! >> 4}`);
  const headerLength = (buf[0]! & 0x0f) * 4;
  if (headerLength < 20 || headerLength > buf.length) return drop('bad_ip_header', `header length ${headerLength} in a ${buf.length}-byte packet`);
  const totalLength = buf.readUInt16BE(2);
  // Linux may report total length as received or with the header length subtracted;
  // trust the buffer, but never read past it.
  const end = totalLength >= headerLength && totalLength <= buf.length ? totalLength : buf.length;
  const ip: IpHeader = {
    tos: buf[1]!,
    ttl: buf[8]!,
    protocol: buf[9]!,
    src: readIpv4(buf, 12),
    dst: readIpv4(buf, 16),
    headerLength,
    totalLength,
  };
  if (ip.protocol !== VRRP_PROTOCOL) return drop('not_vrrp', `IP protocol ${ip.protocol}`);
  return { ok: true, value: { ip, payload: buf.subarray(headerLength, end) } };
}

/** Checks and decodes a VRRP message. src/dst are the IP addresses it came with (for the v3 checksum). */
export function decodeAdvert(msg: Buffer, o: EncodeOptions): Verdict<Advert> {
  if (msg.length < 8) return drop('short', `${msg.length} bytes, a VRRP header needs 8`);
  const version = msg[0]! >> 4;
  const type = msg[0]! & 0x0f;
  if (version !== 2 && version !== 3) return drop('bad_version', `version ${version}`);
  if (type !== ADVERTISEMENT) return drop('bad_type', `type ${type}`);
  const count = msg[3]!;
  const need = messageLength(version, count);
  if (msg.length < need) return drop('bad_length', `${count} addresses need ${need} bytes, got ${msg.length}`);
  const body = msg.subarray(0, need); // trailing bytes (padding) are not covered
  const sum = version === 2 ? internetChecksum(body) : internetChecksum(pseudoHeader(o.src, o.dst, body.length), body);
  if (sum !== 0) {
    // v2 packets of some implementations include padding in the checksum: accept that too.
    if (!(version === 2 && msg.length > need && internetChecksum(msg) === 0)) {
      return drop('bad_checksum', `checksum 0x${msg.readUInt16BE(6).toString(16).padStart(4, '0')} does not verify`);
    }
  }
  // An interval of 0 would make a master-down interval of nothing: any one packet could
  // flip a backup to master and back (RFC 5798 gives the field no meaning at 0).
  const interval = version === 2 ? msg[5]! : msg.readUInt16BE(4) & 0x0fff;
  if (interval === 0) return drop('bad_interval', `advert interval 0 (v${version})`);
  const addresses = Array.from({ length: count }, (_, i) => readIpv4(msg, 8 + 4 * i));
  if (version === 2) {
    const authType = AUTH_CODES[msg[4]!];
    if (authType === undefined) return drop('bad_auth_type', `authentication type ${msg[4]}`);
    const advert: Advert = { version, vrid: msg[1]!, priority: msg[2]!, addresses, interval, authType };
    if (authType === 'pass') {
      const raw = msg.subarray(8 + 4 * count, need).toString('latin1');
      advert.authPass = raw.replace(/\0+$/, '');
    }
    return { ok: true, value: advert };
  }
  return { ok: true, value: { version, vrid: msg[1]!, priority: msg[2]!, addresses, interval, authType: 'none' } };
}

/** What a receiving instance expects (keepalived's checks, RFC 3768 7.1 / RFC 5798 7.1). */
export interface InstanceExpectations {
  version: VrrpVersion;
  vrid: number;
  /** v2 seconds / v3 centiseconds. v2 adverts with another interval are dropped; v3 ones are learnt. */
  interval: number;
  authPass?: string;
  /** The VIPs this instance protects: an advert listing others is dropped (keepalived does, unless vrrp_skip_check_adv_addr). */
  addresses?: string[];
  /** Our own addresses: our own adverts looped back are not a peer's. */
  ownAddresses?: string[];
  /** With check_unicast_src: the only sources whose adverts count. */
  peers?: string[];
}

export interface ReceivedAdvert {
  ip: IpHeader;
  advert: Advert;
}

/** The whole receive path: IP header, TTL, VRRP message, and the instance's own checks. */
export function acceptAdvert(datagram: Buffer, want: InstanceExpectations): Verdict<ReceivedAdvert> {
  const ipv = decodeIpPacket(datagram);
  return ipv.ok ? checkAdvert(ipv.value, want) : ipv;
}

/** The receive path after the IP header was split off (decodeIpPacket). */
export function checkAdvert({ ip, payload }: { ip: IpHeader; payload: Buffer }, want: InstanceExpectations): Verdict<ReceivedAdvert> {
  if (ip.ttl !== VRRP_TTL) return drop('bad_ttl', `TTL ${ip.ttl} from ${ip.src} (VRRP requires 255: the sender is not on this link)`);
  const av = decodeAdvert(payload, { src: ip.src, dst: ip.dst });
  if (!av.ok) return av;
  const advert = av.value;
  if (want.ownAddresses?.includes(ip.src)) return drop('own_address', `our own advert from ${ip.src}`);
  if (want.peers && !want.peers.includes(ip.src)) return drop('not_a_peer', `advert from ${ip.src}, which is not a unicast_peer (check_unicast_src)`);
  if (advert.version !== want.version) return drop('bad_version', `VRRPv${advert.version} from ${ip.src}, this instance speaks v${want.version}`);
  if (advert.vrid !== want.vrid) return drop('wrong_vrid', `VRID ${advert.vrid} from ${ip.src}, expected ${want.vrid}`);
  if (advert.version === 2) {
    const wantType: AuthType = want.authPass === undefined ? 'none' : 'pass';
    if (advert.authType !== wantType) return drop('auth_mismatch', `authentication ${advert.authType} from ${ip.src}, expected ${wantType}`);
    if (wantType === 'pass' && advert.authPass !== want.authPass!.slice(0, V2_AUTH_LEN)) return drop('auth_failure', `wrong password from ${ip.src}`);
    if (advert.interval !== want.interval) return drop('interval_mismatch', `advert interval ${advert.interval}s from ${ip.src}, expected ${want.interval}s`);
  }
  if (want.addresses) {
    const theirs = [...advert.addresses].sort().join(',');
    const ours = [...want.addresses].sort().join(',');
    if (theirs !== ours) return drop('address_mismatch', `${ip.src} advertises [${advert.addresses.join(', ')}], this instance protects [${want.addresses.join(', ')}]`);
  }
  return { ok: true, value: { ip, advert } };
}
