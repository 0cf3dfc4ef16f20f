// The failsafe's peer channel: UDP between the fences, on each node's configured address
// and zookeeper.failsafe_port. A datagram counts only if it decodes (and its HMAC matches,
// with a secret), comes from the configured address of the node it names, and is for this
// node; anything else is counted and dropped.
import { createSocket, type Socket } from 'node:dgram';
import { throttledWarning, type Logger } from '../../shared/logger.js';
import { decodePeerMessage, encodePeerMessage, newNonce, type PeerMessage } from './failsafe.js';

export interface PeerChannelOptions {
  node: string;
  /** This node's address (bound) and the other nodes', by name. */
  address: string;
  peers: Record<string, string>;
  port: number;
  secret: string | undefined;
  logger: Logger;
  /** An ask from a peer: the answer (sent back at once). */
  asked(m: Extract<PeerMessage, { kind: 'ask' }>): PeerMessage;
  /** A promise from a peer. */
  promised(m: Extract<PeerMessage, { kind: 'promise' }>): void;
}

export class PeerChannel {
  private socket: Socket | undefined;
  private readonly dropped = new Map<string, number>();
  private readonly warnDrop: (fields?: Record<string, unknown>) => void;
  private readonly warnSend: (fields?: Record<string, unknown>) => void;

  constructor(private readonly o: PeerChannelOptions) {
    this.warnDrop = throttledWarning(o.logger, 'failsafe peer channel: datagrams dropped');
    this.warnSend = throttledWarning(o.logger, 'failsafe peer channel: cannot send');
  }

  /** Binds the socket; rejects when the address or port cannot be bound. */
  start(): Promise<void> {
    const s = createSocket({ type: 'udp4', reuseAddr: false });
    this.socket = s;
    s.on('message', (d, rinfo) => this.receive(d, rinfo.address));
    s.on('error', (err) => this.o.logger.error('failsafe peer channel error', { err }));
    return new Promise((resolve, reject) => {
      s.once('error', reject);
      s.bind(this.o.port, this.o.address, () => {
        s.off('error', reject);
        resolve();
      });
    });
  }

  /** Sends an ask for these groups to every peer; the nonce sent to each, by peer. */
  ask(groups: string[]): Map<string, string> {
    const nonces = new Map<string, string>();
    for (const peer of Object.keys(this.o.peers)) {
      const nonce = newNonce();
      nonces.set(peer, nonce);
      this.send(peer, { v: 1, kind: 'ask', from: this.o.node, to: peer, nonce, groups });
    }
    return nonces;
  }

  /** Datagrams dropped since the start, by reason. */
  drops(): Record<string, number> {
    return Object.fromEntries(this.dropped);
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }

  private send(peer: string, m: PeerMessage): void {
    const address = this.o.peers[peer];
    if (!this.socket || address === undefined) return;
    this.socket.send(encodePeerMessage(m, this.o.secret), this.o.port, address, (err) => {
      if (err) this.warnSend({ peer, err });
    });
  }

  private drop(reason: string, from: string, detail: string): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
    this.warnDrop({ reason, from, detail, counts: this.drops() });
  }

  private receive(datagram: Buffer, from: string): void {
    const d = decodePeerMessage(datagram, this.o.secret);
    if (!d.ok) return this.drop(d.reason, from, d.detail);
    const m = d.message;
    if (this.o.peers[m.from] !== from) return this.drop('wrong_source', from, `names node ${m.from}, whose configured address is ${this.o.peers[m.from] ?? 'none'}`);
    if (m.to !== this.o.node) return this.drop('not_for_us', from, `for ${m.to}`);
    if (m.kind === 'ask') this.send(m.from, this.o.asked(m));
    else this.o.promised(m);
  }
}
