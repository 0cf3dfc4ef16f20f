// The harness starts real ZooKeeper, NATS and namespaces, and leaves nothing behind.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startNats } from '../harness/nats.js';
import { createTopology, listOurNamespaces, withTopology } from '../harness/netns.js';
import { ROOT } from '../harness/node.js';
import { startChild } from '../harness/process.js';
import { recordedDirs, recordedProcesses } from '../harness/state.js';
import { tempDir } from '../harness/tmp.js';
import { startZooKeeper, waitForQuorum, ZKCLI, zkMode } from '../harness/zookeeper.js';

const run = promisify(execFile);

// These tests check that nothing is left behind, so VIGIL_KEEP_TMP (keep test folders for
// debugging) does not apply to them or to the demo they start.
delete process.env.VIGIL_KEEP_TMP;
const alive = (pid: number) => existsSync(`/proc/${pid}`);

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function zkCli(server: string, ...cmd: string[]): Promise<string> {
  const r = await run(ZKCLI, ['-server', server, ...cmd], { timeout: 30_000, env: { ...process.env, ZOO_LOG4J_PROP: 'ERROR,CONSOLE' } });
  return r.stdout;
}

/** Nothing of this test's is left: no recorded process of these pids, no recorded dir of these paths. */
function assertGone(pids: number[], dirs: string[]) {
  for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
  for (const d of dirs) expect(existsSync(d), d).toBe(false);
  const leftPids = new Set(recordedProcesses().map((p) => p.pid));
  for (const pid of pids) expect(leftPids.has(pid)).toBe(false);
  const leftDirs = new Set(recordedDirs());
  for (const d of dirs) expect(leftDirs.has(d)).toBe(false);
}

describe('ZooKeeper harness', () => {
  it('starts a standalone server that zkCli.sh can use, and stops it cleanly', async () => {
    const zk = await startZooKeeper();
    const [server] = zk.servers;
    const pid = server!.pid!;
    expect(await zkMode(server!.clientPort)).toBe('standalone');
    await zkCli(zk.connectString, 'create', '/vigil', '{"ok":true}');
    expect(await zkCli(zk.connectString, 'ls', '/')).toMatch(/\[vigil, zookeeper\]/);
    await zk.stop();
    assertGone([pid], [server!.dir]);
    expect(await portOpen(server!.clientPort)).toBe(false);
  });

  it('starts a 3-node ensemble, survives the leader being killed, and stops cleanly', async () => {
    const zk = await startZooKeeper({ servers: 3 });
    const pids = zk.servers.map((s) => s.pid!);
    const modes = await Promise.all(zk.servers.map((s) => zkMode(s.clientPort)));
    expect(modes.sort()).toEqual(['follower', 'follower', 'leader']);
    await zkCli(zk.connectString, 'create', '/survives', 'x');
    const leader = (await zk.leader())!;
    await leader.kill();
    await waitForQuorum(zk);
    await expect.poll(async () => (await zk.leader())?.id, { timeout: 20_000, interval: 100 }).not.toBe(undefined);
    expect((await zk.leader())!.id).not.toBe(leader.id);
    const other = zk.servers.find((s) => s.isRunning())!;
    expect(await zkCli(`127.0.0.1:${other.clientPort}`, 'get', '/survives')).toMatch(/^x$/m);
    await leader.start(); // rejoins as a follower
    await waitForQuorum(zk);
    expect(await zkMode(leader.clientPort)).toBe('follower');
    const restartedPid = leader.pid!;
    await zk.stop();
    assertGone([...pids, restartedPid], zk.servers.map((s) => s.dir));
  });
});

