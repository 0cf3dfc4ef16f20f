// The health service's I/O: one timer queue for every check, the probes, the event log.
// Decisions (retry, rise/fall, what a result means) are the decider's. A probe never
// waits for another: each runs on its own socket or process with its own deadline, and
// only the number in flight is bounded.
import { readFileSync } from 'node:fs';
import type { VigilConfig } from '../../shared/config/index.js';
import { nodeSubject, type EventLog, type NewEvent } from '../../shared/eventlog/index.js';
import { lookupUser } from '../../shared/exec.js';
import type { Logger } from '../../shared/logger.js';
import type { Recorder } from '../../shared/recorder.js';
import { recorderOf, type ReloadChanges } from '../../shared/service.js';
import { diffByName, sameJson } from '../../shared/config/diff.js';
import { initialCheckState, onResult, type Change, type CheckState, type ProbeResult } from './decider.js';
import { TimeHeap } from './heap.js';
import { LateHistogram } from './lateness.js';
import { planChecks, type CheckSpec, type ProbeSpec } from './plan.js';
import { dnsProbe } from './probes/dns.js';
import { execProbe, pingProbe } from './probes/exec.js';
import { httpProbe } from './probes/http.js';
import { tcpProbe } from './probes/tcp.js';
import type { Abort, ProbeDone } from './probes/types.js';
import { lastChanges } from '../../shared/health-record.js';
import { every, type Chore } from '../../shared/housekeeping.js';

export interface HealthServiceOptions {
  config: VigilConfig;
  node: string;
  log: EventLog;
  logger: Logger;
  /** Overrides global_defs.health_summary (ms). */
  summaryMs?: number;
  /** Overrides global_defs.health_max_in_flight. */
  maxInFlight?: number;
}

interface Slot {
  spec: CheckSpec;
  start: (done: ProbeDone) => Abort;
  state: CheckState;
  /** Whether a probe has finished since the service started. */
  known: boolean;
  /** When the current try was due, and when its cycle (first try) was. */
  due: number;
  cycleDue: number;
  /** Bumped at every launch; a callback of an older launch is ignored. */
  run: number;
  abort: Abort | undefined;
  /** Removed by a reload: never launched again (its entries in the queues are skipped). */
  removed: boolean;
}

interface Window {
  started: number;
  probes: number;
  failed: number;
  timedOut: number;
  inFlightMax: number;
  queued: number;
  late: LateHistogram;
}

const now = () => performance.now();

/** What checks name outside the configuration, each read once however many checks name it. */
interface Resources {
  ca(path: string): Buffer;
  user(name: string): { uid: number; gid: number };
}

function resources(): Resources {
  const memo = <T>(read: (key: string) => T) => {
    const seen = new Map<string, T>();
    return (key: string): T => {
      if (!seen.has(key)) seen.set(key, read(key));
      return seen.get(key)!;
    };
  };
  return { ca: memo((path) => readFileSync(path)), user: memo((name) => lookupUser(name)) };
}

/** How a check's probe is started, with what the configuration names resolved (users, CA files). */
function probeStarter(p: ProbeSpec, timeoutMs: number, r: Resources): (done: ProbeDone) => Abort {
  switch (p.kind) {
    case 'tcp':
      return (done) => tcpProbe(p, done);
    case 'http': {
      const spec = { ...p, tls: p.tls && { verify: p.tls.verify, sni: p.tls.sni, ca: p.tls.caFile === undefined ? undefined : r.ca(p.tls.caFile) } };
      return (done) => httpProbe(spec, done);
    }
    case 'dns':
      return (done) => dnsProbe(p, timeoutMs, done);
    case 'exec': {
      const user = p.user === undefined ? undefined : r.user(p.user);
      const spec = { argv: p.argv, what: p.what, dynamic: p.dynamic, uid: user?.uid, gid: user?.gid, timeoutMs };
      return (done) => execProbe(spec, done);
    }
    case 'ping':
      return (done) => pingProbe(p.host, p.bindto, timeoutMs, done);
  }
}

function timeoutReason(s: CheckSpec): string {
  const t = `${s.timeoutMs / 1000} s`;
  const p = s.probe;
  switch (p.kind) {
    case 'tcp':
      return `no TCP connection to ${p.host}:${p.port} within ${t} (connect_timeout)`;
    case 'http':
      return `no complete HTTP answer from ${p.host}:${p.port} within ${t} (connect_timeout)`;
    case 'dns':
      return `no DNS answer from ${p.host}:${p.port} within ${t} (connect_timeout)`;
    case 'exec':
      return `${p.what} did not finish within ${t} (killed)`;
    case 'ping':
      return `no ICMP echo reply from ${p.host} within ${t} (connect_timeout)`;
  }
}

