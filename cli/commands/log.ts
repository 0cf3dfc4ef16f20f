import { userInfo } from 'node:os';
import { eventMatches, expandTypePatterns, operatorSubject, subscribe, UnknownEventType, summarize, verifyLog, type EventFilter, type EventLog, type StoredEvent } from '../../shared/eventlog/index.js';
import { isoTime } from '../../shared/time.js';
import { loadConfig } from '../../shared/config/index.js';
import { configFile } from '../../shared/config/node.js';
import { compareWithStream, type StreamCheck } from '../../shared/nats-witness.js';
import { commonOptions, openLog, parse, timeOption as time, UsageError, type Io } from '../common.js';
import { logUsage } from '../usage.js';


const logOptions = {
  ...commonOptions,
  since: { type: 'string' },
  until: { type: 'string' },
  type: { type: 'string', multiple: true },
  subject: { type: 'string' },
  correlation: { type: 'string' },
  after: { type: 'string' },
  limit: { type: 'string' },
  follow: { type: 'boolean', short: 'f', default: false },
  author: { type: 'string' },
  offline: { type: 'boolean', default: false },
} as const;

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number (got "${v}")`);
  return Number(v);
}


export function formatEvent(e: StoredEvent): string {
  const corr = e.correlation ? ` [${e.correlation}]` : '';
  const cause = e.causation ? ` (after #${e.causation})` : '';
  return `${String(e.seq).padStart(7)}  ${isoTime(e.ts)}  ${e.node.padEnd(8)} ${e.type.padEnd(24)} ${e.subject.padEnd(20)} ${summarize(e)}${cause}${corr}`;
}

const HEADER = `${'SEQ'.padStart(7)}  ${'TIME (UTC)'.padEnd(24)}  ${'NODE'.padEnd(8)} ${'TYPE'.padEnd(24)} ${'SUBJECT'.padEnd(20)} WHAT`;

export async function logCommand(argv: string[], io: Io, stop: AbortSignal): Promise<number> {
  const { values, positionals } = parse(argv, logOptions);
  if (values.help) {
    io.out(logUsage + '\n');
    return 0;
  }
  const [verb, ...rest] = positionals;
  if (verb === 'verify') {
    const witness = witnessOf(values);
    return withLog(values, (log) => verify(log, witness, values.json, io));
  }
  if (verb === 'note') {
    const text = rest.join(' ').trim();
    if (text === '') throw new UsageError('vigil log note "what you are doing"');
    return withLog(values, (log) => note(log, text, values.author, values.json, io), { write: true });
  }
  if (verb !== undefined) throw new UsageError(`unknown log verb "${verb}"\n${logUsage}`);

  const now = Date.now();
  const filter: EventFilter = {
    since: time('since', values.since, now),
    until: time('until', values.until, now),
    types: typesOf(values.type),
    subject: values.subject,
    correlation: values.correlation,
    afterSeq: int('after', values.after),
  };
  if (values.follow && filter.until !== undefined) throw new UsageError('--follow and --until do not go together');
  const limit = int('limit', values.limit) ?? 100;
  const log = openLog(values);
  try {
    const line = (e: StoredEvent) => (values.json ? JSON.stringify(e) : formatEvent(e)) + '\n';
    const upTo = log.lastSeq();
    if (!values.json) io.out(HEADER + '\n');
    if (limit === 0) {
      // Every match, page by page, at the reader's pace.
      let after = filter.afterSeq ?? 0;
      for (;;) {
        const page = log.query({ ...filter, afterSeq: after, toSeq: upTo, limit: PAGE });
        for (const e of page) io.out(line(e));
        if (page.length < PAGE || !(await drained(io, stop))) break;
        after = page[page.length - 1]!.seq;
      }
    } else {
      const rows = log.query({ ...filter, toSeq: upTo, newest: true, limit: limit + 1 });
      if (rows.length > limit) {
        rows.shift();
        io.err(`(the newest ${limit} matching events; --limit 0 shows all)\n`);
      }
      for (const e of rows) io.out(line(e));
    }
    if (!values.follow || stop.aborted) return 0;
    await new Promise<void>((resolve) => {
      const sub = subscribe(log, { after: upTo, batchSize: PAGE }, async (batch) => {
        for (const e of batch) if (eventMatches(filter, e)) io.out(line(e));
        await drained(io, stop);
      });
      stop.addEventListener('abort', () => {
        sub.close();
        resolve();
      }, { once: true });
    });
    return 0;
  } finally {
    log.close();
  }
}

const PAGE = 500;

