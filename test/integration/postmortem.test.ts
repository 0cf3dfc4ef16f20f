// vigil postmortem against what really happened: a scripted incident on three directors in
// namespaces with real ZooKeeper and NATS (the demo's cluster: a crash of the holder, its
// return, a partition, a real server failing, a graceful move), then the postmortem read
// from the nodes' log files and from the JetStream stream, compared with the observers'
// record of the interfaces (every 2 ms, independent of vigil).
import { randomBytes } from 'node:crypto';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDemoCluster, REAL_SERVER_NAMES, RS_PORT, type DemoCluster } from '../../lab/demo.js';
import { COORDINATOR, type Presence } from '../../lab/cluster.js';
import { isEvent } from '../../shared/eventlog/index.js';
import type { AtAnswer, Report, TenureView } from '../../shared/postmortem/report.js';
import { chromium, type Browser } from 'playwright-core';
import { CLI, ROOT, vigil } from '../harness/node.js';
import { tempDir, type TempDir } from '../harness/tmp.js';
import { waitFor } from '../harness/process.js';

/** How far a time in the record may be from the observers' (ms): their sampling, and the record's own timing on a busy machine. */
const TOLERANCE_MS = 50;

const now = () => performance.timeOrigin + performance.now();
let c: DemoCluster | undefined;
let from = 0;
let until = 0;
const marks: Record<string, number> = {};
let dbDirs: string[] = [];

async function answeringFrom(k: DemoCluster['k'], other: string): Promise<string> {
  return waitFor(`the VIP to answer from a node other than ${other}`, () => {
    const h = k.holders();
    const last = k.answers().at(-1);
    return h.length === 1 && h[0] !== other && last?.answer === h[0] ? h[0] : undefined;
  }, 30_000, 10);
}

beforeAll(async () => {
  c = await startDemoCluster({ cli: CLI, labDist: join(ROOT, 'dist/lab'), cwd: ROOT, ensemble: false, stop: new AbortController().signal, say: () => undefined, id: `vg${randomBytes(2).toString('hex')}` });
  const { k, services } = c;
  from = now();
  // 1. the holder crashes, and comes back (it preempts)
  marks.crash = now();
  await k.signal('d1', services, 'SIGKILL');
  await answeringFrom(k, 'd1');
  marks.return = now();
  k.start('d1', services);
  await k.settled('d1', 30_000);
  // 2. a partition between the directors: d3 alone on its side, VRRP master too, one lease
  // (the holder keeps it: d2 still hears it; a holder cut from both others would give way)
  marks.partition = now();
  const heals = [
    await k.firewall('d3', { input: ['d1', 'd2'].map((x) => `ip saddr ${k.t.hosts[x]!.address} drop`) }),
    ...(await Promise.all(['d1', 'd2'].map((d) => k.firewall(d, { input: [`ip saddr ${k.t.hosts.d3!.address} drop`] })))),
  ];
  await waitFor('a lease refused on the other side', () => (k.events('d3', ['fence.lease_denied']).some((e) => e.ts >= marks.partition!) ? true : undefined), 20_000);
  for (const h of heals) await h();
  await k.settled('d1', 30_000); // the others hear d1 again: BACKUP, out of the lock
  // 3. a real server fails its check, and recovers
  marks.rs = now();
  const rs = REAL_SERVER_NAMES[0];
  const target = `${k.t.hosts[rs]!.address}:${RS_PORT}`;
  const seen = (to: string, since: number) => ['d1', 'd2', 'd3'].every((d) => k.events(d, ['health.changed']).some((e) => e.ts >= since && isEvent(e, 'health.changed') && e.data.target === target && e.data.to === to));
  writeFileSync(join(k.dir, `${rs}.down`), '');
  await waitFor(`${rs} seen down by every director`, () => (seen('down', marks.rs!) ? true : undefined), 20_000);
  rmSync(join(k.dir, `${rs}.down`));
  await waitFor(`${rs} seen up by every director`, () => (seen('up', marks.rs!) ? true : undefined), 20_000);
  // 4. a graceful move: every service of the holder stopped
  marks.graceful = now();
  await k.signal('d1', services, 'SIGTERM');
  await answeringFrom(k, 'd1');
  await new Promise((r) => setTimeout(r, 500));
  until = now();
  // the relays publish within milliseconds; give them a second
  await new Promise((r) => setTimeout(r, 1500));
  dbDirs = ['d1', 'd2', 'd3'].map((d) => join(k.dir, d));
}, 240_000);

