// The ZooKeeper adapter against a real server: typed results and errors, a timeout on
// connect, and liveness of its own: a frozen server (socket open, nothing answered, the
// half-open case the library never reports) is taken as a lost session by the deadline,
// and a new session follows when the server answers again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.js';
import { isZkError, ZkClient } from '../../shared/zookeeper/client.js';
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
