// The one place that touches raw sockets: native/vrrp_socket.c, our own Node-API addon
// (built by `npm ci` with node-gyp). Replaceable behind this interface.
import { loadAddon } from '../../shared/native.js';
import { VRRP_MULTICAST } from './codec.js';

interface Addon {
  open(ifname: string, onDatagrams: (err: string | null, datagrams: Buffer[] | null) => void): object;
  membership(handle: object, group: string, ifname: string, join: boolean): void;
  send(handle: object, datagram: Buffer, dst: string): void;
  close(handle: object): void;
}

const load = () => loadAddon<Addon>('vrrp_socket', ['open', 'membership', 'send', 'close']);

export interface VrrpSocket {
  readonly ifname: string;
  /** Sends a datagram whose IPv4 header is already written (TTL 255, our source). */
  send(datagram: Buffer, dst: string): void;
  joinMulticast(group?: string): void;
  close(): void;
}

/** A raw protocol-112 socket bound to one interface; every datagram received (IP header included) goes to onDatagram (in bursts when they come densely, see native/vrrp_socket.c). */
export function openVrrpSocket(ifname: string, onDatagram: (datagram: Buffer) => void, onError: (message: string) => void): VrrpSocket {
  const a = load();
  let open = true;
  const handle = a.open(ifname, (err, datagrams) => {
    if (err !== null) onError(err);
    else if (datagrams) for (const d of datagrams) onDatagram(d);
  });
  return {
    ifname,
    send: (datagram, dst) => a.send(handle, datagram, dst),
    joinMulticast: (group = VRRP_MULTICAST) => a.membership(handle, group, ifname, true),
    close() {
      if (open) a.close(handle);
      open = false;
    },
  };
}