export class HealthService {
  private slots: Slot[] = [];
  private readonly dueQueue = new TimeHeap<Slot>();
  private readonly deadlines = new TimeHeap<{ slot: Slot; run: number }>();
  /** Due probes waiting for a free slot, oldest first. */
  private readonly waiting: Slot[] = [];
  private waitingHead = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private summaryChore: Chore | undefined;
  private stopped = false;
  private window: Window;
  private readonly maxInFlight: number;
  private readonly summaryMs: number;
  private readonly recorder: Recorder;

  constructor(private readonly o: HealthServiceOptions) {
    this.recorder = recorderOf(o.log, o.logger);
    this.maxInFlight = o.maxInFlight ?? o.config.global_defs.health_max_in_flight;
    this.summaryMs = o.summaryMs ?? o.config.global_defs.health_summary * 1000;
    this.window = this.newWindow();
  }

  /** Plans the checks, resumes each from its last recorded state, and starts probing. */
  start(): void {
    const specs = planChecks(this.o.config, this.o.node);
    const initial = this.addSlots(specs);
    this.record(initial);
    this.o.logger.info('checking', { checks: specs.length, resumed: specs.length - initial.length, max_in_flight: this.maxInFlight });
    this.arm();
    this.summaryChore = every(this.summaryMs, () => this.summarize());
  }

  /** Slots for these checks, resumed from the record where it has their state; the events of those it has not. */
  private addSlots(specs: CheckSpec[]): NewEvent[] {
    const last = lastChanges(this.o.log, specs);
    const t = now();
    const initial: NewEvent[] = [];
    const named = resources();
    const slots: Slot[] = [];
    for (const spec of specs) {
      let start: (done: ProbeDone) => Abort;
      try {
        start = probeStarter(spec.probe, spec.timeoutMs, named);
      } catch (err) {
        throw new Error(`${spec.path.join('.')}: ${(err as Error).message}`);
      }
      const prev = last.get(spec.key);
      const resumed = prev && prev.to !== 'unknown' ? prev.to : undefined;
      const state = initialCheckState(resumed ?? spec.initial, prev?.weight);
      if (!resumed) initial.push(this.changeEvent(spec, { from: 'unknown', to: spec.initial, reason: this.initialReason(spec) }));
      const due = t + Math.random() * spec.firstWithinMs;
      slots.push({ spec, start, state, known: false, due, cycleDue: due, run: 0, abort: undefined, removed: false });
    }
    for (const slot of slots) {
      this.slots.push(slot);
      this.dueQueue.push(slot.due, slot);
    }
    return initial;
  }

  /**
   * Applies a new configuration as a difference: a check whose plan is the same keeps its
   * state and schedule; a removed one stops (a probe in flight is abandoned); a new one
   * starts as at start-up (resumed from the record); a changed one does both.
   */
  reload(config: VigilConfig): ReloadChanges {
    const next = new Map(planChecks(config, this.o.node).map((spec) => [spec.key, spec]));
    const running = new Map(this.slots.map((slot) => [slot.spec.key, slot]));
    const diff = diffByName(new Map([...running].map(([k, slot]) => [k, slot.spec])), next, sameJson);
    for (const key of [...diff.removed, ...diff.changed]) {
      const slot = running.get(key)!;
      slot.removed = true;
      if (slot.abort) {
        slot.run++;
        slot.abort();
        slot.abort = undefined;
        this.inFlight--;
      }
    }
    this.slots = this.slots.filter((slot) => !slot.removed);
    this.record(this.addSlots([...diff.changed, ...diff.added].map((key) => next.get(key)!)));
    this.arm();
    const label = (key: string) => `check ${key}`;
    return { added: diff.added.map(label), removed: diff.removed.map(label), changed: diff.changed.map(label), unchanged: diff.unchanged.map(label) };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.summaryChore?.stop();
    for (const s of this.slots) {
      if (s.abort) {
        s.run++;
        s.abort();
        s.abort = undefined;
      }
    }
    this.recorder.recordQueued();
  }

  private initialReason(spec: CheckSpec): string {
    if (spec.role === 'track_script') return spec.initial === 'up' ? 'not run yet; counted OK until it fails' : 'not run yet; failed until it succeeds (init_fail)';
    return spec.initial === 'up' ? 'not checked yet; assumed up until checks fail' : 'not checked yet; down until checks pass (alpha)';
  }

