// vigil demo as a newcomer runs it: the built CLI, its narrated outcomes checked against
// the client's and the samplers' own records (kept after the run), and Ctrl-C in the middle
// leaving nothing behind.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KEPT, DEMO_ID, type StepResult } from '../../lab/demo.js';
import { readEvents } from '../harness/log.js';
import { listOurNamespaces } from '../harness/netns.js';
import { spawnVigil, vigil } from '../harness/node.js';
import { waitFor } from '../harness/process.js';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';

type Step = StepResult;

// These tests check that nothing is left behind, so VIGIL_KEEP_TMP (keep test folders for
// debugging) does not apply to them or to the demo they start.
delete process.env.VIGIL_KEEP_TMP;

let running: ChildProcessWithoutNullStreams | undefined;
afterEach(async () => {
  if (running && running.exitCode === null) {
    running.kill('SIGINT');
    await new Promise((r) => running!.once('exit', r));
  }
  running = undefined;
  await vigil(['demo', '--clean']);
});

function start(args: string[]): { child: ChildProcessWithoutNullStreams; out: () => string; exited: Promise<number | null> } {
  const child = spawnVigil(['demo', ...args]);
  running = child;
  let out = '';
  child.stdout.on('data', (d) => (out += d.toString()));
  child.stderr.on('data', (d) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

/** Longest time without an answer in [from, to], from the client's own record (one line per change of answer); computed here, not by the demo's code. */
function clientOutage(answers: { t: number; answer: string | null }[], from: number, to: number): number {
  let longest = 0;
  let down: number | undefined = answers.filter((a) => a.t < from).at(-1)?.answer === null ? from : undefined;
  for (const a of answers.filter((x) => x.t >= from && x.t <= to)) {
    if (a.answer === null) down ??= a.t;
    else if (down !== undefined) {
      longest = Math.max(longest, a.t - down);
      down = undefined;
    }
  }
  if (down !== undefined) longest = Math.max(longest, to - down);
  return longest;
}

/** Processes whose command line names this folder (the demo's services, samplers, servers). */
function processesUsing(folder: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(folder);
    } catch {
      return false;
    }
  }).map(Number);
}

