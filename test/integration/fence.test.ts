// The fence service with real ZooKeeper, in namespaces: leases and binding as recorded and
// published, and (test/harness/fence-faults.ts) safety under faults as an independent
// observer sees it, with the defaults; fence-fast.test.ts runs the faults with profile: fast.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFencedCluster, startSettledCluster, timeline, VIP, type FencedCluster } from '../harness/fenced.js';
import { expectSafe, faultSuite } from '../harness/fence-faults.js';
import { threadNices } from '../harness/nice.js';
import { waitFor } from '../harness/process.js';
import { longestOutage } from '../../lab/observers.js';

const SESSION_S = 1.5;

let c: FencedCluster | undefined;
afterEach(async () => {
  await c?.destroy();
  c = undefined;
});

async function cluster(): Promise<FencedCluster> {
  c = await startSettledCluster({ sessionTimeout: SESSION_S });
  return c;
}

describe('fence: leases and binding', () => {
  it('binds the VIP on the VRRP master under a lease, published for zkCli.sh, and records why', async () => {
    const k = await cluster();
    await k.settled('n1');
    const owner = JSON.parse(/^\{.*\}$/m.exec(await k.zk.cli(['get', '/vigil/test/vips/web/owner']))![0]) as Record<string, unknown>;
    expect(owner).toMatchObject({ node: 'n1', addresses: [`${VIP}/32 dev ${k.t.hosts.n1!.ifname}`] });
    expect(await k.zk.cli(['ls', '/vigil/test/nodes'])).toMatch(/\[n1, n2\]|\[n2, n1\]/);
    const bound = k.events('n1', ['vip.bound']).at(-1)!;
    expect(bound.data).toMatchObject({ group: 'web', epoch: owner.epoch, valid_lft_s: 1 });
    const acquired = k.events('n1', ['fence.lease_acquired']).at(-1)!;
    const master = k.events('n1', ['vrrp.state_changed']).filter((e) => (e.data as { to: string }).to === 'MASTER').at(-1)!;
    // causation walks back to the VRRP transition; one correlation for the tenure
    expect(acquired.causation).toBe(master.seq);
    expect(bound.correlation).toBe(acquired.correlation);
    expect(bound.correlation).toBe(`vip:web@${String(owner.epoch)}`);
    // the other node is BACKUP and never joined
    expect(k.events('n2', ['vip.bound'])).toEqual([]);
    // vrrp and fence run ahead of ordinary processes (global_defs.vrrp_priority, -10), every thread of them
    for (const s of ['vrrp', 'fence'] as const) expect(threadNices(k.pid('n1', s)!), `${s}'s threads' nice values`).toEqual([-10]);
    expectSafe(k);
  }, 60_000);

  it('a VIP removed by someone else is recorded and put back; one added by someone else is recorded and removed', async () => {
    const k = await cluster();
    await k.t.exec('n1', ['ip', 'addr', 'del', `${VIP}/32`, 'dev', k.t.hosts.n1!.ifname]);
    await waitFor('the removal to be recorded', () => k.events('n1', ['fence.address_observed']).find((e) => (e.data as { change: string }).change === 'removed'));
    await k.settled('n1');
    expect(k.events('n1', ['fence.address_observed']).at(-1)!.data).toMatchObject({ change: 'removed', repaired: true, address: VIP });

    await k.t.exec('n2', ['ip', 'addr', 'add', `${VIP}/32`, 'dev', k.t.hosts.n2!.ifname]);
    const added = await waitFor('the foreign add to be recorded', () => k.events('n2', ['fence.address_observed']).find((e) => (e.data as { change: string }).change === 'added'));
    expect(added.data).toMatchObject({ repaired: true, address: VIP });
    await waitFor('n2 to drop the VIP', () => (k.holders().includes('n2') ? undefined : true));
    await k.settled('n1');
  }, 60_000);

  it('at start-up removes a VIP this node holds no lease for', async () => {
    c = await startFencedCluster({ sessionTimeout: SESSION_S });
    await c.t.exec('n2', ['ip', 'addr', 'add', `${VIP}/32`, 'dev', c.t.hosts.n2!.ifname]);
    c.start('n2', ['fence']); // no vrrp: n2 is never MASTER
    const k = c;
    const unbound = await waitFor('the start-up cleanup', () => k.events('n2', ['vip.unbound'])[0]);
    expect(unbound.data).toMatchObject({ epoch: 0, reason: 'start-up: this node holds no lease' });
    await waitFor('the VIP to be gone from n2', () => (k.holders().length === 0 ? true : undefined));
  }, 60_000);

  it('the holder\'s nftables ruleset flushed by hand: the fence says so, installs its kernel fence again and the VIP answers on', async () => {
    const k = await cluster();
    await k.settled('n1');
    const at = performance.timeOrigin + performance.now();
    await k.t.exec('n1', ['nft', 'flush', 'ruleset']);
    const live = async () => (await k.t.exec('n1', ['nft', 'list', 'set', 'inet', 'vigil_fence', 'live'], { allowFail: true })).stdout;
    await waitFor('the VIP live in the kernel fence again', async () => ((await live()).includes(VIP) ? true : undefined), 10_000, 50);
    await k.settled('n1');
    expect(readFileSync(join(k.dir, 'n1-fence.log'), 'utf8')).toMatch(/kernel fence \(nftables\) failed/);
    // A renewal finds the tables gone (at most a heartbeat, 0.5 s, unfenced), installs them
    // afresh with nothing live, and the next answered heartbeat makes the VIP live again.
    expect(longestOutage(k.answers(), at), `longest time without an answer (ms): ${timeline(k, at)}`).toBeLessThan(1500);
    expect(k.holders()).toEqual(['n1']);
    expectSafe(k);
  }, 60_000);
});

faultSuite('default');
