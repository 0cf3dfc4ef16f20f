// The one place that touches raw sockets: native/vrrp_socket.c, our own Node-API addon
// (built by `npm ci` with node-gyp). Replaceable behind this interface.
import { loadAddon } from '../../shared/native.js';
import { VRRP_MULTICAST } from './codec.js';

interface Addon {
  open(ifname: string, onDatagram: (err: string | null, datagram: Buffer | null) => void): object;
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

/** A raw protocol-112 socket bound to one interface; every datagram received (IP header included) goes to onDatagram. */
export function openVrrpSocket(ifname: string, onDatagram: (datagram: Buffer) => void, onError: (message: string) => void): VrrpSocket {
  const a = load();
  let open = true;
  const handle = a.open(ifname, (err, datagram) => {
    if (err !== null) onError(err);
    else if (datagram) onDatagram(datagram);
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
