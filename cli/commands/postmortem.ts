// vigil postmortem: one cluster timeline from every node's log (copies of the files, or the
// JetStream stream the relays publish into): who held a VIP at a moment and why, every
// change of holder with its why, the windows without a holder, any with two.
import { existsSync, writeFileSync } from 'node:fs';
import { ConfigError, loadConfig, logPathForNode, nodeNames } from '../../shared/config/index.js';
import { configFile, DEFAULT_CONFIG } from '../../shared/config/node.js';
import { buildHistory, holderAt, unownedAt } from '../../shared/postmortem/history.js';
import { answerAt, buildReport } from '../../shared/postmortem/report.js';
import { parse, timeOption, UsageError, type Io } from '../common.js';
import { reportHtml } from '../postmortem/html.js';
import { loadDbFiles, loadStream, type Loaded } from '../postmortem/sources.js';
import { answerText, reportText } from '../postmortem/text.js';
import { postmortemUsage } from '../usage.js';


/** A whole record bigger than this takes seconds to report (a month of 1,000,000 events: ~20 s): say so. */
const BIG_RECORD = 200_000;

const options = {
  config: { type: 'string', short: 'c' },
  db: { type: 'string', multiple: true },
  stream: { type: 'boolean', default: false },
  vip: { type: 'string' },
  at: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  html: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function postmortemCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, options);
  if (values.help) {
    io.out(postmortemUsage + '\n');
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected "${positionals[0]}"\n${postmortemUsage}`);
  const now = Date.now();
  const at = timeOption('at', values.at, now);
  const since = timeOption('since', values.since, now);
  const until = timeOption('until', values.until, now);
  if (at !== undefined && (since !== undefined || until !== undefined)) throw new UsageError('--at asks about one moment; --since/--until about a window: give one or the other');
  if (since !== undefined && until !== undefined && until < since) throw new UsageError('--until is before --since');
  if (values.stream && values.db) throw new UsageError('read either the stream (--stream) or log files (--db), not both');

  const window = at !== undefined ? { until: at } : { since, until };
  let loaded: Loaded;
  try {
    loaded = await load(values, window, at !== undefined);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) throw err; // exit 2, as every command
    io.err(`vigil: cannot read the record: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    for (const n of loaded.notes) io.err(`vigil: ${n}\n`);
    if (loaded.skipped.count > 0) io.err(`vigil: skipped ${loaded.skipped.count} message(s) that are not events, the first: ${loaded.skipped.first}\n`);
    if (loaded.events.length === 0) {
      io.err('vigil: no events in the record read\n');
      return 1;
    }
    const history = buildHistory(loaded.events, loaded.lookup);
    if (values.vip !== undefined && !history.groups.includes(values.vip)) {
      throw new UsageError(`no VIP group "${values.vip}" was ever bound in this record (groups: ${history.groups.join(', ') || 'none'})`);
    }
    if (at !== undefined) {
      const group = values.vip ?? (history.groups.length === 1 ? history.groups[0]! : undefined);
      if (group === undefined) throw new UsageError(`--at needs --vip GROUP (groups: ${history.groups.join(', ')})`);
      // The history was read alone; the causes and context of this one answer are read now,
      // from the end of the tenure before (3 s earlier: what happened to its holder) to T.
      const t = holderAt(history, group, at);
      const list = history.tenures.get(group) ?? [];
      const before = t ? list[list.indexOf(t) - 1] : unownedAt(history, group, at)?.before;
      const since = Math.min(before?.to ?? before?.from ?? t?.from ?? at, t?.from ?? at) - 3000;
      loaded.widen({ since, until: at });
      const answer = answerAt(buildHistory(loaded.events, loaded.lookup), group, at);
      io.out(values.json ? JSON.stringify(answer) + '\n' : answerText(answer));
      return 0;
    }
    if (loaded.events.length > BIG_RECORD && since === undefined && until === undefined) {
      io.err(`vigil: reading ${loaded.events.length.toLocaleString('en')} events (the whole record, ${Math.round((history.end - history.start) / 86_400_000)} days): --since/--until an incident's window answers in a second or two\n`);
    }
    const report = buildReport(history, loaded.events, { since, until, group: values.vip });
    io.out(values.json ? JSON.stringify({ ...report, origins: loaded.origins }) + '\n' : reportText(report, loaded.origins));
    if (values.html !== undefined) {
      writeFileSync(values.html, reportHtml(report, history, loaded.events));
      if (!values.json) io.out(`HTML timeline: ${values.html}\n`);
    }
    return report.groups.some((g) => g.overlaps.length > 0) ? 1 : 0;
  } finally {
    loaded.close();
  }
}

async function load(values: { config?: string | undefined; db?: string[] | undefined; stream: boolean }, window: { since?: number | undefined; until?: number | undefined }, historyOnly: boolean): Promise<Loaded> {
  if (values.db) return loadDbFiles(values.db, window, { historyOnly });
  const file = configFile(values.config);
  if (file === undefined) throw new UsageError(`give --db PATH (a node's log file or a folder of them), or --config FILE (no ${DEFAULT_CONFIG})`);
  const { config } = loadConfig(file);
  if (values.stream) {
    if (!config.nats) throw new UsageError('the configuration has no nats section: there is no stream to read (give --db files)');
    return loadStream({ servers: config.nats.servers, stream: config.nats.stream, cluster: config.cluster }, window);
  }
  const paths = nodeNames(config).map((n) => logPathForNode(config, n, file)).filter((p) => existsSync(p));
  if (paths.length === 0) throw new UsageError(`none of the logs ${file} names is on this machine: give --db PATH (copies from the nodes) or --stream`);
  return loadDbFiles(paths, window, { historyOnly });
}
