// A postmortem as a person reads it in a terminal.
import type { AtAnswer, GroupReport, Link, Move, Report, TenureView } from '../../shared/postmortem/report.js';
import type { Clocks } from '../../shared/postmortem/clocks.js';
import type { NodeRecord } from '../../shared/postmortem/history.js';

export const iso = (ms: number) => new Date(Math.round(ms)).toISOString();
/** 19:00:27.930 (UTC), for lines within one report. */
const hms = (ms: number) => iso(ms).slice(11, 23);
export const duration = (ms: number) => (Math.abs(ms) < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`);
const holder = (t: TenureView | null) => (t ? `${t.node} (epoch ${t.epoch})` : 'nobody');

/** Appends without spreading (a whole month's report has more lines than a call takes arguments). */
function append(lines: string[], more: readonly string[]): void {
  for (const l of more) lines.push(l);
}

function chain(links: readonly Link[], indent: string): string[] {
  return links.map((l, i) => `${indent}${i === 0 ? '   ' : '<- '}${hms(l.at)}  ${l.node} #${l.seq}  ${l.type}  ${l.summary}`);
}

function ending(t: TenureView): string {
  if (!t.end) return `${t.node}'s tenure (epoch ${t.epoch}) has no recorded end`;
  return `${t.node}'s tenure (epoch ${t.epoch}) ended ${t.to !== null ? hms(t.to) : '?'}: ${t.end.how === 'lifetime' ? `the kernel dropped its addresses (when their lifetime ran out; the kernel may remove an expired address up to ${t.end.lateUpToMs} ms later)` : 'unbound'}: ${t.end.reason}${t.end.by !== t.node ? ` (as ${t.end.by} read it in ZooKeeper)` : ''}`;
}

function move(m: Move): string[] {
  const lines = [`  ${hms(m.at)}  ${holder(m.from)} -> ${holder(m.to)}${m.from ? `, nobody held it for ${duration(m.unownedMs)}` : ''}`];
  lines.push(`      why ${m.to.node}:`, ...chain(m.why, '        '));
  if (m.from) {
    lines.push(`      ${ending(m.from)}`);
    if (m.previousEnd.length > 0) lines.push(...chain(m.previousEnd, '        '));
    if (m.around.length > 0) lines.push(`      what else the record says about ${m.from.node} then:`, ...m.around.map((l) => `          ${hms(l.at)}  ${l.node} #${l.seq}  ${l.type}  ${l.summary}`));
  }
  return lines;
}

export function clocksText(c: Clocks): string[] {
  const others = Object.entries(c.nodes).filter(([n]) => n !== c.reference);
  if (c.reference === undefined || others.length === 0) return [];
  const unmeasured = others.filter(([, e]) => e.observations === 0).map(([n]) => n);
  const measured = others.filter(([, e]) => e.observations > 0);
  const lines: string[] = [];
  if (measured.length > 0) {
    lines.push(`Clocks, from the lease changes every node's relay recorded (relative to ${c.reference}): ${measured.map(([n, e]) => `${n} ${e.offsetMs >= 0 ? '+' : ''}${e.offsetMs} ms (spread ${e.spreadMs} ms, ${e.observations} changes)`).join(', ')}`);
    for (const [n, e] of measured) if (e.corrected) lines.push(`  ${n}'s clock was ${duration(Math.abs(e.offsetMs))} ${e.offsetMs > 0 ? 'ahead of' : 'behind'} ${c.reference}'s: its times below are corrected by ${-e.offsetMs} ms`);
  }
  if (unmeasured.length > 0) lines.push(`Clocks of ${unmeasured.join(', ')} not measured (no lease change recorded by both its relay and ${c.reference}'s): their times are as recorded`);
  return lines;
}

function nodesText(nodes: readonly NodeRecord[], origins: Record<string, string>): string[] {
  return nodes.map((n) => `  ${n.node}: ${n.events.toLocaleString('en')} events read, ${iso(n.first)} .. ${iso(n.last)}${origins[n.node] ? `, from ${origins[n.node]}` : ''}`);
}