/** --type values: comma-separated globs (vrrp.*, fence.lease*, *.changed), each naming at least one type. */
function typesOf(values: string[] | undefined): string[] | undefined {
  const patterns = values?.flatMap((t) => t.split(',')).map((t) => t.trim()).filter((t) => t !== '');
  if (!patterns || patterns.length === 0) return undefined;
  try {
    return expandTypePatterns(patterns);
  } catch (err) {
    if (err instanceof UnknownEventType) throw new UsageError(`--type: ${err.message}`);
    throw err;
  }
}

/** Waits until the output can take more; false if stopped meanwhile. */
async function drained(io: Io, stop: AbortSignal): Promise<boolean> {
  const wait = io.drain?.();
  if (wait && !stop.aborted) {
    let onAbort = () => {};
    await Promise.race([wait, new Promise<void>((resolve) => stop.addEventListener('abort', (onAbort = () => resolve()), { once: true }))]);
    stop.removeEventListener('abort', onAbort);
  }
  return !stop.aborted;
}

async function withLog(target: { config?: string; node?: string; db?: string }, f: (log: EventLog) => number | Promise<number>, o: { write?: boolean } = {}): Promise<number> {
  const log = openLog(target, o);
  try {
    return await f(log);
  } finally {
    log.close();
  }
}

/** The stream to compare with: the config's nats section, when a config is given or found (not with --db alone). */
function witnessOf(values: { config?: string | undefined; db?: string | undefined; offline?: boolean }): { servers: string[]; stream: string; cluster: string } | undefined {
  if (values.offline) return undefined;
  const file = configFile(values.config);
  if (file === undefined || (values.db !== undefined && values.config === undefined)) return undefined;
  const { config } = loadConfig(file);
  return config.nats ? { servers: config.nats.servers, stream: config.nats.stream, cluster: config.cluster } : undefined;
}

async function verify(log: EventLog, witness: ReturnType<typeof witnessOf>, json: boolean, io: Io): Promise<number> {
  const r = verifyLog(log);
  let stream: StreamCheck | { error: string } | undefined;
  if (witness) {
    try {
      stream = await compareWithStream(log, witness);
    } catch (err) {
      stream = { error: `cannot compare with the stream ${witness.stream} on ${witness.servers.join(', ')}: ${(err as Error).message}` };
    }
  }
  const streamProblem = stream && 'problem' in stream ? stream.problem : undefined;
  const ok = r.ok && streamProblem === undefined;
  if (json) {
    io.out(JSON.stringify({ path: log.path, ...r, ok, ...(stream ? { stream } : {}) }) + '\n');
    return ok ? 0 : 1;
  }
  if (r.firstBadSeq !== undefined) {
    io.out(`${log.path}: BROKEN at seq ${r.firstBadSeq}: ${r.problem}\n  events 1..${r.lastSeq} verify; everything from seq ${r.firstBadSeq} on is suspect\n`);
  } else {
    io.out(`${log.path}: chain intact, ${r.checked} events (seq 1..${r.lastSeq})\n`);
  }
  if (r.missingTriggers.length > 0) {
    io.out(`  WARNING: append-only triggers missing (${r.missingTriggers.join(', ')}): the log can be altered; rows appended from now on are not protected\n`);
  }
  if (r.alteredTriggers.length > 0) {
    io.out(`  WARNING: triggers not as vigil defines them (${r.alteredTriggers.join(', ')}): someone replaced the append-only guards; the log can be altered\n`);
  }
  if (r.indexProblem !== undefined) {
    io.out(`  SUBJECT INDEX WRONG: ${r.indexProblem}; --subject queries may miss or invent events (the events themselves are as verified above)\n`);
  }
  if (stream === undefined) io.out('  (not compared with a copy kept elsewhere: give --config with a nats section to compare with the relay\'s stream)\n');
  else if ('error' in stream) io.out(`  ${stream.error}\n`);
  else if (stream.problem) io.out(`  DIFFERS FROM THE STREAM ${stream.stream} at seq ${stream.problem.seq}: ${stream.problem.text}\n`);
  else io.out(`  the stream ${stream.stream} agrees: ${stream.compared} events compared (it holds this log up to seq ${stream.witnessedUpTo})\n`);
  return ok ? 0 : 1;
}

function note(log: EventLog, text: string, author: string | undefined, json: boolean, io: Io): number {
  const who = author ?? process.env.SUDO_USER ?? process.env.USER ?? userInfo().username;
  const e = log.append({ type: 'operator.note', source: 'cli', subject: operatorSubject(who), data: { text, author: who } });
  io.out(json ? JSON.stringify(e) + '\n' : `noted as seq ${e.seq} (${e.id})\n`);
  return 0;
}