  private changeEvent(spec: CheckSpec, c: Omit<Change, 'from'> & { from: Change['from'] | 'unknown' }): NewEvent {
    if (spec.role === 'track_script') {
      const word = (h: string) => (h === 'up' ? 'ok' : h === 'down' ? 'fail' : 'unknown') as 'ok' | 'fail' | 'unknown';
      return { type: 'track.changed', source: 'health', subject: spec.subject, data: { name: spec.target, from: word(c.from), to: word(c.to), reason: c.reason.slice(0, 1024) } };
    }
    return {
      type: 'health.changed',
      source: 'health',
      subject: spec.subject,
      data: { target: spec.target, check: spec.check, from: c.from, to: c.to, reason: c.reason.slice(0, 1024), ...(c.weight !== undefined ? { weight: c.weight } : {}) },
    };
  }

  private arm(): void {
    if (this.stopped) return;
    const next = Math.min(this.dueQueue.peek() ?? Infinity, this.deadlines.peek() ?? Infinity);
    if (next === Infinity || next >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(() => this.tick(), Math.max(0, next - now()));
  }

  private tick(): void {
    this.timerAt = Infinity;
    const t = now();
    for (let d = this.deadlines.popDue(t); d; d = this.deadlines.popDue(t)) {
      const { slot, run } = d;
      if (slot.run !== run || !slot.abort) continue; // finished in time
      slot.abort();
      this.window.timedOut++;
      this.finish(slot, run, { ok: false, reason: timeoutReason(slot.spec) });
    }
    for (let s = this.dueQueue.popDue(t); s; s = this.dueQueue.popDue(t)) {
      if (s.removed) continue;
      if (this.inFlight < this.maxInFlight) this.launch(s, t);
      else {
        this.waiting.push(s);
        this.window.queued++;
      }
    }
    this.arm();
  }

  private launch(slot: Slot, t: number): void {
    this.window.late.add(t - slot.due);
    const run = ++slot.run;
    this.inFlight++;
    if (this.inFlight > this.window.inFlightMax) this.window.inFlightMax = this.inFlight;
    this.deadlines.push(t + slot.spec.timeoutMs, { slot, run });
    let sync: ProbeResult | undefined;
    let starting = true;
    const abort = slot.start((r) => {
      if (starting) sync = r; // a probe that fails before it returns (bad bindto): finish after
      else this.finish(slot, run, r);
    });
    starting = false;
    slot.abort = abort;
    if (sync) this.finish(slot, run, sync);
  }

  private finish(slot: Slot, run: number, r: ProbeResult): void {
    if (slot.run !== run || !slot.abort || this.stopped) return;
    slot.abort = undefined;
    this.inFlight--;
    const w = this.window;
    w.probes++;
    if (!r.ok) w.failed++;
    const v = onResult(slot.spec.rules, slot.state, r);
    slot.state = v.state;
    slot.known = true;
    if (v.change) this.record([this.changeEvent(slot.spec, v.change)]);
    const t = now();
    const retrying = v.state.retried > 0;
    let due: number;
    if (retrying) due = t + v.nextInMs;
    else {
      // Keep the cadence of the schedule; a probe that overran it starts its next one a full interval later.
      due = slot.cycleDue + v.nextInMs;
      if (due < t) due = t + v.nextInMs;
      slot.cycleDue = due;
    }
    slot.due = due;
    this.dueQueue.push(due, slot);
    while (this.inFlight < this.maxInFlight && this.waitingHead < this.waiting.length) {
      const next = this.waiting[this.waitingHead++]!;
      if (!next.removed) this.launch(next, t);
    }
    if (this.waitingHead === this.waiting.length && this.waitingHead > 0) {
      this.waiting.length = 0;
      this.waitingHead = 0;
    }
    this.arm();
  }

  /** Transitions are written in batches, once per turn of the event loop (kept and appended late while the log refuses writes). */
  private record(events: NewEvent[]): void {
    this.recorder.soon(events);
  }

  private newWindow(): Window {
    return { started: now(), probes: 0, failed: 0, timedOut: 0, inFlightMax: this.inFlight, queued: 0, late: new LateHistogram() };
  }

  private summarize(): void {
    const w = this.window;
    this.window = this.newWindow();
    let up = 0;
    let down = 0;
    let unknown = 0;
    for (const s of this.slots) {
      if (!s.known) unknown++;
      else if (s.state.health === 'up') up++;
      else down++;
    }
    this.record([
      {
        type: 'health.summary',
        source: 'health',
        subject: nodeSubject(this.o.node),
        data: {
          total: this.slots.length, up, down, unknown,
          window_ms: Math.round(now() - w.started),
          probes: w.probes, failed: w.failed, timed_out: w.timedOut,
          late_p99_ms: w.late.quantile(0.99), late_max_ms: w.late.max(),
          in_flight_max: w.inFlightMax, queued: w.queued,
        },
      },
    ]);
  }
}