function group(g: GroupReport): string[] {
  const lines = [`VIP group ${g.group}`];
  lines.push(`  when the window opened: ${g.atStart ? `held by ${holder(g.atStart)} since ${iso(g.atStart.from)}` : 'held by nobody'}`);
  if (g.moves.length === 0) lines.push('  no change of holder in the window');
  for (const m of g.moves) append(lines, move(m));
  const u = g.unowned;
  lines.push(`  without a holder: ${u.length === 0 ? 'never in the window' : `${u.length} window${u.length === 1 ? '' : 's'}, ${duration(g.totals.unownedMs)} in all, the longest ${duration(g.totals.longestUnownedMs)}`}`);
  for (const w of u) lines.push(`      ${hms(w.from)} .. ${w.to !== null ? hms(w.to) : 'the end of the record'}  ${duration(w.ms).padStart(9)}  after ${holder(w.before)}${w.after ? `, before ${holder(w.after)}` : ''}`);
  if (g.overlaps.length === 0) lines.push('  two holders at once: never, per the logs');
  for (const o of g.overlaps) {
    lines.push(`  !!! TWO HOLDERS AT ONCE: ${holder(o.a)} and ${holder(o.b)} both had ${g.group} bound for ${duration(o.ms)}, ${iso(o.from)} .. ${iso(o.to)}${o.uncertaintyMs > 0 ? ` (clocks uncertain by ${o.uncertaintyMs} ms)` : ''} !!!`);
  }
  for (const c of g.orderConflicts) {
    lines.push(`  ! ${holder(c.later)} recorded its bind ${duration(c.ms)} before ${holder(c.earlier)}'s end: ordered by epoch (ZooKeeper's order); either the clocks disagree by that much or both held it`);
  }
  return lines;
}

/** Lines of a section at most; a longer one shows its first and last lines (--json has every item). */
export const SECTION_LINES = 200;

function section<T>(title: string, items: readonly T[], line: (x: T) => string): string[] {
  if (items.length === 0) return [`${title}: none`];
  const head = `${title} (${items.length.toLocaleString('en')}):`;
  if (items.length <= SECTION_LINES) return [head, ...items.map((x) => `  ${line(x)}`)];
  const half = SECTION_LINES / 2;
  return [
    head,
    ...items.slice(0, half).map((x) => `  ${line(x)}`),
    `  ... ${(items.length - SECTION_LINES).toLocaleString('en')} more (all of them with --json; or narrow --since/--until) ...`,
    ...items.slice(-half).map((x) => `  ${line(x)}`),
  ];
}

export function reportText(r: Report, origins: Record<string, string>): string {
  const lines: string[] = [];
  lines.push(`Postmortem ${iso(r.window.from)} .. ${iso(r.window.to)} (${duration(r.window.to - r.window.from)}); times below are UTC`);
  append(lines, [`Nodes (${r.nodes.length}):`, ...nodesText(r.nodes, origins)]);
  append(lines, [...clocksText(r.clocks), '']);
  if (r.groups.length === 0) lines.push('No VIP group was ever bound in this record.', '');
  for (const g of r.groups) append(lines, [...group(g), '']);
  const item = (x: { at: number; node: string; summary: string }) => `${hms(x.at)}  ${x.node.padEnd(8)} ${x.summary}`;
  append(lines, section('Alerts', r.alerts, (a) => `${hms(a.at)}  ${a.severity.toUpperCase().padEnd(8)} ${a.kind.padEnd(16)} ${a.summary} (raised by ${a.raisedBy.join(', ')})`));
  append(lines, section('Leases refused to a VRRP master (two masters, one holder: split brain averted)', r.denied, item));
  append(lines, section('Notify scripts run', r.notify, item));
  append(lines, section('Operator notes', r.notes, item));
  append(lines, section('Services started, stopped, lost', r.services, item));
  append(lines, section('Real servers (health changes)', r.realServers, item));
  append(lines, section('IPVS quorum', r.quorum, item));
  lines.push(`VRRP state changes: ${r.vrrp.length} (listed with --json; drawn per node with --html)`);
  return lines.join('\n') + '\n';
}

export function answerText(a: AtAnswer): string {
  const lines: string[] = [];
  if (a.holder) {
    const m = a.holder;
    lines.push(`${a.group} at ${iso(a.at)}: held by ${holder(m.to)}, since ${iso(m.to.from)} (${duration(m.heldMs)} before)`);
    lines.push(`Why ${m.to.node} held it (each line caused by the next):`, ...chain(m.why, '  '));
    if (m.from) {
      lines.push(`Before it: ${holder(m.from)}; nobody held ${a.group} for ${duration(m.unownedMs)} in between.`);
      lines.push(`  ${ending(m.from)}`);
      if (m.previousEnd.length > 0) lines.push(...chain(m.previousEnd, '  '));
      if (m.around.length > 0) lines.push(`What else the record says about ${m.from.node} then:`, ...m.around.map((l) => `     ${hms(l.at)}  ${l.node} #${l.seq}  ${l.type}  ${l.summary}`));
    }
  } else if (a.unowned) {
    const u = a.unowned;
    lines.push(`${a.group} at ${iso(a.at)}: held by nobody, from ${iso(u.from)} until ${u.to !== null ? iso(u.to) : 'the end of the record'} (${duration(u.ms)})`);
    if (u.before) lines.push(`  ${ending(u.before)}`);
    if (u.after) lines.push(`  then ${holder(u.after)} bound it`);
  } else {
    lines.push(`${a.group} at ${iso(a.at)}: held by nobody (before its first bind in this record)`);
  }
  return lines.join('\n') + '\n';
}
