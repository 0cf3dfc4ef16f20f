// The one place that touches raw sockets: native/vrrp_socket.c, our own Node-API addon
// (built by `npm ci` with node-gyp). Replaceable behind this interface.
import { loadAddon } from '../../shared/native.js';
import { VRRP_MULTICAST } from './codec.js';

interface Addon {
  open(ifname: string, onDatagrams: (err: string | null, datagrams: Buffer[] | null, overdue: number[] | null) => void): object;
  routine(handle: object, vrid: number, src?: string, dst?: string, vrrp?: Buffer, masterDownMs?: number): void;
  collect(handle: object, vrid: number): [number, number, number] | null;
  known(handle: object, vrids: number[] | null): void;
  unknown(handle: object): number;
  repeat(handle: object, vrid: number, datagrams?: Buffer[], dsts?: string[], intervalMs?: number, firstInMs?: number): void;
  repeated(handle: object, vrid: number): [number, number, string | null, number | null] | null;
  membership(handle: object, group: string, ifname: string, join: boolean): void;
  send(handle: object, datagram: Buffer, dst: string): void;
  close(handle: object): void;
}

const load = () => loadAddon<Addon>('vrrp_socket', ['open', 'membership', 'send', 'close', 'routine', 'collect', 'known', 'unknown', 'repeat', 'repeated']);

export interface VrrpSocket {
  readonly ifname: string;
  /** Sends a datagram whose IPv4 header is already written (TTL 255, our source). */
  send(datagram: Buffer, dst: string): void;
  joinMulticast(group?: string): void;
  /**
   * Names the VRID's routine advert: datagrams from src to dst carrying exactly these VRRP
   * bytes are then only counted and timed here (see collect), until masterDownMs pass
   * without one (onOverdue) or another routine is named; null forgets it.
   */
  routine(vrid: number, advert: RoutineAdvert | null): void;
  /** A VRID's routine adverts: how many since the last collect, how long ago the last one came (or the routine was named), how many since it was named. */
  collect(vrid: number): { count: number; agoMs: number; sinceNamed: number } | undefined;
  /** Adverts of VRIDs not in the list are only counted (unknownDropped) from now on; null delivers them all. */
  knownVrids(vrids: number[] | null): void;
  /** Adverts of unknown VRIDs dropped since the last call. */
  unknownDropped(): number;
  /**
   * Has the socket send a master's routine adverts (one datagram per destination, IP header
   * included) every intervalMs, the first in firstInMs, with no JavaScript at each; another
   * call replaces them, null stops them.
   */
  repeat(vrid: number, adverts: RepeatedAdverts | null): void;
  /** A VRID's repeated adverts since the last call: sent, failed (and why), ms until the next (undefined: not repeating). */
  repeated(vrid: number): { sent: number; failed: number; error: string | undefined; nextInMs: number | undefined } | undefined;
  close(): void;
}

export interface RoutineAdvert {
  src: string;
  dst: string;
  vrrp: Buffer;
  masterDownMs: number;
}

export interface RepeatedAdverts {
  datagrams: Buffer[];
  /** Where each datagram goes (as many as datagrams). */
  dsts: string[];
  intervalMs: number;
  firstInMs: number;
}

export interface VrrpSocketHandlers {
  /** Every datagram received (IP header included) but routine ones (in bursts when they come densely, see native/vrrp_socket.c). */
  datagram(datagram: Buffer): void;
  /** A VRID's routine adverts stopped for its master-down interval (the routine is forgotten). */
  overdue(vrid: number): void;
  error(message: string): void;
}

/** A raw protocol-112 socket bound to one interface. */
export function openVrrpSocket(ifname: string, on: VrrpSocketHandlers): VrrpSocket {
  const a = load();
  let open = true;
  const handle = a.open(ifname, (err, datagrams, overdue) => {
    if (err !== null) on.error(err);
    if (datagrams) for (const d of datagrams) on.datagram(d);
    if (overdue) for (const vrid of overdue) on.overdue(vrid);
  });
  return {
    ifname,
    send: (datagram, dst) => a.send(handle, datagram, dst),
    joinMulticast: (group = VRRP_MULTICAST) => a.membership(handle, group, ifname, true),
    routine(vrid, advert) {
      if (!open) return;
      if (advert) a.routine(handle, vrid, advert.src, advert.dst, advert.vrrp, advert.masterDownMs);
      else a.routine(handle, vrid);
    },
    collect(vrid) {
      const got = open ? a.collect(handle, vrid) : null;
      return got ? { count: got[0], agoMs: got[1], sinceNamed: got[2] } : undefined;
    },
    knownVrids(vrids) {
      if (open) a.known(handle, vrids);
    },
    unknownDropped: () => (open ? a.unknown(handle) : 0),
    repeat(vrid, adverts) {
      if (!open) return;
      if (adverts) a.repeat(handle, vrid, adverts.datagrams, adverts.dsts, adverts.intervalMs, adverts.firstInMs);
      else a.repeat(handle, vrid);
    },
    repeated(vrid) {
      const got = open ? a.repeated(handle, vrid) : null;
      return got ? { sent: got[0], failed: got[1], error: got[2] ?? undefined, nextInMs: got[3] ?? undefined } : undefined;
    },
    close() {
      if (open) a.close(handle);
      open = false;
    },
  };
}
