// The ZooKeeper adapter against a real server: typed results and errors, a timeout on
// connect, and liveness of its own: a frozen server (socket open, nothing answered, the
// half-open case the library never reports) is taken as a lost session by the deadline,
// and a new session follows when the server answers again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.js';
import { createServer, type Server } from 'node:net';
import { isZkError, ZkClient } from '../../shared/zookeeper/client.js';
import { zooKeeperFaults } from '../../shared/zookeeper/guard.js';
import { ZkSession, type SessionReport } from '../../shared/zookeeper/session.js';
import { freePorts } from '../harness/ports.js';
import { waitFor } from '../harness/process.js';
import { startZooKeeper, type ZooKeeper } from '../harness/zookeeper.js';

let zk: ZooKeeper;
beforeAll(async () => {
  zk = await startZooKeeper();
}, 30_000);
afterAll(async () => {
  await zk?.stop();
});

const options = (connectString: string) => ({ connectString, sessionTimeoutMs: 1500, connectTimeoutMs: 1000, requestTimeoutMs: 1000 });

describe('ZkClient', () => {
  it('gives up connecting after its timeout when no server answers', async () => {
    const [port] = await freePorts(1);
    const started = performance.now();
    const err = await ZkClient.connect(options(`127.0.0.1:${port}`)).catch((e: unknown) => e);
    expect(isZkError(err, 'TIMEOUT')).toBe(true);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('returns typed results and typed errors', async () => {
    const c = await ZkClient.connect(options(zk.connectString));
    try {
      expect(c.sessionTimeoutMs).toBe(1500);
      await c.mkdirp('/t/lock');
      const p = await c.create('/t/lock/c-a-', Buffer.from('{}'), 'ephemeral_sequential');
      expect(p).toMatch(/^\/t\/lock\/c-a-\d{10}$/);
      expect((await c.exists(p))!.ephemeralOwner).toBe(c.sessionId);
      expect(await c.exists('/t/none')).toBeUndefined();
      expect(isZkError(await c.create('/t', Buffer.alloc(0), 'persistent').catch((e: unknown) => e), 'NODE_EXISTS')).toBe(true);
      expect(isZkError(await c.delete('/t/none').catch((e: unknown) => e), 'NO_NODE')).toBe(true);
      // all or nothing
      const err = await c.multi([{ op: 'create', path: '/t/x', data: Buffer.alloc(0), mode: 'ephemeral' }, { op: 'check', path: '/t/none' }]).catch((e: unknown) => e);
      expect(isZkError(err, 'NO_NODE')).toBe(true);
      expect(await c.exists('/t/x')).toBeUndefined();
    } finally {
      c.close();
    }
  });

  it("sets no idle timer on its socket (the library's pings are off: vigil's sessions send their own heartbeats)", async () => {
    const c = await ZkClient.connect(options(zk.connectString));
    try {
      const socket = (c as unknown as { raw: { connectionManager: { socket: { timeout?: number } } } }).raw.connectionManager.socket;
      expect(socket.timeout ?? 0, 'idle timeout of the connection (ms)').toBe(0);
    } finally {
      c.close();
    }
  });
});

/** A server that speaks just enough of ZooKeeper's protocol to answer a connect, then answers every request with this error code. */
async function misbehavingServer(errorCode: number): Promise<{ server: Server; port: number }> {
  const server = createServer((sock) => {
    let connected = false;
    sock.on('data', (d) => {
      if (!connected) {
        connected = true;
        const r = Buffer.alloc(4 + 4 + 4 + 8 + 4 + 16);
        r.writeInt32BE(r.length - 4, 0);
        r.writeInt32BE(0, 4); // protocol version
        r.writeInt32BE(1500, 8); // session timeout
        r.writeBigInt64BE(0x1234n, 12); // session id
        r.writeInt32BE(16, 20); // password length
        sock.write(r);
        return;
      }
      const reply = Buffer.alloc(4 + 4 + 8 + 4);
      reply.writeInt32BE(reply.length - 4, 0);
      reply.writeInt32BE(d.readInt32BE(4), 4); // the request's xid
      reply.writeInt32BE(errorCode, 16);
      sock.write(reply);
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

describe('ZkClient survives what the library cannot (node-zookeeper-client issues #23, #70)', () => {
  it('a connect response that arrives after the connect timeout closed the client (a stalled server) ends that connection, not the process', async () => {
    const pid = zk.servers[0]!.pid!;
    const before = zooKeeperFaults();
    process.kill(pid, 'SIGSTOP');
    try {
      const err = await ZkClient.connect({ ...options(zk.connectString), connectTimeoutMs: 300 }).catch((e: unknown) => e);
      expect(isZkError(err, 'TIMEOUT'), `the connect ended with: ${String(err)}`).toBe(true);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // Unguarded, the library throws "Unknown code: <session id bits>" from its socket's
    // data handler here, and vitest fails this test with an uncaught exception.
    await waitFor('the late connect response', () => (zooKeeperFaults() > before ? true : undefined), 10_000);
    const c = await ZkClient.connect(options(zk.connectString));
    c.close();
  }, 30_000);

  it('a reply with an error code the library does not know ends the connection; the caller gets an error', async () => {
    const { server, port } = await misbehavingServer(123_456_789);
    try {
      const before = zooKeeperFaults();
      const c = await ZkClient.connect(options(`127.0.0.1:${port}`));
      try {
        const err = await c.exists('/').catch((e: unknown) => e);
        expect(isZkError(err)).toBe(true);
        expect(zooKeeperFaults()).toBeGreaterThan(before);
      } finally {
        c.close();
      }
    } finally {
      server.close();
    }
  });
});

describe('ZkSession liveness', () => {
  it('takes a frozen server (half-open) as a lost session by its own deadline, then makes a new session', async () => {
    const reports: SessionReport[] = [];
    const s = new ZkSession({ connectString: zk.connectString, sessionTimeoutMs: 1500, logger: createLogger({}, { level: 'error' }), onState: (r) => reports.push(r) });
    s.start();
    try {
      await waitFor('a session', () => reports.find((r) => r.state === 'connected'));
      const first = reports.at(-1)!.sessionId;
      const pid = zk.servers[0]!.pid!;
      const frozenAt = performance.now();
      process.kill(pid, 'SIGSTOP');
      try {
        await waitFor('suspended', () => reports.find((r) => r.state === 'suspended'), 5000, 5);
        await waitFor('lost', () => reports.find((r) => r.state === 'lost'), 5000, 5);
        const lostAfter = performance.now() - frozenAt;
        // deadline = last answered heartbeat sent + 1500 - 150 ms; heartbeats every 100 ms
        expect(lostAfter).toBeGreaterThan(1150);
        expect(lostAfter).toBeLessThan(1500);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      const again = await waitFor('a new session', () => reports.filter((r) => r.state === 'connected').at(1), 10_000);
      expect(again.sessionId).not.toBe(first);
      expect(reports.map((r) => r.state)).toEqual(['connected', 'suspended', 'lost', 'connected']);
    } finally {
      s.stop();
    }
  }, 30_000);
});