// A failed test keeps the cluster's folder (service and event logs: a busy-core flake seen once can be read).
beforeEach(({ onTestFailed }) => onTestFailed(() => c?.k.keepFolder()));

let tmp: TempDir | undefined;
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  tmp?.remove();
  await c?.close();
});

/** Debian's chromium (the binary, not its launcher script); playwright-core never downloads one. */
const CHROMIUM = '/usr/lib/chromium/chromium';

const window = () => ['--since', `@${(from / 1000).toFixed(3)}`, '--until', `@${(until / 1000).toFixed(3)}`];

async function reportFromDb(): Promise<Report> {
  const r = await vigil(['postmortem', ...dbDirs.flatMap((d) => ['--db', d]), ...window(), '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Report;
}

/** The observers' presence intervals within the window. */
function observed(): Presence[] {
  return c!.k.presence().filter((p) => p.to >= from && p.from <= until);
}

describe('vigil postmortem', () => {
  it('from the log files: holders, unowned windows and no overlap agree with the observers; each move says why', async () => {
    const r = await reportFromDb();
    const g = r.groups.find((x) => x.group === 'web')!;
    const seen = observed();
    const timeline = `observers: ${seen.map((p) => `${p.node} ${(p.from - from).toFixed(0)}..${Number.isFinite(p.to) ? (p.to - from).toFixed(0) : 'open'}`).join(', ')}; postmortem: ${g.tenures.map((t) => `${t.node}/e${t.epoch} ${(t.from - from).toFixed(0)}..${t.to === null ? 'open' : (t.to - from).toFixed(0)}`).join(', ')}`;
    expect(c!.k.overlaps(), 'the observers saw two holders at once').toEqual([]);
    expect(g.overlaps, timeline).toEqual([]);
    expect(g.orderConflicts, timeline).toEqual([]);
    // every presence is one tenure, same node, same start and end to the tolerance
    expect(g.tenures.map((t) => t.node), timeline).toEqual(seen.map((p) => p.node));
    seen.forEach((p, i) => {
      const t = g.tenures[i]!;
      if (p.from >= from) expect(Math.abs(t.from - p.from), `start of ${p.node}'s tenure; ${timeline}`).toBeLessThan(TOLERANCE_MS);
      // a crashed holder's end is its addresses' lifetime: the kernel removes them at its next check, up to lateUpToMs later
      if (p.to <= until) {
        const late = p.to - t.to!;
        expect(late, `end of ${p.node}'s tenure (${t.end?.how}); ${timeline}`).toBeGreaterThan(-TOLERANCE_MS);
        expect(late, `end of ${p.node}'s tenure (${t.end?.how}); ${timeline}`).toBeLessThan(TOLERANCE_MS + (t.end?.lateUpToMs ?? 0));
      }
      else expect(t.to === null || t.to > until, timeline).toBe(true);
    });
    // the windows without a holder are the observers' gaps
    const gaps = seen.slice(1).map((p, i) => p.from - seen[i]!.to);
    const windows = g.unowned.filter((u) => u.to !== null && u.to <= until && u.from >= from);
    expect(windows.length, timeline).toBe(gaps.length);
    windows.forEach((u, i) => {
      const early = gaps[i]! - u.ms; // the record's window is longer by what the kernel's expiry was late
      expect(early, `window ${i}; ${timeline}`).toBeGreaterThan(-2 * TOLERANCE_MS - (u.before?.end?.lateUpToMs ?? 0));
      expect(early, `window ${i}; ${timeline}`).toBeLessThan(2 * TOLERANCE_MS);
    });

    // why each move happened
    const [crash, back, graceful] = g.moves;
    expect(g.moves).toHaveLength(3);
    expect(crash!.from).toMatchObject({ node: 'd1', end: { how: 'lifetime' } });
    // the new holder's VRRP went MASTER when its fence named it d1's successor (d1's session
    // ended), or when d1's adverts stopped, or preempted the lower priority director that
    // had (the record says which; the first names the fence's word as its cause)
    expect(crash!.why[2]!.summary).toMatch(/BACKUP -> MASTER \((master_down_timer|preempted|lease_free)/);
    const successor = /lease_free/.test(crash!.why[2]!.summary);
    expect(crash!.why.map((l) => l.type)).toEqual(['vip.bound', 'fence.lease_acquired', 'vrrp.state_changed', ...(successor ? ['fence.lease_free'] : [])]);
    if (/preempted/.test(crash!.why[2]!.summary)) expect(r.vrrp.some((e) => e.node === 'd3' && e.at > marks.crash! && /-> MASTER \((master_down_timer|lease_free)/.test(e.summary))).toBe(true);
    expect(back!.to.node).toBe('d1');
    expect(back!.why[2]!.summary).toMatch(/preempted/);
    expect(back!.previousEnd[0]).toMatchObject({ type: 'vip.unbound' });
    expect(back!.previousEnd.map((l) => l.summary).join(' ')).toMatch(/higher_priority_advert/);
    // d1's services all get SIGTERM at once: its fence unbinds either for its own stop or,
    // when the vrrp service stopped first, because VI_1 is no longer MASTER (seen in CI)
    expect(graceful!.from).toMatchObject({ node: 'd1', end: { how: 'unbound', reason: expect.stringMatching(/fence service stopping|VRRP instance VI_1 is STOPPED/) } });
    // d1's priority 0 advert: d2 goes MASTER at once, or after preempting d3 that did
    // (or at once, named d1's successor by its fence when d1 left the lock)
    expect(graceful!.why[2]!.summary).toMatch(/BACKUP -> MASTER \((priority_zero_advert|preempted|lease_free)/);
    if (/preempted/.test(graceful!.why[2]!.summary)) expect(r.vrrp.some((e) => e.node === 'd3' && e.at > marks.graceful! && /-> MASTER \((priority_zero_advert|lease_free)/.test(e.summary))).toBe(true);
    expect(graceful!.around.some((l) => l.type === 'service.stopped' && l.node === 'd1')).toBe(true);

    // the rest of what an operator asks
    expect(r.denied.some((d) => d.node !== 'd1' && d.at >= marks.partition! && d.at <= marks.rs!), 'a master refused the lease during the partition').toBe(true);
    expect(r.realServers.filter((e) => /-> down/.test(e.summary) && e.at >= marks.rs!).map((e) => e.node).sort()).toEqual(['d1', 'd2', 'd3']);
    expect(r.alerts.map((a) => a.kind)).toEqual(expect.arrayContaining(['failover', 'node_gone', 'rs_down']));
    expect(r.services.filter((e) => e.node === 'd1' && e.type === 'service.stopped').length).toBeGreaterThanOrEqual(c!.services.length);
    expect(r.notify.length).toBeGreaterThan(0);

    // the same answers as text
    const text = await vigil(['postmortem', ...dbDirs.flatMap((d) => ['--db', d]), ...window()]);
    expect(text.stdout).toMatch(/two holders at once: never, per the logs/);
    expect(text.stdout).toMatch(/d1 \(epoch \d+\) -> d[23] \(epoch \d+\), nobody held it for/);
    expect(text.stdout).toMatch(/the kernel dropped its addresses/);
  });

  it('--vip --at: the holder at a moment of the crash window, as the observers saw it, with its chain', async () => {
    const seen = observed();
    const afterCrash = seen.find((p) => p.from > marks.crash! && p.node !== 'd1')!;
    const at = afterCrash.from + (Math.min(afterCrash.to, until) - afterCrash.from) / 2;
    const r = await vigil(['postmortem', ...dbDirs.flatMap((d) => ['--db', d]), '--vip', 'web', '--at', `@${(at / 1000).toFixed(3)}`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const a = JSON.parse(r.stdout) as AtAnswer;
    expect(a.holder!.to.node).toBe(afterCrash.node);
    expect(Math.abs(a.holder!.to.from - afterCrash.from)).toBeLessThan(TOLERANCE_MS);
    expect(a.holder!.from).toMatchObject({ node: 'd1', end: { how: 'lifetime' } });
    const gap = observed().filter((p) => p.to <= afterCrash.from).at(-1)!;
    const text = await vigil(['postmortem', ...dbDirs.flatMap((d) => ['--db', d]), '--vip', 'web', '--at', `@${(at / 1000).toFixed(3)}`]);
    expect(text.stdout).toMatch(new RegExp(`^web at .*: held by ${afterCrash.node} \\(epoch \\d+\\)`));
    expect(text.stdout, text.stdout).toMatch(/<- .*vrrp\.state_changed {2}BACKUP -> MASTER \((master_down_timer|preempted|lease_free)/);
    // the unowned time it names is the observers' gap (longer by at most the kernel's late expiry)
    const early = afterCrash.from - gap.to - a.holder!.unownedMs;
    expect(early).toBeGreaterThan(-2 * TOLERANCE_MS - a.holder!.from!.end!.lateUpToMs);
    expect(early).toBeLessThan(2 * TOLERANCE_MS);
    // in the middle of that gap: nobody
    const inGap = await vigil(['postmortem', ...dbDirs.flatMap((d) => ['--db', d]), '--vip', 'web', '--at', `@${((gap.to + afterCrash.from) / 2000).toFixed(3)}`, '--json']);
    expect((JSON.parse(inGap.stdout) as AtAnswer).holder).toBeNull();
  });

  it('from the JetStream stream: the same history as from the files', async () => {
    const k = c!.k;
    const file = k.configFile;
    // a message on the events' subjects that is not an event: counted and skipped, never fatal
    const nats = pathToFileURL(join(ROOT, 'node_modules/@nats-io/transport-node/lib/mod.js')).href;
    const publish = `const { connect } = await import(${JSON.stringify(nats)}); const nc = await connect({ servers: ${JSON.stringify(k.nats!.url)} }); nc.publish('vigil.demo.events.d9.vip.bound', '{"not":"an event"}'); await nc.flush(); await nc.close();`;
    const pub = await k.t.exec(COORDINATOR, [process.execPath, '--input-type=module', '-e', publish], { allowFail: true });
    expect(pub.code, pub.stderr).toBe(0);
    const r = await k.t.exec(COORDINATOR, [process.execPath, CLI, 'postmortem', '--stream', '--config', file, ...window(), '--json'], { allowFail: true });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Report;
    const d = await reportFromDb();
    // A node's events recorded after its relay stopped (d1's last ones, at the graceful stop)
    // are not in the stream: a tenure they close is closed there by the next holder's record
    // of it, at the same time (the old holder's own, read in ZooKeeper).
    const tenure = (t: TenureView) => ({ node: t.node, epoch: t.epoch, from: t.from, to: t.to, how: t.end?.how });
    const view = (x: Report) => x.groups.map((g) => ({ tenures: g.tenures.map(tenure), unowned: g.unowned.map((u) => [u.from, u.to, u.ms]), overlaps: g.overlaps, moves: g.moves.map((m) => m.why.map((l) => `${l.node}#${l.seq}`)) }));
    expect(view(s)).toEqual(view(d));
    const before = (x: Report) => x.alerts.filter((a) => a.at < marks.graceful!).map((a) => a.id);
    expect(before(s)).toEqual(before(d));
    expect(r.stderr).toMatch(/skipped 1 message\(s\) that are not events, the first: vigil\.demo\.events\.d9\.vip\.bound/);
    expect(r.stderr).toMatch(/d1's relay stopped at .* \(as d[23] saw it\) and was not back: what d1 recorded after it is not in the stream/);
  });

  it('--html: one self-contained file; in a real Chromium every lane is drawn, a click on an event shows its chain, no request leaves the file', async () => {
    tmp = tempDir('postmortem-html');
    const file = join(tmp.path, 'incident.html');
    const r = await vigil(['postmortem', ...dbDirs.flatMap((d) => ['--db', d]), ...window(), '--html', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`HTML timeline: ${file}`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (q) => requests.push(q.url()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`file://${file}`);
    await page.waitForSelector('g.lane');
    expect(errors).toEqual([]);

    // a lane per node, each with its VRRP states, its tenures and its services drawn
    for (const n of ['d1', 'd2', 'd3']) {
      const lane = page.locator(`g.lane[data-node="${n}"]`);
      await expect.poll(() => lane.count()).toBe(1);
      const shot = await lane.screenshot({ path: join(tmp.path, `lane-${n}.png`) });
      expect(shot.length, `${n}'s lane as a picture`).toBeGreaterThan(2000);
      const vrrp = await lane.locator('rect[fill="#2e9d4f"], rect[fill="#9aa5b1"], rect[fill="#d64545"], rect[fill="#d9dde3"], rect[fill="#e8e8e8"]').count();
      expect(vrrp, `${n}'s lane: its VRRP states drawn`).toBeGreaterThan(0);
      const services = await lane.locator('rect[fill="#6c8f3d"]').count();
      expect(services, `${n}'s lane: its services drawn`).toBeGreaterThan(0);
    }
    await page.screenshot({ path: join(tmp.path, 'whole.png'), fullPage: true });
    // every holder's tenure is drawn in its own lane
    const holders = new Set(observed().map((p) => p.node));
    for (const n of holders) {
      const held = await page.locator(`g.lane[data-node="${n}"] rect[fill="#3b6fd1"]`).count();
      expect(held, `${n}'s tenures drawn`).toBeGreaterThan(0);
    }
    await expect.poll(() => page.locator('#summary').innerText()).toMatch(/web: 3 change\(s\) of holder, nobody held it .* in \d+ window\(s\), never two holders/);

    // a click on the crash's bind (in the table) shows why: the chain and the previous holder's end
    const row = page.locator('#events tbody tr', { hasText: 'vip.bound' }).first();
    await row.click();
    const chain = page.locator('#chain');
    await expect.poll(() => chain.innerText()).toMatch(/Why d[23] held it \(epoch \d+\)/);
    const text = await chain.innerText();
    expect(text).toMatch(/fence\.lease_acquired/);
    expect(text).toMatch(/vrrp\.state_changed[\s\S]*BACKUP -> MASTER \((master_down_timer|preempted|lease_free)/);
    expect(text).toMatch(/Before: d1 \(epoch \d+\); nobody held it for/);
    await page.screenshot({ path: join(tmp.path, 'chain.png'), fullPage: true });
    // a click on a marker (an alert, a health change ...) selects its event too (dispatched
    // to the marker itself: markers of events a few ms apart overlap, the later on top)
    await page.locator('path.marker').first().dispatchEvent('click');
    await expect.poll(() => page.locator('#events tbody tr.sel').count()).toBe(1);

    // zoom in: the axis shows finer times
    const before = await page.locator('svg text').first().textContent();
    await page.click('#zin');
    await page.click('#zin');
    expect(await page.locator('svg text').first().textContent()).not.toBe(before);
    expect(errors).toEqual([]);
    // nothing but the file itself was ever asked for
    expect(requests).toEqual([`file://${file}`]);
  }, 120_000);
});

describe('vigil postmortem: bad input', () => {
  it('says what is wrong, in one line, and exits 2 (usage) or 1 (a record it cannot read)', async () => {
    const t = tempDir('postmortem-bad');
    try {
      expect(await vigil(['postmortem', '--config', join(t.path, 'missing.yaml')])).toMatchObject({ code: 2, stderr: expect.stringMatching(/missing\.yaml:0:0: .*cannot read: ENOENT/) });
      expect(await vigil(['postmortem', '--db', t.path, '--at', '10m', '--since', '1h'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--at asks about one moment; --since\/--until about a window/) });
      expect(await vigil(['postmortem', '--db', t.path, '--at', 'yesterday-ish'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--at: cannot read time "yesterday-ish"/) });
      expect(await vigil(['postmortem', '--db', t.path])).toMatchObject({ code: 1, stderr: expect.stringMatching(/cannot read the record: no \.db file in .*postmortem-bad/) });
      writeFileSync(join(t.path, 'lb1.db'), 'this is not a database');
      expect(await vigil(['postmortem', '--db', join(t.path, 'lb1.db')])).toMatchObject({ code: 1, stderr: expect.stringMatching(/cannot read the record: .*lb1\.db/) });
      const dirs = dbDirs.flatMap((d) => ['--db', d]);
      expect(await vigil(['postmortem', ...dirs, '--vip', 'nosuch', '--at', 'now'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/no VIP group "nosuch" was ever bound in this record \(groups: web\)/) });
    } finally {
      t.remove();
    }
  });
});
