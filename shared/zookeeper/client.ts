// node-zookeeper-client behind promises, typed errors and a timeout on every call (the
// library has no read timeout: on a half-open connection a request would wait forever).
// One ZkClient is one ZooKeeper session; after expiry, make a new one.
import zookeeper from 'node-zookeeper-client';
import { installZooKeeperGuard } from './guard.js';

installZooKeeperGuard();

export type ZkErrorCode =
  | 'NO_NODE' | 'NODE_EXISTS' | 'NOT_EMPTY' | 'BAD_VERSION' | 'CONNECTION_LOSS' | 'SESSION_EXPIRED'
  | 'OPERATION_TIMEOUT' | 'NO_CHILDREN_FOR_EPHEMERALS' | 'TIMEOUT' | 'CLOSED' | 'OTHER';

const KNOWN: readonly ZkErrorCode[] = ['NO_NODE', 'NODE_EXISTS', 'NOT_EMPTY', 'BAD_VERSION', 'CONNECTION_LOSS', 'SESSION_EXPIRED', 'OPERATION_TIMEOUT', 'NO_CHILDREN_FOR_EPHEMERALS'];

export class ZkError extends Error {
  constructor(readonly code: ZkErrorCode, readonly op: string, readonly path: string, message: string) {
    super(`ZooKeeper ${op} ${path}: ${message}`);
    this.name = 'ZkError';
  }
}

export const isZkError = (err: unknown, code?: ZkErrorCode): err is ZkError => err instanceof ZkError && (code === undefined || err.code === code);

const SILENCE: readonly ZkErrorCode[] = ['CONNECTION_LOSS', 'OPERATION_TIMEOUT', 'TIMEOUT', 'CLOSED', 'OTHER'];
/** Whether an error is the server's answer (it heard the request: a node missing, a version conflict, ...), not silence. */
export const answeredByServer = (err: unknown): boolean => isZkError(err) && !SILENCE.includes(err.code);

function toZkError(op: string, path: string, err: unknown): ZkError {
  if (err instanceof ZkError) return err;
  const e = err as { name?: unknown; message?: unknown };
  const name = typeof e?.name === 'string' ? e.name : '';
  const code = (KNOWN as readonly string[]).includes(name) ? (name as ZkErrorCode) : 'OTHER';
  return new ZkError(code, op, path, typeof e?.message === 'string' ? e.message : String(err));
}

export type CreateMode = 'persistent' | 'ephemeral' | 'ephemeral_sequential';
const MODES: Record<CreateMode, number> = {
  persistent: zookeeper.CreateMode.PERSISTENT,
  ephemeral: zookeeper.CreateMode.EPHEMERAL,
  ephemeral_sequential: zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
};

export interface NodeStat {
  version: number;
  /** Session id owning this ephemeral node, 16 hex digits as sessionId; all zeros for a persistent one. */
  ephemeralOwner: string;
  /** When the node was created, and its data last changed (unix ms, the server's clock). */
  ctime: number;
  mtime: number;
}

export type MultiOp =
  | { op: 'create'; path: string; data: Buffer; mode: CreateMode }
  | { op: 'check'; path: string; version?: number }
  | { op: 'delete'; path: string; version?: number }
  | { op: 'set'; path: string; data: Buffer; version?: number };

export interface ZkClientOptions {
  connectString: string;
  sessionTimeoutMs: number;
  /** connect() gives up after this long (the library alone retries forever). */
  connectTimeoutMs: number;
  /** Every request fails with TIMEOUT after this long. */
  requestTimeoutMs: number;
  /** Delay between connection attempts to the next server. */
  spinDelayMs?: number;
}

export type ZkConnectionEvent = 'connected' | 'disconnected' | 'expired';

const long = (b: Buffer) => Number(b.readBigInt64BE(0));
const stat = (s: zookeeper.Stat): NodeStat => ({ version: s.version, ephemeralOwner: s.ephemeralOwner.toString('hex'), ctime: long(s.ctime), mtime: long(s.mtime) });

export class ZkClient {
  private closed = false;
  private readonly listeners = new Set<(e: ZkConnectionEvent) => void>();

  private constructor(private readonly raw: zookeeper.Client, private readonly o: ZkClientOptions) {
    raw.on('connected', () => this.emit('connected'));
    raw.on('disconnected', () => this.emit('disconnected'));
    raw.on('expired', () => this.emit('expired'));
  }

