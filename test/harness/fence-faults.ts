// The fence's fault suite (safety by an independent observer, liveness within the
// documented bound), run once per profile: fence.test.ts with the defaults (session 1.5 s,
// VRRPv2 adverts 1 s), fence-fast.test.ts with `profile: fast` (session 0.4 s, VRRPv3 100 ms).
//
// Liveness bound (README): after a fault that leaves some node able to hold the lease, the
// VIP answers again from it within session_timeout + 1 s (session expiry of the old holder,
// VRRP's takeover and the bind run in parallel).
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { FAST_PROFILE } from '../../shared/config/profile.js';
import { LATE_KEY, summarize } from '../../shared/eventlog/index.js';
import { startSettledCluster, timeline, type FencedCluster, type FencedClusterOptions, type ServiceName } from './fenced.js';
import { longestOutage } from '../../lab/observers.js';
import { waitFor } from './process.js';
import { waitForQuorum } from './zookeeper.js';

const DEFAULT_SESSION_S = 1.5;
const ROUNDS = 2;
const clock = () => performance.timeOrigin + performance.now();

/** The observers' verdict: never two holders, and the samples close enough around every change to say so. */
export function expectSafe(k: FencedCluster): void {
  expect(k.overlaps(), 'two nodes held the VIP at once').toEqual([]);
  expect(k.bugs(), 'services reported bugs').toEqual([]);
  // Samples are 2 ms apart; on 2 busy cores (ZooKeeper restarting, other test files) a
  // rare stall of the observer reaches ~100 ms. Only a stall around a VIP coming or going
  // can hide an overlap, so that is what is bounded.
  expect(k.transitionUncertaintyMs(), 'observer sampling gap around a VIP change (ms)').toBeLessThan(100);
}