describe('vigil demo', () => {
  it('narrates every failover with the client\'s outage and 0 overlap, and its figures are the client\'s and the samplers\' own', async () => {
    const d = start(['--json']);
    const code = await d.exited;
    expect(code, d.out()).toBe(0);
    const lines = d.out().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const steps = lines.filter((l) => typeof l.step === 'string') as unknown as Step[];
    expect(steps.map((s) => s.step)).toEqual(['steady', 'crash', 'return', 'partition', 'heal', 'holder cut off', 'rejoin', 'real server', 'graceful stop', 'ZooKeeper down']);
    const by = (name: string) => steps.find((s) => s.step === name)!;
    expect(by('steady').holder).toBe('d1');
    expect(by('crash').holder).not.toBe('d1');
    expect(by('crash').epoch).toBeGreaterThan(by('steady').epoch!);
    expect(by('return').holder).toBe('d1');
    expect(by('partition').holder).toBe('d1');
    // A partition between directors by itself costs clients nothing. (A director whose services
    // were starved past their liveness timeout goes FAULT, by design, and that may: the demo
    // then reports the outage the client saw, which is checked below; a FAULT just before the
    // step moves the VIP during it: seen in CI, d1's fence starved 17 ms before the cut.)
    const p = by('partition');
    const faults = ['d1', 'd2', 'd3'].flatMap((n) => readEvents(join(KEPT, n, 'events.db'), ['vrrp.state_changed']))
      .filter((e) => e.ts >= p.from - 2000 && e.ts <= p.to && (e.data as { to: string }).to === 'FAULT');
    if (faults.length === 0) expect(p.outage_ms, 'a partition between directors costs clients nothing').toBe(0);
    // The holder cut from the other two gives way to the one they hear, and takes the VIP back (preempt) after the heal.
    expect(by('holder cut off').holder).toBe('d2');
    expect(by('rejoin').holder).toBe('d1');
    expect(by('graceful stop').holder).not.toBe('d1');
    expect(by('ZooKeeper down').holder).not.toBeNull();

    // The figures against the records the demo kept: the client's answers and the samplers' presence.
    const answers = readFileSync(join(KEPT, 'client.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { t: number; answer: string | null });
    for (const s of steps) expect(s.outage_ms, s.step).toBe(Math.round(clientOutage(answers, s.from, s.to)));
    expect(by('crash').outage_ms, 'a crash is seen by clients').toBeGreaterThan(0);
    const presence = readFileSync(join(KEPT, 'presence.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { node: string; from: number; to: number | null });
    for (const [i, a] of presence.entries()) {
      for (const b of presence.slice(i + 1)) {
        if (a.node === b.node) continue;
        expect(Math.min(a.to ?? Infinity, b.to ?? Infinity) - Math.max(a.from, b.from), `${a.node} and ${b.node} both held the VIP`).toBeLessThan(0);
      }
    }
    for (const s of steps) expect(s.overlap_ms, s.step).toBe(0);
    // The holder the demo names is the one the client heard at the end of the step.
    for (const s of steps) expect(answers.filter((a) => a.t <= s.to).at(-1)?.answer, s.step).toBe(s.holder);
    expect(existsSync(join(KEPT, 'd1', 'events.db'))).toBe(true);
    expect(await listOurNamespaces()).not.toContainEqual(expect.stringMatching(new RegExp(`^${DEMO_ID}`)));
  }, 240_000);

  it('--keep leaves the cluster running with a live view, acted on from another terminal until vigil demo stop', async () => {
    const d = start(['--keep']);
    await waitFor('d1 holding the VIP in the live view', () => (/VIP 10\.77\.0\.100: held by d1;/.test(d.out()) ? true : undefined), 120_000);
    const kill = await vigil(['demo', 'kill', 'd1']);
    expect(kill.code, kill.stderr).toBe(0);
    expect(kill.stdout).toMatch(/every service of d1 SIGKILLed/);
    await waitFor('another director holding the VIP', () => (/held by d[23]; the client hears d[23];/.test(d.out().split('SIGKILLed').at(-1)!) ? true : undefined), 30_000);
    expect((await vigil(['demo', 'down', 'rs1'])).code).toBe(0);
    await waitFor('rs1 seen down', () => (/rs1 down/.test(d.out().split('answers 503 now').at(-1)!) ? true : undefined), 30_000);
    const bad = await vigil(['demo', 'kill', 'd9']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/is not an action/);
    const stop = await vigil(['demo', 'stop']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(await d.exited).toBe(0);
    expect((await listOurNamespaces()).filter((n) => n.startsWith(DEMO_ID))).toEqual([]);
    const after = await vigil(['demo', 'heal']);
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/no demo is running with --keep/);
  }, 240_000);

  it('one at a time; Ctrl-C in the middle of the scenario removes every namespace, process and folder it made', async () => {
    const d = start([]);
    const folder = await waitFor('the demo\'s folder', () => /files of this run \(configuration, logs of every process\): (\S+)/.exec(d.out())?.[1], 60_000);
    await waitFor('the crash step', () => (d.out().includes(' crash ') ? true : undefined), 120_000);
    const second = await vigil(['demo']);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/another demo is running \(pid \d+\)/);
    expect(processesUsing(folder).length, 'the demo runs processes').toBeGreaterThan(0);
    d.child.kill('SIGINT');
    expect(await d.exited).toBe(130);
    expect(d.out()).toMatch(/stopped; every namespace and process of the demo is removed/);
    expect((await listOurNamespaces()).filter((n) => n.startsWith(DEMO_ID))).toEqual([]);
    expect(processesUsing(folder)).toEqual([]);
    expect(existsSync(folder), folder).toBe(false);
  }, 240_000);
});
