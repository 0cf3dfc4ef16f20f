// vigil demo: the whole system on this machine (network namespaces, real ZooKeeper and
// NATS, every service as its own process) and a narrated scenario of faults, each
// measured by a client of the VIP and by samplers that are independent of vigil.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../shared/paths.js';
import { cleanAll } from '../../lab/clean.js';
import { DEMO_ID, DEMO_REGISTRY, DemoStopped, runDemo, type StepResult } from '../../lab/demo.js';
import { demoAction, keepDemo, sendDemoAction } from '../../lab/demo-keep.js';
import { processStartTime, useRegistry } from '../../lab/state.js';
import { parse, UsageError, type Io } from '../common.js';
import { demoUsage } from '../usage.js';


const options = {
  help: { type: 'boolean', short: 'h', default: false },
  ensemble: { type: 'boolean', default: false },
  keep: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  clean: { type: 'boolean', default: false },
} as const;

const LOCK = join(tmpdir(), 'vigil-demo.lock');

/** Takes the lock of the one demo this machine may run; the PID of the running demo if another has it. */
function lock(): number | undefined {
  if (existsSync(LOCK)) {
    try {
      const held = JSON.parse(readFileSync(LOCK, 'utf8')) as { pid: number; starttime: string };
      if (processStartTime(held.pid) === held.starttime) return held.pid;
    } catch {
      // unreadable: a demo that died while writing it
    }
  }
  writeFileSync(LOCK, JSON.stringify({ pid: process.pid, starttime: processStartTime(process.pid) }));
  return undefined;
}

const paint = (tty: boolean, code: string, text: string) => (tty ? `\u001b[${code}m${text}\u001b[0m` : text);

/** vigil demo kill d1, cut d1 d2, ...: an action for the demo kept running (--keep). */
async function actOnKept(words: string[], io: Io): Promise<number> {
  const [verb, x, y] = words;
  const parsed = demoAction.safeParse(
    verb === 'cut' ? { do: verb, a: x, b: y } : verb === 'down' || verb === 'up' ? { do: verb, server: x } : verb === 'kill' || verb === 'start' ? { do: verb, node: x } : { do: verb },
  );
  if (!parsed.success || words.length > (verb === 'cut' ? 3 : verb === 'heal' || verb === 'stop' ? 1 : 2)) {
    throw new UsageError(`"${words.join(' ')}" is not an action: vigil demo kill|start d1|d2|d3, cut d1 d2, heal, down|up rs1|rs2, stop`);
  }
  const r = await sendDemoAction(parsed.data).catch((err: Error) => ({ ok: false, message: err.message }));
  (r.ok ? io.out : io.err)(`vigil demo: ${r.message}\n`);
  return r.ok ? 0 : 1;
}