/** The PID of the fence's dead man's switch (a child of the fence: native/build/Release/vigil-deadman). */
function deadmanPid(fencePid: number): number | undefined {
  const children = readFileSync(`/proc/${fencePid}/task/${fencePid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return children.find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('vigil-deadman');
    } catch {
      return false;
    }
  });
}

export function faultSuite(profile: 'default' | 'fast'): void {
  const sessionS = profile === 'fast' ? FAST_PROFILE.session_timeout : DEFAULT_SESSION_S;
  const boundMs = sessionS * 1000 + 1000;
  let c: FencedCluster | undefined;
  afterEach(async () => {
    await c?.destroy();
    c = undefined;
  });

  async function cluster(o: FencedClusterOptions = {}): Promise<FencedCluster> {
    c = await startSettledCluster({ profile, ...o });
    return c;
  }

  const zkAddress = (k: FencedCluster) => k.t.hosts.zk!.address;
  const peerAddress = (k: FencedCluster, n: string) => k.t.hosts[n]!.address;

  /** The VIP leaves `from` and answers from another node within the liveness bound; returns that node and the time it took. */
  async function failsOver(k: FencedCluster, from: string, faultAt: number): Promise<{ node: string; ms: number }> {
    const node = await waitFor(`the VIP to answer from a node other than ${from}`, () => {
      const a = k.answers().find((x) => x.t >= faultAt && x.answer !== null && x.answer !== from);
      return a?.answer ?? undefined;
    }, boundMs + 2000, 10).catch((err: Error) => {
      throw new Error(`${err.message}; what happened when: ${timeline(k, faultAt)}`);
    });
    const first = k.answers().find((x) => x.t >= faultAt && x.answer === node)!;
    const ms = first.t - faultAt;
    expect(ms, `VIP answering again (ms after the fault); what happened when: ${timeline(k, faultAt)}`).toBeLessThan(boundMs);
    return { node, ms };
  }

  /**
   * A round of a cut between the peers starts with n1 holding the VIP: a stall of n1's fence
   * longer than its session (seen once on a busy CI machine: 1 s, with the fast profile's
   * 0.4 s) hands the lease to n2 between rounds, safely, and n1 takes it back by preemption.
   */
  async function heldByN1(k: FencedCluster): Promise<void> {
    await k.settled('n1', 20_000);
  }

  const lockLeaves = (k: FencedCluster, node: string) => k.events(node, ['fence.lease_candidate']).filter((e) => (e.data as { action: string }).action === 'left');

  /** Waits until `node` has left the lock `times` times (its VRRP instance heard the master again). */
  async function leftLock(k: FencedCluster, node: string, times: number): Promise<void> {
    await waitFor(`${node} to leave the lock`, () => lockLeaves(k, node).at(times - 1), 20_000);
  }

  /** How often n2 was denied the lease, or left the lock, so far: a round waits for one more (not for the round's index: a hand-over between rounds may add its own). */
  const deniedSoFar = (k: FencedCluster) => k.events('n2', ['fence.lease_denied']).length;
  const leftSoFar = (k: FencedCluster) => lockLeaves(k, 'n2').length;

  /** Rounds of: signal n1's services, see n2 take over in time (after `check`), restart them, n1 back. */
  async function signalRounds(k: FencedCluster, which: ServiceName[], signal: NodeJS.Signals, check?: (at: number) => Promise<void>): Promise<void> {
    for (let round = 0; round < ROUNDS; round++) {
      const at = clock();
      await k.signal('n1', which, signal);
      await check?.(at);
      expect((await failsOver(k, 'n1', at)).node).toBe('n2');
      k.start('n1', which);
      await k.settled('n1'); // preempts back
    }
    expectSafe(k);
  }

  /** Rounds of: stop (SIGSTOP) these processes of n1, see n2 take over in time, let them go on (SIGCONT), n1 back. */
  async function hangRounds(k: FencedCluster, pids: () => number[], check: (at: number) => void): Promise<void> {
    for (let round = 0; round < ROUNDS; round++) {
      const hung = pids();
      const at = clock();
      for (const pid of hung) process.kill(pid, 'SIGSTOP');
      try {
        expect((await failsOver(k, 'n1', at)).node).toBe('n2');
        await new Promise((r) => setTimeout(r, 300)); // n2 holds it for a while
        check(at);
      } finally {
        for (const pid of hung) process.kill(pid, 'SIGCONT');
      }
      await k.settled('n1', 30_000); // it finds its session gone, starts afresh, preempts back
    }
    expect(k.deaths(), 'a hung and resumed service lives on').toEqual([]);
  }

  /** Rounds of: cut n1 from ZooKeeper with these rules, see n2 take over in time, heal, n1 back. */
  async function zkCutRounds(k: FencedCluster, rules: { input?: string[]; output?: string[] }): Promise<void> {
    for (let round = 0; round < ROUNDS; round++) {
      const at = clock();
      const heal = await k.firewall('n1', rules);
      expect((await failsOver(k, 'n1', at)).node).toBe('n2');
      const lost = k.events('n1', ['fence.zk_state']).find((e) => (e.data as { state: string }).state === 'lost' && e.ts >= at);
      expect(lost, 'n1 records the loss of its session').toBeDefined();
      await heal();
      await k.settled('n1', 30_000);
    }
    expectSafe(k);
  }

  const label = profile === 'fast' ? 'profile: fast (session 0.4 s, VRRPv3 100 ms)' : 'defaults (session 1.5 s, VRRPv2 1 s)';
  describe(`fence, ${label}: safety under faults (independent observer), liveness within the bound`, () => {
    it('graceful stop hands the VIP over without overlap, in order: unbound before the candidate is deleted', async () => {
      const k = await cluster();
      await signalRounds(k, ['vrrp', 'fence'], 'SIGTERM');
      const n1 = k.events('n1', ['vip.bound', 'vip.unbound', 'fence.lease_candidate', 'fence.lease_acquired', 'fence.lease_lost']);
      const first = n1.find((e) => e.type === 'vip.unbound' && e.correlation !== null)!;
      const tenure = n1.filter((e) => e.correlation === first.correlation).map((e) => `${e.type}${e.type === 'fence.lease_candidate' ? `:${(e.data as { action: string }).action}` : ''}`);
      expect(tenure).toEqual(['fence.lease_candidate:joined', 'fence.lease_acquired', 'vip.bound', 'vip.unbound', 'fence.lease_candidate:left', 'fence.lease_lost']);
      // No decision on a stale view: once its vrrp recorded STOPPED, n1 gets the VIP nowhere until
      // its vrrp runs again, as the observer sees it. (In log order a vip.bound may follow the
      // STOPPED: a bind decided and made just before the stop, whose record is appended after it.)
      const n1All = k.events('n1', ['vrrp.state_changed', 'service.started', 'service.stopped', 'vip.bound', 'vip.unbound', 'fence.lease_acquired', 'fence.zk_state']);
      const story = () => n1All.map((e) => `${e.seq}@${e.ts % 100_000}${LATE_KEY in (e.data as object) ? ' (late)' : ''} ${e.type}: ${summarize(e)}`).join(' | ');
      const margin = k.transitionUncertaintyMs();
      n1All.forEach((e, i) => {
        if (e.type !== 'vrrp.state_changed' || (e.data as { to: string }).to !== 'STOPPED') return;
        const restarted = n1All.slice(i).find((x) => x.type === 'service.started' && x.subject === 'service:vrrp')?.ts ?? Infinity;
        const appeared = k.presence().filter((p) => p.node === 'n1' && p.from > e.ts + margin && p.from < restarted);
        expect(appeared.map((p) => Math.round(p.from - e.ts)), `the VIP appeared on n1 (ms after its vrrp recorded STOPPED at seq ${e.seq}); n1's log: ${story()}`).toEqual([]);
      });
    }, 120_000);

    it('SIGKILL of the holder\'s fence process', async () => {
      await signalRounds(await cluster(), ['fence'], 'SIGKILL');
    }, 120_000);

    it('SIGKILL of all the holder\'s services: its VIP goes by the lease deadline without any vigil service', async () => {
      const k = await cluster();
      await signalRounds(k, ['vrrp', 'fence'], 'SIGKILL', async (at) => {
        await waitFor('the VIP to vanish from n1 without any vigil service', () => (k.holders().includes('n1') ? undefined : true), 3000, 5);
        const gone = k.presence().filter((p) => p.node === 'n1').at(-1)!.to;
        // the dead man's switch fires at the lease deadline (session - max(100 ms, session / 10) after the last answered heartbeat)
        expect(gone - at).toBeLessThan(sessionS * 1000);
      });
    }, 120_000);

    it('SIGSTOP of the holder\'s fence (hung): VRRP faults, its dead man\'s switch removes the VIP, and once resumed it gives way', async () => {
      const k = await cluster();
      await hangRounds(k, () => [k.pid('n1', 'fence')!], () => expectSafe(k));
      expectSafe(k);
    }, 120_000);

    it('SIGSTOP of the holder\'s fence and its dead man\'s switch: the kernel fence alone stops it answering before the lease moves', async () => {
      const k = await cluster({ pinnedClients: true });
      await hangRounds(k, () => {
        const fence = k.pid('n1', 'fence')!;
        const deadman = deadmanPid(fence);
        expect(deadman, 'the fence\'s dead man\'s switch').toBeDefined();
        return [fence, deadman!];
      }, (at) => {
        // Who answered for the VIP, each director asked at its own MAC: never both.
        expect(k.answeringOverlaps(), 'two directors answered for the VIP at once').toEqual([]);
        const n2 = k.answering().find((p) => p.node === 'n2' && p.from >= at);
        expect(n2, 'n2 answering through its pinned client').toBeDefined();
        // The address may outlive the lease (its kernel lifetime is whole seconds): what
        // stopped n1 answering is the kernel fence, not the address going.
        if (profile === 'fast') expect(k.presence().some((p) => p.node === 'n1' && p.from < at && p.to > n2!.from), 'n1 still had the address when n2 answered').toBe(true);
      });
    }, 120_000);

    it('holder cut from ZooKeeper (connections reset), not from its peer', async () => {
      const k = await cluster();
      await zkCutRounds(k, { input: [`ip saddr ${zkAddress(k)} drop`], output: [`ip daddr ${zkAddress(k)} tcp flags & rst == 0 reject with tcp reset`] });
    }, 120_000);

    it('half-open ZooKeeper connection on the holder (traffic silently dropped, socket open)', async () => {
      const k = await cluster();
      await zkCutRounds(k, { input: [`ip saddr ${zkAddress(k)} drop`], output: [`ip daddr ${zkAddress(k)} drop`] });
    }, 120_000);

    it('asymmetric: the holder can send to ZooKeeper but hears nothing back', async () => {
      const k = await cluster();
      await zkCutRounds(k, { input: [`ip saddr ${zkAddress(k)} drop`] });
    }, 120_000);

    it('nodes cut from each other but not from ZooKeeper: both VRRP MASTER, one lease, the other denied', async () => {
      const k = await cluster();
      for (let round = 0; round < ROUNDS; round++) {
        await heldByN1(k);
        const [denials, left] = [deniedSoFar(k), leftSoFar(k)];
        const heal1 = await k.firewall('n1', { input: [`ip saddr ${peerAddress(k, 'n2')} drop`], output: [`ip daddr ${peerAddress(k, 'n2')} drop`] });
        const heal2 = await k.firewall('n2', { input: [`ip saddr ${peerAddress(k, 'n1')} drop`], output: [`ip daddr ${peerAddress(k, 'n1')} drop`] });
        const denied = await waitFor('n2 to be denied the lease', () => k.events('n2', ['fence.lease_denied']).at(denials), 20_000);
        expect(denied.data).toMatchObject({ holder: 'n1' });
        expect(k.holders()).toEqual(['n1']);
        await heal1();
        await heal2();
        await leftLock(k, 'n2', left + 1);
      }
      expectSafe(k);
    }, 120_000);

    it('asymmetric between peers: n2 stops hearing n1 (both MASTER), the lease stays with n1', async () => {
      const k = await cluster();
      for (let round = 0; round < ROUNDS; round++) {
        await heldByN1(k);
        const [denials, left] = [deniedSoFar(k), leftSoFar(k)];
        const heal = await k.firewall('n2', { input: [`ip saddr ${peerAddress(k, 'n1')} ip protocol vrrp drop`] });
        const denied = await waitFor('n2 to be denied the lease', () => k.events('n2', ['fence.lease_denied']).at(denials), 20_000);
        expect(denied.data).toMatchObject({ holder: 'n1' });
        expect(k.holders()).toEqual(['n1']);
        await heal();
        await leftLock(k, 'n2', left + 1);
      }
      expectSafe(k);
    }, 120_000);

    it(profile === 'fast'
      ? 'ZooKeeper leader killed in a 3-node ensemble: never twice; the VIP may move during the election (a 0.4 s session does not outlast it) but answers again within the bound'
      : 'ZooKeeper leader killed in a 3-node ensemble: the VIP stays bound, never twice', async () => {
      const k = await cluster({ zkServers: 3 });
      const from = clock();
      for (let round = 0; round < ROUNDS; round++) {
        const leader = await waitFor('a ZooKeeper leader', () => k.zk.leader());
        await leader.kill();
        await new Promise((r) => setTimeout(r, 3000));
        await leader.start();
        await k.settled(undefined, 30_000);
      }
      expect(longestOutage(k.answers(), from), `longest time without an answer (ms): ${timeline(k, from)}`).toBeLessThan(boundMs);
      expectSafe(k);
    }, 150_000);

    it('whole ensemble stopped: the VIP is released by the deadline and comes back with ZooKeeper', async () => {
      const k = await cluster();
      for (let round = 0; round < ROUNDS; round++) {
        const at = clock();
        for (const s of k.zk.servers) await s.kill();
        await waitFor('the VIP to be released everywhere', () => (k.holders().length === 0 ? true : undefined), boundMs, 5);
        const released = Math.max(...k.presence().map((p) => p.to).filter(Number.isFinite));
        expect(released - at).toBeLessThan(sessionS * 1000);
        await new Promise((r) => setTimeout(r, 500));
        for (const s of k.zk.servers) await s.start();
        await waitForQuorum(k.zk);
        const serving = clock();
        await k.settled(undefined, 30_000);
        // Under load the fence can win the lease back before waitForQuorum's poll (srvr run in
        // the ZooKeeper namespace) sees the quorum, so the first answer may precede `serving`.
        // The client reports an attempt once it ended, in the order they began (an unanswered
        // one at its timeout): the report of the answer can follow settled.
        const back = await waitFor('an answer after the release', () => k.answers().find((a) => a.t > released && a.answer !== null), 10_000, 10);
        expect(back.t - serving, 'VIP back after ZooKeeper serves again (ms)').toBeLessThan(boundMs);
      }
      expectSafe(k);
    }, 150_000);
  });
}
