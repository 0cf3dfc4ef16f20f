// The fence's dead man's switch (native/deadman.c) in a namespace: an armed removal at its
// deadline; following a VIP group's lifetime file, the deadline moves with what the fence
// writes there (no command at each renewal), and only for the epoch followed.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeadmanSwitch } from '../../services/fence/deadman.js';
import { EventLog } from '../../shared/eventlog/index.js';
import { lifetimePath } from '../../shared/eventlog/pulse.js';
import { withTopology, type Topology } from '../harness/netns.js';
import { ROOT } from '../harness/node.js';
import { tempDir, type TempDir } from '../harness/tmp.js';

const DEADMAN = join(ROOT, 'native/build/Release/vigil-deadman');
const VIP = '10.77.0.100';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let tmp: TempDir;
beforeEach(() => {
  tmp = tempDir('deadman');
});
afterEach(() => tmp.remove());

async function present(t: Topology): Promise<boolean> {
  const r = await t.exec('n1', ['ip', '-4', '-o', 'address', 'show', 'dev', t.hosts.n1!.ifname]);
  return r.stdout.includes(` ${VIP}/32 `);
}

/** When (unix ms) the VIP was first seen gone, polled every 10 ms. */
async function goneAt(t: Topology, withinMs: number): Promise<number> {
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    if (!(await present(t))) return Date.now();
    await sleep(10);
  }
  throw new Error(`${VIP} still there after ${withinMs} ms`);
}

function startSwitch(t: Topology) {
  const c = t.spawn('n1', [DEADMAN], { stdio: ['pipe', 'ignore', 'inherit'] });
  const del = `address del ${VIP}/32 dev ${t.hosts.n1!.ifname}`;
  return { c, del, send: (line: string) => c.proc.stdin!.write(line + '\n') };
}

describe("the dead man's switch", () => {
  it('following the lifetime file: renewals written there keep the addresses; it removes them at the last time written, for the epoch followed only; an explicit arm ends the following', async () => {
    await withTopology({ hosts: ['n1'] }, async (t) => {
      const add = () => t.exec('n1', ['ip', 'address', 'replace', `${VIP}/32`, 'dev', t.hosts.n1!.ifname]);
      const log = EventLog.open({ path: join(tmp.path, 'events.db'), node: 'n1' });
      const file = lifetimePath(log.path, 'web');
      const sw = startSwitch(t);
      try {
        await add();
        log.setVipLifetime('web', 3, Date.now() + 400);
        sw.send(`file ${file}`);
        sw.send(`follow ${Date.now() + 400} 3 ${sw.del}`);
        let last = 0;
        for (const end = Date.now() + 1500; Date.now() < end; await sleep(100)) {
          last = Date.now() + 400;
          log.setVipLifetime('web', 3, last); // what a renewal does: no command
        }
        expect(await present(t), 'kept by the renewals written to the file (the first deadline passed a second ago)').toBe(true);
        const gone = await goneAt(t, 3000);
        expect(gone).toBeGreaterThanOrEqual(last);
        expect(gone - last).toBeLessThan(400); // (a late wake-up on a busy machine)

        // another epoch in the file (a later tenure's, or something else's): not believed
        await add();
        const deadline = Date.now() + 400;
        sw.send(`follow ${deadline} 4 ${sw.del}`);
        const writing = setInterval(() => log.setVipLifetime('web', 3, Date.now() + 400), 100);
        try {
          const otherEpoch = await goneAt(t, 3000);
          expect(otherEpoch).toBeGreaterThanOrEqual(deadline);
          expect(otherEpoch - deadline).toBeLessThan(400);

          // an explicit arm: its time, whatever the file says
          await add();
          sw.send(`follow ${Date.now() + 300} 3 ${sw.del}`);
          await sleep(100);
          const armed = Date.now() + 400;
          sw.send(`arm ${armed} ${sw.del}`);
          const explicit = await goneAt(t, 3000);
          expect(explicit).toBeGreaterThanOrEqual(armed);
          expect(explicit - armed).toBeLessThan(400);
        } finally {
          clearInterval(writing);
        }
      } finally {
        sw.c.proc.stdin!.end();
        await sw.c.stop(2000);
        log.close();
      }
    });
  }, 60_000);

  // The fence's side: when a renewal is only the file's write, when it is a command. The
  // lines name a device that does not exist (the switch runs in this test's namespace): ip's
  // complaint says when they ran.
  it("the fence's switch: later deadlines written to the file need no command; an earlier one does; a file the switch cannot open makes every renewal a command", async () => {
    const log = EventLog.open({ path: join(tmp.path, 'events.db'), node: 'n1' });
    const fired: number[] = [];
    const other: string[] = [];
    const sw = new DeadmanSwitch((m) => (/Cannot find device/.test(m) ? fired.push(Date.now()) : other.push(m)));
    const lines = ['address del 10.77.0.100/32 dev vgnosuchdev0'];
    try {
      const record = { file: lifetimePath(log.path, 'web'), epoch: 7 };
      const renew = (until: number) => {
        log.setVipLifetime('web', 7, until);
        sw.follow(until, lines, record);
      };
      for (const end = Date.now() + 1200; Date.now() < end; await sleep(100)) renew(Date.now() + 300);
      expect(fired, 'renewed through the file').toEqual([]);
      const earlier = Date.now() + 100; // (the file said +300 a moment ago)
      renew(earlier);
      await expect.poll(() => fired.length, { timeout: 2000, interval: 10 }).toBe(1);
      expect(fired[0]! - earlier).toBeGreaterThanOrEqual(0);
      expect(fired[0]! - earlier).toBeLessThan(150); // not at the +300 it slept to

      const lost = { file: join(tmp.path, 'no-such-folder', 'lifetime'), epoch: 7 };
      const started = Date.now();
      for (const end = Date.now() + 1200; Date.now() < end; await sleep(100)) sw.follow(Date.now() + 300, lines, lost);
      expect(other.join('\n')).toMatch(/lifetime file: No such file or directory/);
      expect(fired.filter((t) => t > started), 'armed with each deadline instead').toEqual([]);
      const last = Date.now() + 300;
      sw.follow(last, lines, lost);
      await expect.poll(() => fired.length, { timeout: 2000, interval: 10 }).toBe(2);
      expect(fired[1]! - last).toBeGreaterThanOrEqual(0);
    } finally {
      sw.disarm();
      sw.close();
      log.close();
    }
  }, 30_000);
});
