// The independent witnesses of a cluster: an observer per director that samples its
// interfaces every few ms (lab/vip-watch, no vigil code involved) and answers TCP
// connections with the director's name, and a client that keeps asking the VIP who it
// is talking to (lab/vip-client). Where they run (a network namespace of the lab, a
// container's) is the caller's: it spawns them.
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor, type Child, type StartOptions } from './process.js';

/** A time range (unix ms, fractional) during which an observer saw the VIP on a node. */
export interface Presence {
  node: string;
  /** The end of the read of the first sample that saw it: certainly there from then. */
  from: number;
  /** The start of the last sample that still saw it (Infinity while it is there): certainly there until then. */
  to: number;
  /** The start of the sample before, which did not see it: it came at some time in (after, from]. */
  after: number;
  /** The end of the read of the sample after `to`, which no longer saw it (Infinity while it is there): it went in (to, gone]. */
  gone: number;
}

export interface Answer {
  t: number;
  answer: string | null;
  /** When this answer came, and when the previous attempt's (the last with the old answer) came. */
  end?: number;
  prevEnd?: number | null;
}

/** The client began an attempt `ms` late that was due at `at` (unix ms). */
export interface ClientStall {
  at: number;
  ms: number;
}

/** A time (unix ms) during which the client got no answer at all: from the first attempt that got none to the next that got one. */
export interface Outage {
  from: number;
  to: number;
  ms: number;
}

export interface ObserverOptions {
  nodes: string[];
  /** Starts a program on a director (by node name) or on the client (by clientHost). */
  spawn(host: string, argv: string[], options: StartOptions): Child;
  clientHost: string;
  vip: string;
  vipPort: number;
  /** Observers' sampling interval (ms). */
  sampleMs?: number;
  /**
   * Per director, a client host whose neighbour entry for the VIP is pinned to that
   * director's MAC: it asks the VIP at that director whatever ARP says, so it sees whether
   * the director still answers for the VIP (an address left on an interface whose traffic
   * the kernel fence drops does not answer).
   */
  pinned?: Record<string, string>;
  /** The lab's entry scripts (dist/lab) and the working folder. */
  labDist: string;
  cwd?: string;
  /** The observers at the highest priority short of real-time (needs CAP_SYS_NICE); true by default. */
  nice?: boolean;
}

export interface Observers {
  /** Presence intervals per node, as sampled by the observers. */
  presence(): Presence[];
  /** The node(s) where the VIP is now, per the observers. */
  holders(): string[];
  /** Times at which two nodes were both seen holding the VIP. */
  overlaps(): { a: Presence; b: Presence; ms: number }[];
  /**
   * Pairs of presences on two nodes that the samples cannot prove apart: each widened to
   * (after, gone), the times between which it may really have lasted. Empty: no overlap,
   * however long the samplers stalled around a change.
   */
  possibleOverlaps(): { a: Presence; b: Presence; ms: number }[];
  answers(): Answer[];
  /** Times the client itself did not run (an attempt began this late): a timeout that ran out then says nothing of the VIP. */
  clientStalls(): ClientStall[];
  /** When each director certainly answered for the VIP, per its pinned client (empty without pinned clients). */
  answering(): Presence[];
  /** Times at which two directors both answered for the VIP (pinned clients). */
  answeringOverlaps(): { a: Presence; b: Presence; ms: number }[];
  /** The largest gap between two samples of any observer (ms): what "every few ms" was. */
  maxSampleGapMs(): number;
  /**
   * The largest gap (ms) between a sample that saw a VIP come or go and the sample before
   * it: how much longer than observed a presence may have lasted, so the longest overlap
   * that overlaps() could miss.
   */
  transitionUncertaintyMs(): number;
  /** Waits until exactly one node (this one, if given) holds the VIP and the client gets answers from it. */
  settled(node?: string, timeoutMs?: number): Promise<string>;
  /** The observers' and the client's processes. */
  children: Child[];
}