export async function demoCommand(argv: string[], io: Io, stop: AbortSignal): Promise<number> {
  const { values, positionals } = parse(argv, options);
  if (values.help) {
    io.out(demoUsage + '\n');
    return 0;
  }
  if (positionals.length > 0) return actOnKept(positionals, io);
  if (process.getuid?.() !== 0) {
    io.err('vigil demo: needs root (it creates network namespaces and binds addresses, as the services do in production)\n');
    return 2;
  }
  useRegistry(DEMO_REGISTRY);
  if (values.clean) {
    const running = lock();
    if (running !== undefined) {
      io.err(`vigil demo: a demo is running (pid ${running}); end it with Ctrl-C (or kill ${running}) first\n`);
      return 1;
    }
    await cleanAll((l) => io.out(`${l}\n`), DEMO_ID);
    rmSync(LOCK, { force: true });
    io.out('vigil demo: nothing of a demo is left\n');
    return 0;
  }
  const running = lock();
  if (running !== undefined) {
    io.err(`vigil demo: another demo is running (pid ${running}); one at a time (it owns the namespaces ${DEMO_ID}*)\n`);
    return 1;
  }
  const tty = !values.json && process.stdout.isTTY === true;
  const t0 = performance.now();
  let progress = false;
  /** A terminal's progress line is rewritten in place, and cleared before any other line. */
  const line = (text: string) => {
    io.out(`${progress ? '\r\u001b[K' : ''}${text}\n`);
    progress = false;
  };
  const doing = (what: string) => {
    if (!tty) return;
    io.out(`\r\u001b[K${paint(tty, '2', `  ... ${what}`)}`);
    progress = true;
  };
  const say = (text: string) => {
    if (values.json) line(JSON.stringify({ note: text }));
    else line(`${paint(tty, '2', `[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s]`)} ${text}`);
  };
  const step = (r: StepResult) => {
    if (values.json) return line(JSON.stringify(r));
    const who = r.holder ? `${paint(tty, '1', r.holder)} holds the VIP (epoch ${r.epoch ?? '?'})` : 'nobody holds the VIP';
    const overlap = paint(tty, r.overlap_ms === 0 ? '32' : '31', `overlap ${r.overlap_ms} ms`);
    line(`${paint(tty, '2', `[${r.at_s.toFixed(1).padStart(5)} s]`)} ${paint(tty, '36', r.step.padEnd(14))} ${who}; client without an answer ${r.outage_ms} ms; ${overlap}`);
    line(`${' '.repeat(9)} ${' '.repeat(14)} ${r.what}`);
  };
  try {
    // What a demo killed without its clean-up (SIGKILL, a power cut) left is removed first.
    await cleanAll((l) => say(`left by an earlier demo, removed: ${l}`), DEMO_ID);
    const root = packageRoot();
    const where = { cli: join(root, 'dist/bundle/main.js'), labDist: join(root, 'dist/lab'), cwd: root, ensemble: values.ensemble, stop, say, doing };
    if (values.keep) {
      say('vigil demo --keep: building the network and starting ZooKeeper, NATS and 3 directors');
      let lastView = '';
      let hinted = false;
      const view = (lines: string[]) => {
        if (tty) return io.out(`\u001b[H\u001b[2J${lines.join('\n')}\n`);
        // Without a terminal: the commands once, then the state on each change.
        if (!hinted) for (const l of lines.filter((x) => /^(act on it|look inside|\s)/.test(x))) line(l);
        hinted = true;
        const text = lines.filter((l) => l !== '' && !/^(act on it|look inside|\s)/.test(l)).join(' | ');
        if (text !== lastView) line(text);
        lastView = text;
      };
      await keepDemo({ ...where, view, acted: (what) => say(`done: ${what}`) });
      say('vigil demo: stopped; every namespace and process of the demo is removed');
      return 0;
    }
    say(values.json ? 'vigil demo: starting' : 'vigil demo: building the network and starting ZooKeeper, NATS and 3 directors (Ctrl-C ends it and removes everything)');
    const result = await runDemo({ ...where, step });
    if (values.json) {
      line(JSON.stringify({ summary: result.steps, kept: result.kept, ipvs: result.ipvs }));
      return 0;
    }
    if (progress) line('');
    io.out('\nSummary (outage: the longest time the client got no answer; overlap: two directors with the VIP at once, by the samplers)\n');
    io.out(`${'STEP'.padEnd(14)}  ${'HOLDER'.padEnd(6)}  ${'EPOCH'.padStart(5)}  ${'OUTAGE'.padStart(9)}  ${'OVERLAP'.padStart(7)}\n`);
    for (const r of result.steps) {
      io.out(`${r.step.padEnd(14)}  ${(r.holder ?? '-').padEnd(6)}  ${String(r.epoch ?? '-').padStart(5)}  ${`${r.outage_ms} ms`.padStart(9)}  ${`${r.overlap_ms} ms`.padStart(7)}\n`);
    }
    const k = result.kept;
    io.out(`
Everything the demo started is gone; its record is kept in ${k}:
  vigil postmortem --db ${k}                             the three directors as one timeline: who held the VIP, why, how long nobody did
  vigil postmortem --db ${k} --html ${k}/timeline.html   the same as a page to open in a browser (a lane per director)
  vigil log --db ${k}/d1/events.db                       every event of d1, in order, with why
  vigil log --db ${k}/d2/events.db --type 'fence.*' --type 'vip.*'
  vigil log --db ${k}/d1/events.db --type relay.alert    the alerts d1's relay raised (published on NATS)
  vigil log verify --db ${k}/d1/events.db --offline      the log's hash chain and guards
  cat ${k}/notify.log                                    the notify scripts' runs
  ls ${k}/logs                                           each service's own log (JSON lines)
  cat ${k}/vigil.yaml                                    the configuration it ran
With --keep the cluster stays up: its view names the commands for zkCli.sh and vigil alerts.
`);
    return 0;
  } catch (err) {
    if (progress) io.out('\r\u001b[K');
    if (err instanceof DemoStopped || stop.aborted) {
      io.err('vigil demo: stopped; every namespace and process of the demo is removed\n');
      return 130;
    }
    io.err(`vigil demo: failed: ${err instanceof Error ? err.message : String(err)}; every namespace and process of the demo is removed\n`);
    return 1;
  } finally {
    rmSync(LOCK, { force: true });
  }
}
