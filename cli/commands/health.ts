// vigil health: the state of every check of a node, as its event log says (the last
// transition of each), like keepalived's checker dump but from the record.
import { logPathForNode } from '../../shared/config/index.js';
import { DEFAULT_CONFIG } from '../../shared/config/node.js';
import { EventLog } from '../../shared/eventlog/index.js';
import { isoTime } from '../../shared/time.js';
import { planChecks } from '../../services/health/plan.js';
import { lastChanges } from '../../shared/health-record.js';
import { commonOptions, loadNodeConfig, parse, UsageError, type Io } from '../common.js';
import { healthUsage } from '../usage.js';


const options = { ...commonOptions, down: { type: 'boolean', default: false } } as const;

export interface CheckRow {
  subject: string;
  check: string;
  state: 'up' | 'down' | 'unknown';
  since: number | null;
  weight: number | null;
  reason: string;
}

export function healthCommand(argv: string[], io: Io): number {
  const { values, positionals } = parse(argv, options);
  if (values.help) {
    io.out(healthUsage + '\n');
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected "${positionals[0]}"\n${healthUsage}`);
  const { config, node, file } = loadNodeConfig(values, '');
  const specs = planChecks(config, node);
  const log = EventLog.open({ path: values.db ?? logPathForNode(config, node, file), readOnly: true, node });
  let last;
  try {
    last = lastChanges(log, specs);
  } finally {
    log.close();
  }
  const rows: CheckRow[] = specs.map((s) => {
    const c = last.get(s.key);
    return { subject: s.subject, check: s.check, state: c?.to ?? 'unknown', since: c?.ts ?? null, weight: c?.weight ?? null, reason: c?.reason ?? 'no result recorded yet' };
  });
  const shown = values.down ? rows.filter((r) => r.state !== 'up') : rows;
  if (values.json) {
    for (const r of shown) io.out(JSON.stringify(r) + '\n');
    return 0;
  }
  const w = Math.max(7, ...shown.map((r) => r.subject.length));
  const c = Math.max(5, ...shown.map((r) => r.check.length));
  io.out(`${'SUBJECT'.padEnd(w)}  ${'CHECK'.padEnd(c)}  STATE    ${'SINCE (UTC)'.padEnd(24)}  WHY\n`);
  for (const r of shown) {
    const state = r.weight !== null && r.state === 'up' ? `up w${r.weight}` : r.state;
    io.out(`${r.subject.padEnd(w)}  ${r.check.padEnd(c)}  ${state.padEnd(7)}  ${(r.since === null ? '-' : isoTime(r.since)).padEnd(24)}  ${r.reason}\n`);
  }
  const count = (s: string) => rows.filter((r) => r.state === s).length;
  io.out(`${rows.length} checks: ${count('up')} up, ${count('down')} down, ${count('unknown')} without a result\n`);
  return 0;
}