/** Starts the observers and the client; resolves once each has said it is ready. */
export async function startObservers(o: ObserverOptions): Promise<Observers> {
  const presence: Presence[] = [];
  const open = new Map<string, Presence>();
  let maxGap = 0;
  let maxTransitionGap = 0;
  const answers: Answer[] = [];
  const stalls: ClientStall[] = [];
  const readyPromises: Promise<void>[] = [];
  const children: Child[] = [];
  const lines = (child: Child, onLine: (m: Record<string, unknown>) => void) =>
    new Promise<void>((ready) => {
      createInterface({ input: child.proc.stdout! }).on('line', (l) => {
        const msg = JSON.parse(l) as Record<string, unknown>;
        if (msg.ready) ready();
        else onLine(msg);
      });
    });
  const options: StartOptions = { stdio: ['ignore', 'pipe', 'inherit'], ...(o.cwd ? { cwd: o.cwd } : {}) };
  // At the highest priority short of real-time (which starves the kernel's own work here),
  // so that samples stay a few ms apart and the client's timeouts run out on time while
  // other work loads both cores.
  const niced = (argv: string[]) => (o.nice === false ? argv : ['nice', '-n', '-20', ...argv]);
  for (const node of o.nodes) {
    const w = o.spawn(node, niced([process.execPath, join(o.labDist, 'vip-watch.js'), node, String(o.vipPort), String(o.sampleMs ?? 2), o.vip]), options);
    children.push(w);
    readyPromises.push(lines(w, (m) => {
      if (m.stats) {
        maxGap = Math.max(maxGap, Number((m.stats as { maxGapMs: number }).maxGapMs));
        return;
      }
      // (read: the clock after the sample's read; older watchers print t only)
      const read = Number(m.read ?? m.t);
      if (m.present !== undefined) maxTransitionGap = Math.max(maxTransitionGap, read - Number(m.before));
      if (m.present === true) {
        const p = { node, from: read, to: Infinity, after: Number(m.before), gone: Infinity };
        presence.push(p);
        open.set(node, p);
      } else if (m.present === false) {
        const p = open.get(node);
        if (p) {
          p.to = Number(m.before);
          p.gone = read;
        }
        open.delete(node);
      }
    }));
  }
  const asAnswer = (m: Record<string, unknown>): Answer => ({ t: Number(m.t), answer: (m.answer as string | null) ?? null, end: Number(m.end ?? m.t), prevEnd: m.prevEnd === null || m.prevEnd === undefined ? null : Number(m.prevEnd) });
  const clientArgv = niced([process.execPath, join(o.labDist, 'vip-client.js'), o.vip, String(o.vipPort), '5', '40']);
  const client = o.spawn(o.clientHost, clientArgv, options);
  children.push(client);
  readyPromises.push(lines(client, (m) => (m.stall ? stalls.push(m.stall as ClientStall) : answers.push(asAnswer(m)))));
  const pinnedAnswers = new Map<string, Answer[]>();
  for (const [node, host] of Object.entries(o.pinned ?? {})) {
    const list: Answer[] = [];
    pinnedAnswers.set(node, list);
    const c = o.spawn(host, clientArgv, options);
    children.push(c);
    readyPromises.push(lines(c, (m) => {
      if (!m.stall) list.push(asAnswer(m));
    }));
  }
  await Promise.all(readyPromises);
  // A director certainly answered from the arrival of the first answer of a run of its
  // answers to the arrival of the last (the next change's prevEnd); attempts are 5 ms apart.
  const answering = (): Presence[] => [...pinnedAnswers].flatMap(([node, list]) => list.flatMap((a, i) => {
    if (a.answer !== node) return [];
    const next = list[i + 1];
    const to = next ? next.prevEnd ?? a.end! : Infinity;
    return [{ node, from: a.end!, to, after: a.t, gone: next?.end ?? Infinity }];
  }));

  return {
    children,
    presence: () => presence.map((p) => ({ ...p })),
    holders: () => [...open.keys()],
    overlaps: () => pairs(presence, (p) => [p.from, p.to], true),
    possibleOverlaps: () => pairs(presence, (p) => [p.after, p.gone], false),
    answers: () => [...answers],
    clientStalls: () => [...stalls],
    answering,
    answeringOverlaps: () => pairs(answering(), (p) => [p.from, p.to], true),
    maxSampleGapMs: () => maxGap,
    transitionUncertaintyMs: () => maxTransitionGap,
    async settled(node, timeoutMs = 20_000) {
      return waitFor(`${node ?? 'one node'} alone holding the VIP, answering the client`, () => {
        const h = [...open.keys()];
        const last = answers.at(-1);
        return h.length === 1 && (node === undefined || h[0] === node) && last?.answer === h[0] ? h[0] : undefined;
      }, timeoutMs, 10);
    },
  };
}

/** The times since `from` during which the client got no answer at all (one still going is left out). */
export function outages(answers: readonly Answer[], from: number): Outage[] {
  const out: Outage[] = [];
  let downSince: number | undefined;
  for (const a of answers) {
    if (a.answer === null && downSince === undefined) downSince = Math.max(a.t, from);
    if (a.answer !== null && downSince !== undefined) {
      if (a.t >= from) out.push({ from: downSince, to: a.t, ms: a.t - downSince });
      downSince = undefined;
    }
  }
  return out;
}

/** The longest time (ms) since `from` during which the client got no answer at all. */
export const longestOutage = (answers: readonly Answer[], from: number): number => Math.max(0, ...outages(answers, from).map((o) => o.ms));

/** Pairs of presences of two nodes whose spans, as `span` gives them, meet (touching counts when `touch`). */
export function pairs(presence: Presence[], span: (p: Presence) => [number, number], touch: boolean): { a: Presence; b: Presence; ms: number }[] {
  const out: { a: Presence; b: Presence; ms: number }[] = [];
  for (const [i, a] of presence.entries()) {
    for (const b of presence.slice(i + 1)) {
      if (a.node === b.node) continue;
      const [aFrom, aTo] = span(a);
      const [bFrom, bTo] = span(b);
      const ms = Math.min(aTo, bTo) - Math.max(aFrom, bFrom);
      if (touch ? ms >= 0 : ms > 0) out.push({ a, b, ms });
    }
  }
  return out;
}