describe('NATS harness', () => {
  it('starts nats-server with JetStream on a free loopback port, restarts it on the same port, and stops it', async () => {
    const nats = await startNats();
    const talk = async () => {
      // The NATS wire protocol by hand: INFO, then a message to ourselves.
      const s = connect({ host: '127.0.0.1', port: nats.port });
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      await expect.poll(() => got, { timeout: 5000 }).toMatch(/^INFO /);
      expect(JSON.parse(got.slice(5, got.indexOf('\r\n')))).toMatchObject({ jetstream: true, host: '127.0.0.1' });
      s.write('CONNECT {"verbose":false}\r\nSUB vigil.t 1\r\nPUB vigil.t 5\r\nhello\r\nPING\r\n');
      await expect.poll(() => got, { timeout: 5000 }).toMatch(/MSG vigil\.t 1 5\r\nhello\r\n/);
      s.destroy();
    };
    await talk();
    const port = nats.port;
    const firstPid = nats.pid!;
    await nats.stopServer();
    expect(await portOpen(port)).toBe(false);
    await nats.startServer();
    expect(nats.port).toBe(port);
    await talk();
    const secondPid = nats.pid!;
    await nats.stop();
    assertGone([firstPid, secondPid], []);
    expect(await portOpen(port)).toBe(false);
  });
});

describe('network namespace topology', () => {
  it('connects hosts through a switch namespace, cuts a link, and deletes everything', async () => {
    const t = await createTopology({ hosts: ['n1', 'n2'] });
    try {
      expect(t.id).toMatch(/^vg[0-9a-f]{4}$/);
      expect(await listOurNamespaces()).toEqual(expect.arrayContaining([`${t.id}-sw`, `${t.id}-n1`, `${t.id}-n2`]));
      expect((await t.exec('n1', ['ping', '-c', '1', '-W', '2', t.hosts.n2!.address])).code).toBe(0);
      expect((await t.exec('n1', ['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim()).toBe('0');
      await t.setLink('n2', false);
      expect((await t.exec('n1', ['ping', '-c', '1', '-W', '1', t.hosts.n2!.address], { allowFail: true })).code).not.toBe(0);
      await t.setLink('n2', true);
      expect((await t.exec('n1', ['ping', '-c', '1', '-W', '2', t.hosts.n2!.address])).code).toBe(0);
      const sleeper = t.spawn('n2', ['sleep', '600']);
      expect(alive(sleeper.pid)).toBe(true);
    } finally {
      await t.destroy();
    }
    const left = await listOurNamespaces();
    expect(left.filter((n) => n.startsWith(t.id))).toEqual([]);
  });

  it('deletes the namespaces when the test body throws', async () => {
    let id = '';
    await expect(withTopology({ hosts: ['a'] }, async (t) => {
      id = t.id;
      throw new Error('test failed midway');
    })).rejects.toThrow('test failed midway');
    expect((await listOurNamespaces()).filter((n) => n.startsWith(id))).toEqual([]);
  });
});

describe('npm run test:clean', () => {
  it('removes what an interrupted run left: processes, namespaces, folders', async () => {
    // A registry and a namespace prefix of this test's own, so that the other test files
    // running at the same time keep their servers and namespaces.
    const registry = tempDir('registry');
    const saved = process.env.VIGIL_TEST_STATE;
    process.env.VIGIL_TEST_STATE = registry.path;
    const t = await createTopology({ hosts: ['x'] });
    const orphan = startChild(['sleep', '600']); // as if the test runner had died
    const dir = tempDir('orphan');
    process.env.VIGIL_TEST_STATE = saved ?? '';
    const r = await run('npm', ['run', '--silent', 'test:clean'], {
      cwd: ROOT, timeout: 60_000, env: { ...process.env, VIGIL_TEST_STATE: registry.path, VIGIL_TEST_NS_PREFIX: t.id },
    });
    registry.remove();
    expect(r.stdout).toMatch(new RegExp(`killed ${orphan.pid}`));
    expect(r.stdout).toMatch(new RegExp(`deleted network namespace ${t.id}-sw`));
    await orphan.exited;
    expect(alive(orphan.pid)).toBe(false);
    expect(existsSync(dir.path)).toBe(false);
    expect((await listOurNamespaces()).filter((n) => n.startsWith(t.id))).toEqual([]);
  });
});