  /** A new session; rejects (and leaves nothing running) when none is established in connectTimeoutMs. */
  static connect(o: ZkClientOptions): Promise<ZkClient> {
    const raw = zookeeper.createClient(o.connectString, { sessionTimeout: o.sessionTimeoutMs, spinDelay: o.spinDelayMs ?? 50, retries: 0 });
    const client = new ZkClient(raw, o);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        client.close();
        reject(new ZkError('TIMEOUT', 'connect', o.connectString, `no session within ${o.connectTimeoutMs} ms`));
      }, o.connectTimeoutMs);
      raw.once('connected', () => {
        clearTimeout(timer);
        resolve(client);
      });
      raw.connect();
    });
  }

  /** The session id as zkCli.sh prints it (hex). */
  get sessionId(): string {
    return this.raw.getSessionId().toString('hex');
  }

  /** The timeout the server granted (it may differ from the one asked for). */
  get sessionTimeoutMs(): number {
    return this.raw.getSessionTimeout();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onConnection(f: (e: ZkConnectionEvent) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  private emit(e: ZkConnectionEvent): void {
    if (this.closed) return;
    for (const f of this.listeners) f(e);
  }

  /** Ends the session (the server deletes its ephemeral nodes) if the server can still hear us. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    try {
      this.raw.close();
    } catch {
      // a client that never connected can throw here; nothing to end
    }
  }

  private call<T>(op: string, path: string, start: (done: (err: unknown, value?: T) => void) => void): Promise<T> {
    if (this.closed) return Promise.reject(new ZkError('CLOSED', op, path, 'client closed'));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        reject(new ZkError('TIMEOUT', op, path, `no answer in ${this.o.requestTimeoutMs} ms`));
      }, this.o.requestTimeoutMs);
      try {
        start((err, value) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (err) reject(toZkError(op, path, err));
          else resolve(value as T);
        });
      } catch (err) {
        settled = true;
        clearTimeout(timer);
        reject(toZkError(op, path, err));
      }
    });
  }

  create(path: string, data: Buffer, mode: CreateMode): Promise<string> {
    return this.call('create', path, (done) => this.raw.create(path, data, MODES[mode], (err, p) => done(err, p)));
  }

  /** Creates the path and its missing parents as persistent nodes; an existing path is fine. */
  mkdirp(path: string): Promise<void> {
    return this.call('mkdirp', path, (done) => this.raw.mkdirp(path, (err) => done(err)));
  }

  delete(path: string, version = -1): Promise<void> {
    return this.call('delete', path, (done) => this.raw.remove(path, version, (err) => done(err)));
  }

  /** undefined when the node does not exist. */
  exists(path: string): Promise<NodeStat | undefined> {
    return this.call('exists', path, (done) => this.raw.exists(path, (err, s) => done(err, s ? stat(s) : undefined)));
  }

  getData(path: string, watch?: () => void): Promise<{ data: Buffer; stat: NodeStat }> {
    return this.call('getData', path, (done) => {
      const cb = (err: unknown, data: Buffer, s: zookeeper.Stat) => done(err, err ? undefined : { data: data ?? Buffer.alloc(0), stat: stat(s) });
      if (watch) this.raw.getData(path, () => watch(), cb);
      else this.raw.getData(path, cb);
    });
  }

  setData(path: string, data: Buffer, version = -1): Promise<NodeStat> {
    return this.call('setData', path, (done) => this.raw.setData(path, data, version, (err, s) => done(err, err ? undefined : stat(s))));
  }

  /** Children names; watch fires once at the next change of the list. */
  getChildren(path: string, watch?: () => void): Promise<string[]> {
    return this.call('getChildren', path, (done) => {
      const cb = (err: unknown, children: string[]) => done(err, children);
      if (watch) this.raw.getChildren(path, () => watch(), cb);
      else this.raw.getChildren(path, cb);
    });
  }

  /** All or nothing. */
  multi(ops: MultiOp[]): Promise<void> {
    const path = ops.map((o) => o.path).join(',');
    return this.call('multi', path, (done) => {
      const t = this.raw.transaction();
      for (const o of ops) {
        if (o.op === 'create') t.create(o.path, o.data, MODES[o.mode]);
        else if (o.op === 'check') t.check(o.path, o.version ?? -1);
        else if (o.op === 'delete') t.remove(o.path, o.version ?? -1);
        else t.setData(o.path, o.data, o.version ?? -1);
      }
      t.commit((err) => done(err));
    });
  }
}
