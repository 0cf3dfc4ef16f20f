// The fence's in-process renewal of its VIPs' kernel lifetimes (rtnetlink, native/
// address_lifetime.c), in a namespace: what `ip address replace ... valid_lft` does, read
// back with ip.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addressWasAbsent } from '../../shared/iproute.js';
import { withTopology, type Topology } from '../harness/netns.js';
import { ROOT } from '../harness/node.js';

const fixture = join(ROOT, 'test/fixtures/address-lifetime.ts');

interface IpAddr { local: string; prefixlen: number; label?: string; valid_life_time: number; preferred_life_time: number }

async function renew(t: Topology, addresses: object[], lifetimeS: number): Promise<string[]> {
  const r = await t.exec('n1', [process.execPath, '--import', 'tsx', fixture, JSON.stringify(addresses), String(lifetimeS)]);
  return JSON.parse(r.stdout) as string[];
}

async function addresses(t: Topology): Promise<IpAddr[]> {
  const r = await t.exec('n1', ['ip', '-j', '-4', 'address', 'show', 'dev', t.hosts.n1!.ifname]);
  return (JSON.parse(r.stdout) as { addr_info: IpAddr[] }[])[0]!.addr_info;
}

describe('address lifetimes renewed over rtnetlink', () => {
  it('renews, shortens and puts back (with its label) as ip address replace does; failures in words', async () => {
    await withTopology({ hosts: ['n1'] }, async (t) => {
      const ifname = t.hosts.n1!.ifname;
      const vip = { address: '10.77.0.100', prefix: 32, ifname, label: `${ifname}:vip` };
      await t.exec('n1', ['ip', 'address', 'replace', '10.77.0.100/32', 'dev', ifname, 'label', vip.label, 'valid_lft', '5', 'preferred_lft', '5']);

      expect(await renew(t, [vip], 60)).toEqual([]);
      let a = (await addresses(t)).find((x) => x.local === vip.address);
      expect(a).toMatchObject({ prefixlen: 32, label: vip.label });
      expect(a!.valid_life_time).toBeGreaterThan(55);
      expect(a!.preferred_life_time).toBeGreaterThan(55);

      expect(await renew(t, [vip], 1)).toEqual([]); // a renewal shortens too
      a = (await addresses(t)).find((x) => x.local === vip.address);
      expect(a!.valid_life_time).toBeLessThanOrEqual(1);
      await new Promise((r) => setTimeout(r, 2500));
      expect((await addresses(t)).map((x) => x.local), 'the kernel removed it at the end of its lifetime').not.toContain(vip.address);
      // the fence's unbind then deletes an address that is not there: ip's complaint is read as "already gone"
      const del = await t.exec('n1', ['ip', 'address', 'del', '10.77.0.100/32', 'dev', ifname], { allowFail: true });
      expect(del.code).not.toBe(0);
      expect(addressWasAbsent(del.stderr), del.stderr).toBe(true);
      expect(addressWasAbsent('Error: either "local" is duplicate, or "dev" is garbage.')).toBe(false);

      expect(await renew(t, [vip], 30)).toEqual([]); // gone: put back, label and all
      a = (await addresses(t)).find((x) => x.local === vip.address);
      expect(a).toMatchObject({ prefixlen: 32, label: vip.label });
      expect(a!.valid_life_time).toBeGreaterThan(25);

      const failed = await renew(t, [{ address: '10.77.0.101', prefix: 32, ifname: 'vgnosuchif' }, { address: '10.77.0.300', prefix: 32, ifname }, vip], 30);
      expect(failed).toEqual([
        expect.stringMatching(/^10\.77\.0\.101\/32 dev vgnosuchif: no interface vgnosuchif: No such device$/),
        expect.stringMatching(/^10\.77\.0\.300\/32 dev \S+: not an IPv4 address: 10\.77\.0\.300$/),
      ]);
    });
  }, 60_000);
});
