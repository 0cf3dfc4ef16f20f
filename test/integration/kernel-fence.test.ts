// The fence's kernel-enforced lease (nftables through libnftables, in-process), in
// namespaces: a client reaches the VIP only while its element is live, by ARP and by IP
// (the client's neighbour entry pinned, so ARP cannot hide a failure of the IP rule), and
// stops reaching it when the element times out, with no process's help.
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withTopology, type Topology } from '../harness/netns.js';
import { ROOT } from '../harness/node.js';

const VIP = '10.77.0.100';
const fixture = join(ROOT, 'test/fixtures/kernel-fence.ts');

/** Whether the client gets an answer from the VIP: ARP asked afresh, or the neighbour entry pinned to n1's MAC. */
async function reaches(t: Topology, how: 'arp' | 'pinned'): Promise<boolean> {
  const c = t.hosts.c!;
  if (how === 'arp') await t.exec('c', ['ip', 'neigh', 'flush', 'dev', c.ifname]);
  else {
    const mac = (await t.exec('n1', ['cat', `/sys/class/net/${t.hosts.n1!.ifname}/address`])).stdout.trim();
    await t.exec('c', ['ip', 'neigh', 'replace', VIP, 'lladdr', mac, 'dev', c.ifname, 'nud', 'permanent']);
  }
  const r = await t.exec('c', ['ping', '-c', '1', '-W', '0.3', VIP], { allowFail: true });
  if (how === 'pinned') await t.exec('c', ['ip', 'neigh', 'del', VIP, 'dev', c.ifname], { allowFail: true });
  return r.code === 0;
}

const both = async (t: Topology) => [await reaches(t, 'arp'), await reaches(t, 'pinned')];

describe('kernel fence (nftables)', () => {
  it('a VIP answers only while its element lives; expiry, withdrawal and a flushed ruleset', async () => {
    await withTopology({ hosts: ['n1', 'c'] }, async (t) => {
      await t.exec('n1', ['ip', 'addr', 'add', `${VIP}/32`, 'dev', t.hosts.n1!.ifname]);
      expect(await both(t), 'no fence yet: reachable').toEqual([true, true]);
      const child = t.spawn('n1', [process.execPath, '--import', 'tsx', fixture], { stdio: ['pipe', 'pipe', 'inherit'], cwd: ROOT });
      const answers = createInterface({ input: child.proc.stdout! })[Symbol.asyncIterator]();
      const send = async (line: string) => {
        child.proc.stdin!.write(line + '\n');
        return String((await answers.next()).value);
      };
      expect(await send(`install ${VIP}`)).toBe('ok');
      expect(await both(t), 'installed, nothing live').toEqual([false, false]);

      expect(await send(`live ${VIP} 1500`)).toBe('ok');
      const liveAt = performance.now();
      expect(await both(t), 'live').toEqual([true, true]);
      await new Promise((r) => setTimeout(r, Math.max(0, liveAt + 1600 - performance.now())));
      expect(await both(t), 'timed out, no process acting').toEqual([false, false]);

      expect(await send(`live ${VIP} 60000`)).toBe('ok');
      expect(await send(`live ${VIP} 60000`)).toBe('ok'); // renewing an element that exists
      expect(await both(t)).toEqual([true, true]);
      expect(await send(`live ${VIP} 400`)).toBe('ok'); // a renewal shortens too: the new timeout replaces the old
      await new Promise((r) => setTimeout(r, 500));
      expect(await both(t), 'shortened and timed out').toEqual([false, false]);

      expect(await send(`live ${VIP} 60000`)).toBe('ok');
      expect(await send(`withdraw ${VIP}`)).toBe('ok');
      expect(await both(t), 'withdrawn').toEqual([false, false]);
      expect(await send(`withdraw ${VIP}`)).toBe('ok'); // withdrawing what is not live is no error

      await t.exec('n1', ['nft', 'flush', 'ruleset']);
      const failed = await send(`live ${VIP} 60000`);
      expect(failed).toMatch(/^error cannot renew the kernel fence: .*No such file or directory/);
      expect(await send('ready')).toBe('ready false');
      expect(await send(`install ${VIP}`)).toBe('ok');
      expect(await send('ready')).toBe('ready true');
      expect(await both(t), 'installed again, nothing live').toEqual([false, false]);
      expect(await send('remove')).toBe('ok');
      expect(await both(t), 'tables removed').toEqual([true, true]);
      child.proc.stdin!.end();
    });
  }, 60_000);
});
