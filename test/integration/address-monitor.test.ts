// The fence's address monitor (native/address_monitor.c) in a namespace: additions and
// removals reach it, with when they were read, whoever made them; an address announced
// again while present (a lifetime renewal) does not; the fence's drain after its own
// renewal hands over what the renewal changed at once; a socket that overflowed says so.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import type { AddressChange } from '../../shared/address-monitor.js';
import { withTopology, type Topology } from '../harness/netns.js';
import { ROOT } from '../harness/node.js';

const fixture = join(ROOT, 'test/fixtures/address-monitor.ts');

interface Report { done: number; changes: AddressChange[]; drained: AddressChange[]; troubles: string[] }

function monitor(t: Topology) {
  const child = t.spawn('n1', [process.execPath, '--import', 'tsx', fixture], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.proc.stdout! })[Symbol.asyncIterator]();
  const next = async () => JSON.parse(((await lines.next()).value as string | undefined) ?? 'null') as Report & { ready?: boolean };
  return {
    ready: next,
    async send(cmd: object): Promise<Report> {
      child.proc.stdin!.write(JSON.stringify(cmd) + '\n');
      return next();
    },
    stop: () => child.stop(),
  };
}

const brief = (cs: AddressChange[]) => cs.map((c) => `${c.change} ${c.address}/${c.prefix} ${c.ifname}`);

describe('the fence\'s address monitor', () => {
  it('delivers additions and removals (anyone\'s), not an address announced again while present; drained at once after a renewal', async () => {
    await withTopology({ hosts: ['n1'] }, async (t) => {
      const ifname = t.hosts.n1!.ifname;
      const m = monitor(t);
      try {
        expect((await m.ready()).ready).toBe(true);
        const ip = (...args: string[]) => t.exec('n1', ['ip', 'address', ...args, 'dev', ifname]);
        const vip = { address: '10.77.0.100', prefix: 32, ifname, label: undefined };

        const before = Date.now();
        await ip('add', '10.77.0.100/32', 'valid_lft', '60', 'preferred_lft', '60');
        let r = await m.send({ wait: 300 });
        expect(brief(r.changes), 'an addition by someone else').toEqual([`added 10.77.0.100/32 ${ifname}`]);
        expect(Number.isInteger(r.changes[0]!.at), 'whole ms (an event\'s ts)').toBe(true);
        expect(r.changes[0]!.at).toBeGreaterThanOrEqual(before);
        expect(r.changes[0]!.at).toBeLessThanOrEqual(Date.now());

        // renewals of the present address: announced by the kernel, not delivered, by the drain or the loop
        for (let i = 0; i < 3; i++) {
          r = await m.send({ renew: [vip] });
          expect([...r.changes, ...r.drained], `renewal ${i}`).toEqual([]);
        }
        await ip('replace', '10.77.0.100/32', 'valid_lft', '30', 'preferred_lft', '30'); // another's renewal
        r = await m.send({ wait: 300 });
        expect(r.changes).toEqual([]);

        await ip('del', '10.77.0.100/32');
        r = await m.send({ wait: 300 });
        expect(brief(r.changes), 'a removal by someone else').toEqual([`removed 10.77.0.100/32 ${ifname}`]);

        // a renewal that puts the address back: its echo is handed over by the drain, at once
        r = await m.send({ renew: [vip] });
        expect(brief(r.drained)).toEqual([`added 10.77.0.100/32 ${ifname}`]);
        expect(r.changes).toEqual([]);
        r = await m.send({ wait: 300 });
        expect(r.changes, 'and never again by the loop').toEqual([]);

        // another prefix of the same address is another address; IPv6 is not followed
        await ip('add', '10.77.0.101/24');
        await t.exec('n1', ['ip', '-6', 'address', 'add', 'fd00::1/64', 'dev', ifname, 'nodad']);
        r = await m.send({ wait: 300 });
        expect(brief(r.changes)).toEqual([`added 10.77.0.101/24 ${ifname}`]);
        expect(r.troubles).toEqual([]);

        // more announcements than the socket holds while the loop is busy: said so, and it goes on
        // (the monitor asks for a 1 MiB buffer, the kernel doubles it: 12,000 announcements of several hundred bytes each are more)
        const lines = Array.from({ length: 6000 }, (_, i) => `address add 10.78.${i >> 8}.${i & 255}/32 dev ${ifname}`);
        const blocked = m.send({ block: 8000 });
        await new Promise((res) => setTimeout(res, 500));
        const batch = join(mkdtempSync(join(tmpdir(), 'vigil-monitor-')), 'batch');
        writeFileSync(batch, lines.join('\n') + '\n');
        await t.exec('n1', ['ip', '-batch', batch], { timeoutMs: 30_000 });
        await t.exec('n1', ['ip', 'address', 'flush', 'dev', ifname, 'to', '10.78.0.0/16'], { timeoutMs: 30_000 });
        rmSync(dirname(batch), { recursive: true });
        await blocked;
        r = await m.send({ wait: 500 });
        expect(r.troubles, 'announcements lost').toEqual(['address monitor: address announcements were lost (the socket\'s buffer overflowed)']);
        await ip('del', '10.77.0.101/24');
        r = await m.send({ wait: 300 });
        expect(brief(r.changes), 'and changes are delivered after it').toEqual([`removed 10.77.0.101/24 ${ifname}`]);
      } finally {
        await m.stop();
      }
    });
  }, 60_000);
});
