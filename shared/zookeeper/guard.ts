// node-zookeeper-client 1.1.3 (unmaintained) can throw from inside its socket's data
// handler, where nothing can catch it and the process exits (upstream issues #23, #70).
// Seen here after a ZooKeeper stall: a client closed while connecting (vigil's connect
// timeout) still sends its connect request when the socket opens, and the connect
// response, read in the CLOSING state as a reply header, carries the session id's low
// bits where an error code belongs: `Error: Unknown code: <n>` from Exception.create.
//
// This module is the one place that knows the library's internals. It makes three changes
// to its ConnectionManager, applied once when the ZooKeeper adapter is loaded:
//   - a connect response that arrives after close() ends the connection (the socket is
//     destroyed; the library then goes CLOSED, its documented end for a closed client);
//   - any exception thrown while parsing server data ends that connection instead of the
//     process, as the library itself does for the faults it recognises ("destroy the
//     socket: this will trigger reconnect"), and is reported to the listeners below;
//   - the library's own idle pings are not sent. vigil's sessions run their own heartbeat
//     (ZkSession, every timeout/15), so the pings never keep a healthy session alive; they
//     only kept alive, at the server, the session of a holder that no longer hears the
//     server (its inbound cut): sent into a connection whose acknowledgements are lost, the
//     odd ping still gets through (TCP's forward RTO recovery sends new data) and the peer
//     waited up to a second longer for the lease (seen in the fence test of an asymmetric
//     cut: 2.7 s instead of 1.5 s). Nor is the socket's idle timer that would send them
//     set: every read and write pushes it back, and Node re-arms a pushed-back timer only
//     when it comes due, so it woke the fence at its old expiry after every heartbeat.
import { createRequire } from 'node:module';

interface Socket {
  destroy(): void;
}

interface ConnectionManager {
  state: number;
  /** The socket's idle timeout, set from the session timeout just before the state turns CONNECTED, then given to the socket. */
  pingTimeout: number;
  socket: Socket | undefined;
  pendingBuffer: Buffer | null;
  /** Set by the guard between the socket's connect and the server's connect response. */
  vigilAwaitingConnectResponse?: boolean;
  onSocketConnected(this: ConnectionManager): void;
  onSocketData(this: ConnectionManager, buffer: Buffer): void;
  onSocketTimeout(this: ConnectionManager): void;
  setState(this: ConnectionManager, state: number): void;
}

interface ConnectionManagerModule {
  prototype: ConnectionManager;
  STATES: { CONNECTED: number; CONNECTED_READ_ONLY: number; CLOSING: number; SESSION_EXPIRED: number };
}

export type ZooKeeperFault = { kind: 'late_connect_response' } | { kind: 'exception'; error: Error };

const listeners = new Set<(f: ZooKeeperFault) => void>();

/** Called for every fault the guard absorbed (to log it); returns how to stop listening. */
export function onZooKeeperFault(listener: (f: ZooKeeperFault) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

let faults = 0;
/** How many faults the guard has absorbed in this process (tests read it). */
export const zooKeeperFaults = (): number => faults;

function report(f: ZooKeeperFault): void {
  faults += 1;
  for (const l of listeners) {
    try {
      l(f);
    } catch {
      // a listener's own failure must not undo the guard
    }
  }
}

function endConnection(cm: ConnectionManager): void {
  cm.pendingBuffer = null;
  cm.vigilAwaitingConnectResponse = false;
  cm.socket?.destroy();
}

let installed = false;

export function installZooKeeperGuard(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  const CM = require('node-zookeeper-client/lib/ConnectionManager.js') as ConnectionManagerModule;
  const { CONNECTED, CONNECTED_READ_ONLY, CLOSING, SESSION_EXPIRED } = CM.STATES;
  const answered = new Set([CONNECTED, CONNECTED_READ_ONLY, SESSION_EXPIRED]);
  const connectedStates = new Set([CONNECTED, CONNECTED_READ_ONLY]);
  const proto = CM.prototype;
  const connected = proto.onSocketConnected;
  const data = proto.onSocketData;
  const setState = proto.setState;
  proto.setState = function (this: ConnectionManager, state: number) {
    // The connect response was read (these states follow only from it).
    if (answered.has(state)) this.vigilAwaitingConnectResponse = false;
    if (connectedStates.has(state)) this.pingTimeout = 0; // the socket gets no idle timer
    setState.call(this, state);
  };
  proto.onSocketTimeout = function () {};
  proto.onSocketConnected = function (this: ConnectionManager) {
    this.vigilAwaitingConnectResponse = true;
    connected.call(this);
  };
  proto.onSocketData = function (this: ConnectionManager, buffer: Buffer) {
    if (this.vigilAwaitingConnectResponse && this.state === CLOSING) {
      report({ kind: 'late_connect_response' });
      endConnection(this);
      return;
    }
    try {
      data.call(this, buffer);
    } catch (err) {
      report({ kind: 'exception', error: err instanceof Error ? err : new Error(String(err)) });
      endConnection(this);
    }
  };
}
