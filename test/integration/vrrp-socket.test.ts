// The raw socket addon between two namespaces, and tshark's opinion of what we send.
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acceptAdvert, encodeAdvert } from '../../services/vrrp/codec.js';
import { withTopology } from '../harness/netns.js';
import { ROOT } from '../harness/node.js';

const fixture = join(ROOT, 'test/fixtures/vrrp-socket.ts');
const node = (...args: string[]) => [process.execPath, '--import', 'tsx', fixture, ...args];

describe('raw VRRP socket (native addon)', () => {
  it('sends adverts with TTL 255 from our source to 224.0.0.18 and unicast, and receives them on the other host', async () => {
    await withTopology({ hosts: ['n1', 'n2'] }, async (t) => {
      const [h1, h2] = [t.hosts.n1!, t.hosts.n2!];
      const rx = t.spawn('n2', node('recv', h2.ifname), { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT });
      const lines: string[] = [];
      let ready!: () => void;
      const isReady = new Promise<void>((r) => (ready = r));
      createInterface({ input: rx.proc.stdout! }).on('line', (l) => (l === 'ready' ? ready() : lines.push(l)));
      await isReady;
      // tshark, an independent decoder, listens too.
      const capture = t.spawn('n2', ['tshark', '-l', '-n', '-i', h2.ifname, '-f', 'ip proto 112', '-c', '9', '-a', 'duration:30',
        '-T', 'fields', '-e', 'ip.ttl', '-e', 'vrrp.version', '-e', 'vrrp.virt_rtr_id', '-e', 'vrrp.prio', '-e', 'vrrp.ip_addr', '-e', 'vrrp.checksum.status'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: '/tmp' } });
      const decoded: string[] = [];
      createInterface({ input: capture.proc.stdout! }).on('line', (l) => decoded.push(l));
      let capturing!: () => void;
      const started = new Promise<void>((r) => (capturing = r));
      capture.proc.stderr!.on('data', (d: Buffer) => d.toString().includes('Capturing on') && capturing());
      await started;
      const advert = { version: 3 as const, vrid: 51, priority: 150, addresses: ['10.77.0.100'], interval: 10, authType: 'none' as const };
      const v2 = { version: 2 as const, vrid: 52, priority: 100, addresses: ['10.77.0.101'], interval: 1, authType: 'pass' as const, authPass: 'secret' };
      for (const [a, dst] of [[advert, '224.0.0.18'], [advert, h2.address], [v2, '224.0.0.18']] as const) {
        const payload = encodeAdvert(a, { src: h1.address, dst }).toString('hex');
        const r = await t.exec('n1', node('send', h1.ifname, h1.address, dst, payload, '3'), { timeoutMs: 20_000 });
        expect(r.code, r.stderr).toBe(0);
      }
      await expect.poll(() => lines.length, { timeout: 5000 }).toBeGreaterThanOrEqual(9);
      expect(acceptAdvert(Buffer.from(lines.pop()!, 'hex'), { version: 2, vrid: 52, interval: 1, authPass: 'secret' })).toMatchObject({ ok: true, value: { ip: { ttl: 255 }, advert: v2 } });
      lines.splice(6);
      for (const hex of lines) {
        const v = acceptAdvert(Buffer.from(hex, 'hex'), { version: 3, vrid: 51, interval: 10 });
        expect(v).toMatchObject({ ok: true, value: { ip: { ttl: 255, src: h1.address }, advert } });
      }
      const dsts = lines.map((hex) => (acceptAdvert(Buffer.from(hex, 'hex'), { version: 3, vrid: 51, interval: 10 }) as { value: { ip: { dst: string } } }).value.ip.dst);
      expect(new Set(dsts)).toEqual(new Set(['224.0.0.18', h2.address]));
      await capture.exited;
      // TTL, version 3, VRID, priority, address, checksum status 1 = Good
      expect(decoded).toEqual([...Array(6).fill('255\t3\t51\t150\t10.77.0.100\t1'), ...Array(3).fill('255\t2\t52\t100\t10.77.0.101\t1')]);
      await rx.stop();
    });
  });
});
