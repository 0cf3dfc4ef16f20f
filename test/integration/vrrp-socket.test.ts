// The raw socket addon between two namespaces, and tshark's opinion of what we send.
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acceptAdvert, encodeAdvert } from '../../services/vrrp/codec.js';
import { withTopology } from '../harness/netns.js';
import { ROOT } from '../harness/node.js';

const fixture = join(ROOT, 'test/fixtures/vrrp-socket.ts');
const node = (...args: string[]) => [process.execPath, '--import', 'tsx', fixture, ...args];

type Topology = Parameters<Parameters<typeof withTopology>[1]>[0];
type Repeated = { sent: number; failed: number; error?: string; nextInMs?: number };

/** A socket on n2 that prints every datagram it receives (hex): the lines so far, once it listens. */
async function receiver(t: Topology): Promise<{ received: string[]; stop: () => Promise<void> }> {
  const rx = t.spawn('n2', node('recv', t.hosts.n2!.ifname), { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT });
  const received: string[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  createInterface({ input: rx.proc.stdout! }).on('line', (l) => (l === 'ready' ? ready() : received.push(l)));
  await isReady;
  return { received, stop: () => rx.stop() };
}

/** A socket on n1 repeating an advert to each destination every intervalMs; ask() reads its counts (or stops it with 'stop'). */
function repeater(t: Topology, dsts: string[], payloadHex: string, intervalMs: number): { ask: (line?: string) => Promise<Repeated>; stop: () => Promise<void> } {
  const h1 = t.hosts.n1!;
  const tx = t.spawn('n1', node('repeat', h1.ifname, h1.address, dsts.join(','), payloadHex, String(intervalMs)), { stdio: ['pipe', 'pipe', 'inherit'], cwd: ROOT });
  const replies: (Repeated | null)[] = [];
  createInterface({ input: tx.proc.stdout! }).on('line', (l) => {
    const m = JSON.parse(l) as { ready?: true; repeated?: Repeated | null };
    if (!m.ready) replies.push(m.repeated ?? null);
  });
  const ask = async (line = 'repeated'): Promise<Repeated> => {
    const before = replies.length;
    tx.proc.stdin!.write(line + '\n');
    await expect.poll(() => replies.length, { timeout: 5000 }).toBe(before + 1);
    return replies.at(-1)!;
  };
  return { ask, stop: () => tx.stop() };
}

describe('raw VRRP socket (native addon)', () => {
  it('sends adverts with TTL 255 from our source to 224.0.0.18 and unicast, and receives them on the other host', async () => {
    await withTopology({ hosts: ['n1', 'n2'] }, async (t) => {
      const [h1, h2] = [t.hosts.n1!, t.hosts.n2!];
      const rx = await receiver(t);
      const lines = rx.received;
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

  it('routine adverts: identical ones are counted and timed, not delivered; any other is; silence for the master-down interval is reported once', async () => {
    await withTopology({ hosts: ['n1', 'n2'] }, async (t) => {
      const [h1, h2] = [t.hosts.n1!, t.hosts.n2!];
      const rx = t.spawn('n2', node('routine', h2.ifname, '400'), { stdio: ['pipe', 'pipe', 'inherit'], cwd: ROOT });
      const seen: Record<string, unknown>[] = [];
      let ready!: () => void;
      const isReady = new Promise<void>((r) => (ready = r));
      createInterface({ input: rx.proc.stdout! }).on('line', (l) => {
        const m = JSON.parse(l) as Record<string, unknown>;
        if (m.ready) ready();
        else seen.push(m);
      });
      await isReady;
      const of = (key: string) => seen.filter((m) => key in m);
      const collect = async () => {
        const before = of('collect').length;
        rx.proc.stdin!.write('collect 51\n');
        await expect.poll(() => of('collect').length, { timeout: 5000 }).toBe(before + 1);
        return of('collect').at(-1)!.collect as { count: number; agoMs: number; sinceNamed: number };
      };
      const advert = { version: 3 as const, vrid: 51, priority: 150, addresses: ['10.77.0.100'], interval: 10, authType: 'none' as const };
      const hex = (priority: number) => encodeAdvert({ ...advert, priority }, { src: h1.address, dst: '224.0.0.18' }).toString('hex');
      const send = async (payloads: string, count: number) => {
        const r = await t.exec('n1', node('send', h1.ifname, h1.address, '224.0.0.18', payloads, String(count)), { timeoutMs: 20_000 });
        expect(r.code, r.stderr).toBe(0);
      };
      // one process, 20 ms apart (well within the 400 ms): six alike (the first is named routine), then changed ones (priority 120) between them
      await send([...Array(6).fill(hex(150)), hex(120), hex(150), hex(120)].join(','), 0);
      await expect.poll(() => of('delivered').length, { timeout: 5000 }).toBe(3);
      expect(of('delivered').map((m) => acceptAdvert(Buffer.from(m.delivered as string, 'hex'), { version: 3, vrid: 51, interval: 10 })))
        .toMatchObject([150, 120, 120].map((priority) => ({ ok: true, value: { advert: { priority } } })));
      expect(await collect()).toMatchObject({ count: 6, sinceNamed: 6 });
      expect(await collect(), 'collect counts from the last collect').toMatchObject({ count: 0, sinceNamed: 6 });

      // silence: reported once, about 400 ms after the last routine advert; then it is delivered again
      await expect.poll(() => of('overdue').length, { timeout: 5000 }).toBe(1);
      expect(of('overdue')[0]).toEqual({ overdue: 51 });
      expect((await collect()).agoMs, 'ms since the last routine advert').toBeGreaterThanOrEqual(400);
      await send(hex(150), 1);
      await expect.poll(() => of('delivered').length, { timeout: 5000 }).toBe(4);
      await new Promise((r) => setTimeout(r, 600));
      expect(of('overdue'), 'a forgotten routine is not reported again').toHaveLength(1);
      await rx.stop();
    });
  });

  it("a master's repeated adverts: the same datagram every interval from the socket, each counted; a failure counted with its reason, not thrown; stopped, none more", async () => {
    await withTopology({ hosts: ['n1', 'n2'] }, async (t) => {
      const h1 = t.hosts.n1!;
      const rx = await receiver(t);
      const received = rx.received;
      const advert = { version: 3 as const, vrid: 51, priority: 150, addresses: ['10.77.0.100'], interval: 5, authType: 'none' as const };
      const payload = encodeAdvert(advert, { src: h1.address, dst: '224.0.0.18' }).toString('hex');
      const startedAt = Date.now();
      const tx = repeater(t, ['224.0.0.18'], payload, 50);
      const ask = tx.ask;
      let sent = 0;

      await expect.poll(() => received.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(6);
      for (const hex of received) expect(acceptAdvert(Buffer.from(hex, 'hex'), { version: 3, vrid: 51, interval: 5 })).toMatchObject({ ok: true, value: { ip: { ttl: 255, src: h1.address }, advert } });
      const first = await ask();
      sent += first.sent;
      expect(first).toMatchObject({ failed: 0 });
      expect(first.nextInMs).toBeLessThanOrEqual(50);
      // never more often than the interval (load can only make them later)
      expect(sent).toBeLessThanOrEqual((Date.now() - startedAt) / 50 + 2);

      // the link down: each send fails, counted with its reason; the process goes on
      await t.exec('n1', ['ip', 'link', 'set', 'dev', h1.ifname, 'down']);
      const downAt = received.length;
      await new Promise((r) => setTimeout(r, 400));
      const down = await ask();
      sent += down.sent;
      expect(down.failed, 'failed sends while the link was down').toBeGreaterThan(0);
      expect(down.error).toMatch(/network is (down|unreachable)/i);
      await t.exec('n1', ['ip', 'link', 'set', 'dev', h1.ifname, 'up']);
      await expect.poll(() => received.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(downAt + 3);

      const stopped = await ask('stop');
      sent += stopped.sent;
      expect(stopped.nextInMs, 'stopped').toBeUndefined();
      await new Promise((r) => setTimeout(r, 300));
      expect(received.length, 'every advert the socket counted as sent arrived, and no other').toBe(sent);
      await new Promise((r) => setTimeout(r, 300));
      expect(received.length, 'none after the stop').toBe(sent);
      await tx.stop();
      await rx.stop();
    });
  });
  it("a slot's adverts go out together: a destination the kernel refuses (broadcast, not allowed on the socket) is counted with its reason, the others still go every interval", async () => {
    await withTopology({ hosts: ['n1', 'n2'] }, async (t) => {
      const h1 = t.hosts.n1!;
      const rx = await receiver(t);
      const received = rx.received;
      const advert = { version: 3 as const, vrid: 52, priority: 150, addresses: ['10.77.0.100'], interval: 5, authType: 'none' as const };
      const payload = encodeAdvert(advert, { src: h1.address, dst: '224.0.0.18' }).toString('hex');
      // the refused one first: the refusal must not hold back the one after it
      const tx = repeater(t, ['255.255.255.255', '224.0.0.18'], payload, 50);
      await expect.poll(() => received.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
      const r = await tx.ask('stop');
      expect(r.sent, 'one sent and one refused each interval').toBe(r.failed);
      expect(r.error).toMatch(/permission denied/i);
      await new Promise((res) => setTimeout(res, 300));
      expect(received.length, 'every advert counted as sent arrived').toBe(r.sent);
      await tx.stop();
      await rx.stop();
    });
  });
});
