// What every service does around its own work: find its config and node, open the
// node's log, record that it started and why it stopped, stop cleanly on SIGTERM, reload
// its configuration on SIGHUP, store what it counts in memory for the node's /metrics.
import { parseArgs } from 'node:util';
import { compilerTierFor, useCompilerTier } from './compiler-tier.js';
import { ConfigError, formatIssue, loadConfig, logPathForNode, nodeNames, type VigilConfig } from './config/index.js';
import { configFile, NodeSelectionError, resolveNode } from './config/node.js';
import { EventLog, serviceSubject, type NewEvent, type Source, type StoredEvent } from './eventlog/index.js';
import { startBeater } from './eventlog/beater.js';
import { UsageError } from './errors.js';
import { createLogger, throttledWarning, type Logger } from './logger.js';
import { unmapStartUpPages } from './native.js';
import { packageVersion } from './paths.js';
import { setOwnPriority } from './priority.js';
import { atNext, every, type Chore } from './housekeeping.js';
import { periodicCollection } from './idle-collection.js';
import { MetricsRegistry } from './metrics/registry.js';
import { Recorder } from './recorder.js';

import type { ServiceName } from './service-names.js';
export { SERVICE_NAMES, type ServiceName } from './service-names.js';

/**
 * How often a service records that it is alive: four beats within the shortest timeout any
 * reader of its heartbeat applies (the relay's service_silent_ms, vigil status and reload's
 * 2 s, and between the vrrp and fence services fence.liveness_timeout), at most one a second.
 */
export function beatPeriodMs(service: ServiceName, c: VigilConfig): number {
  const timeouts = [c.alerts.service_silent_ms, 2000];
  if (service === 'vrrp' || service === 'fence') timeouts.push(c.fence.liveness_timeout * 1000);
  return Math.max(10, Math.min(1000, Math.floor(Math.min(...timeouts) / 4)));
}
/** How often a service looks whether its beater missed beats (to say so in its log). */
const MISSED_CHECK_MS = 5000;
/**
 * How soon after a change a service stores what it counts in memory, for the node's
 * /metrics (scraped every 15 s or more): a counter that moves every second (adverts sent
 * or received) would otherwise wake its service and write the pulse board every second.
 */
export const METRICS_MS = 5000;
/** When a service's start-up pages are unmapped (shared/native.ts unmapStartUpPages): its start-up over. */
const START_UP_PAGES_MS = 45_000;
/** The services given a full collection every few minutes (shared/idle-collection.ts). */
const COLLECTED: readonly ServiceName[] = ['health', 'relay', 'ipvs'];

export interface ServiceContext {
  config: VigilConfig;
  configFile: string;
  node: string;
  log: EventLog;
  logger: Logger;
  /** What the service counts in memory; stored within METRICS_MS of a change for the node's /metrics. */
  metrics: MetricsRegistry;
}

/** What a reload did, each entry naming what it is about ("instance VI_1", "group web"). */
export interface ReloadChanges {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
  /** What the service could not change while running (besides restartOnlySettings). */
  restart_needed?: string[];
}

/** Returned by a service's start: how to stop it, and how to apply a new configuration as a difference. */
export interface RunningService {
  stop(): void | Promise<void>;
  reload?(config: VigilConfig): ReloadChanges | Promise<ReloadChanges>;
}

/** The settings a running service cannot change (its connections, its log): a reload reports their differences as needing a restart. */
export function restartOnlySettings(service: ServiceName, c: VigilConfig, node: string, file: string): Record<string, string> {
  const common = { cluster: c.cluster, log: logPathForNode(c, node, file) };
  const zookeeper = JSON.stringify(c.zookeeper);
  if (service === 'fence') return { ...common, zookeeper };
  if (service === 'relay') return { ...common, zookeeper, nats: JSON.stringify(c.nats ?? null), metrics: JSON.stringify([c.metrics ?? null, c.nodes[node]?.metrics_listen ?? null]) };
  return common;
}

/**
 * How a service appends: in order through the one Recorder of its log (shared by every
 * part of the service); while the log refuses writes, events are kept and appended late.
 * The log is the record, not the control path: nothing here throws.
 */
export function recorder(log: EventLog, logger: Logger): (e: NewEvent) => StoredEvent | undefined {
  const r = recorderOf(log, logger);
  return (e) => r.record(e);
}

const recorders = new WeakMap<EventLog, Recorder>();
/** The one Recorder of a log in this process. */
export function recorderOf(log: EventLog, logger: Logger): Recorder {
  let r = recorders.get(log);
  if (!r) {
    r = new Recorder(log, logger);
    recorders.set(log, r);
  }
  return r;
}

/** A service's liveness from its last heartbeat. */
export interface ServiceView {
  service: ServiceName;
  state: 'alive' | 'silent' | 'stopped' | 'never ran';
  pid: number | null;
  /** ms since its last heartbeat; null when it never ran or recorded its stop */
  age_ms: number | null;
}

export function serviceView(service: ServiceName, hb: { pid: number; ts: number } | undefined, now: number, withinMs: number): ServiceView {
  if (!hb) return { service, state: 'never ran', pid: null, age_ms: null };
  if (hb.ts === 0) return { service, state: 'stopped', pid: hb.pid, age_ms: null };
  const age = Math.max(0, now - hb.ts);
  return { service, state: age <= withinMs ? 'alive' : 'silent', pid: hb.pid, age_ms: age };
}

/** Whether a service is alive, in a sentence; while alive, in how many ms it turns stale unless it beats again. */
export interface Liveness {
  alive: boolean;
  detail: string;
  staleInMs?: number;
}

/** Whether another service of this node has recorded a heartbeat within timeoutMs, and a sentence saying so. */
export function serviceLiveness(log: EventLog, service: ServiceName, timeoutMs: number): Liveness {
  let hb: { pid: number; ts: number } | undefined;
  try {
    hb = log.heartbeat(service);
  } catch (err) {
    return { alive: false, detail: `cannot read the ${service} heartbeat: ${(err as Error).message}` };
  }
  const v = serviceView(service, hb, Date.now(), timeoutMs);
  const detail = {
    alive: `${service} service alive`,
    'never ran': `${service} service never ran`,
    stopped: `${service} service not alive (last heartbeat at its stop)`,
    silent: `${service} service not alive (last heartbeat ${v.age_ms} ms ago)`,
  }[v.state];
  return v.state === 'alive' ? { alive: true, detail, staleInMs: timeoutMs - v.age_ms! } : { alive: false, detail };
}

/**
 * How long a service's own stop may take after SIGTERM (or a fatal error) before it records
 * its stop and exits anyway, and how long each of those last writes may then wait for the
 * log's lock: a stop ends well within the 10 s that docker and systemd give before SIGKILL,
 * whatever it waited on (a notify script, a log that other processes keep locked).
 */
export const STOP_WORK_MS = 6000;
export const STOP_BUSY_MS = 500;

/** Waits for work, or for ms at most (then calls late and goes on). */
async function within(work: () => void | Promise<void>, ms: number, late: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      late();
      resolve();
    }, ms);
  });
  try {
    await Promise.race([Promise.resolve().then(work), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Exit status of a service that cannot start or go on for a reason that may pass (a full disk): a supervisor should retry. */
export const EXIT_TEMPFAIL = 75;
/** Exit status of a service that ended on an internal error (recorded first). */
export const EXIT_SOFTWARE = 70;

/** A service refused to start; the message is one line for the operator. */
export class ServiceStartRefused extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = 'ServiceStartRefused';
  }
}

export async function runService(name: Exclude<Source, 'cli'>, argv: string[], stop: AbortSignal, start: (ctx: ServiceContext) => Promise<RunningService>): Promise<number> {
  let values: { config?: string | undefined; node?: string | undefined };
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, node: { type: 'string' } }, strict: true }));
  } catch (err) {
    throw new UsageError(`vigil run ${name}: ${(err as Error).message}`);
  }
  const file = configFile(values.config);
  if (file === undefined) throw new NodeSelectionError('give --config FILE (or set VIGIL_CONFIG, or create /etc/vigil/vigil.yaml)');
  const { config } = loadConfig(file);
  const node = resolveNode(nodeNames(config), values.node);
  const logger = createLogger({ service: name, node });
  useCompilerTier(compilerTierFor(name, config, node));
  const profileDir = process.env.VIGIL_CPU_PROFILE;
  const endProfile = profileDir ? (await import('./cpu-profile.js')).startCpuProfile(profileDir, name) : undefined;
  const nice = name === 'vrrp' || name === 'fence' ? config.global_defs.vrrp_priority : name === 'health' ? config.global_defs.checker_priority : 0;
  const refused = setOwnPriority(nice);
  if (refused) logger.warn('cannot change this service\'s priority (it needs CAP_SYS_NICE): it runs at ordinary priority, its timers late on a busy machine', { nice, error: refused });
  const subject = serviceSubject(name);
  const path = logPathForNode(config, node, file);
  let log: EventLog;
  try {
    log = EventLog.open({
      path,
      node,
      backgroundCheckpoint: true,
      onCheckpointError: (err) => logger.error('checkpoint thread failed; appends now checkpoint the log themselves', { err }),
    });
  } catch (err) {
    throw refusal(name, path, err);
  }
  try {
    log.append({ type: 'service.started', source: name, subject, data: { service: name, version: packageVersion(), pid: process.pid } });
  } catch (err) {
    log.close();
    throw refusal(name, path, err);
  }
  const record = recorderOf(log, logger);
  logger.info('started', { config: file, log: log.path });
  // The pulse other services watch (the vrrp service goes to FAULT without the fence's).
  const pulseFailed = throttledWarning(logger, 'cannot record heartbeat');
  const pulse = () => {
    try {
      log.beat(name, process.pid);
    } catch (err) {
      pulseFailed({ err });
    }
  };
  pulse();
  // Then from a thread (no JavaScript wakes for it), while the event loop answers it.
  const beatFrom = (period: number) => startBeater(log.path, name, period, pulse, (err) => logger.warn('heartbeats from a JavaScript timer: the native beater cannot start', { err }));
  let beater = beatFrom(beatPeriodMs(name, config));
  let missedBefore = 0;
  // (This chore's timer also keeps the process alive until its stop, whatever the service runs.)
  const missedCheck = every(MISSED_CHECK_MS, () => {
    const missed = beater.missed();
    if (missed > missedBefore) pulseFailed({ missed: missed - missedBefore, detail: 'the disk refused a fresh block or the heartbeat file a write' });
    missedBefore = missed;
  });
  const metrics = new MetricsRegistry();
  metrics.attach('vigil_eventlog_append_seconds', { service: name }, log.appendLatency);
  let storedMetrics = '';
  let metricsStore: Chore | undefined;
  const storeMetrics = () => {
    metricsStore = undefined;
    const json = JSON.stringify(metrics.snapshot());
    if (json === storedMetrics) return;
    try {
      log.putServiceMetrics(name, json);
      storedMetrics = json;
    } catch (err) {
      pulseFailed({ err });
      metricsStore ??= atNext(METRICS_MS, storeMetrics); // the change is still to be stored
    }
  };
  storeMetrics();
  // Stored within METRICS_MS of a change, batched: an idle service stores nothing and wakes for nothing.
  metrics.onChange = () => {
    metricsStore ??= atNext(METRICS_MS, storeMetrics);
  };
  const stopped = (data: { reason: 'signal' | 'error' | 'exit'; signal?: string; error?: string }): number => {
    beater.stop();
    missedCheck.stop();
    metricsStore?.stop();
    metrics.onChange = undefined;
    try {
      log.setBusyTimeout(STOP_BUSY_MS);
    } catch {
      // a closed or failing connection: the writes below fail at once anyway
    }
    try {
      log.beat(name, process.pid, 0); // gone now, not in liveness_timeout
    } catch {
      // the liveness timeout tells the same, a little later
    }
    record.record({ type: 'service.stopped', source: name, subject, data: { service: name, pid: process.pid, ...data } });
    const lost = record.close();
    log.close();
    endProfile?.();
    return lost;
  };

  // SIGHUP (keepalived's reload, and vigil reload): the configuration file read again and,
  // if it is valid and still names this node, applied by the service as a difference; one
  // reload at a time, a signal during one runs another after it. Never fatal.
  let current = config;
  const reload = async (): Promise<void> => {
    let next: VigilConfig;
    try {
      next = loadConfig(file).config;
      if (!nodeNames(next).includes(node)) throw new Error(`node "${node}" is no longer in the configuration (nodes: ${nodeNames(next).join(', ')})`);
    } catch (err) {
      const errors = err instanceof ConfigError ? err.issues.map(formatIssue) : [(err as Error).message];
      logger.error('configuration refused on reload: the service runs on with the one it had', { config: file, errors });
      record.record({ type: 'service.reload_refused', source: name, subject, data: { service: name, pid: process.pid, config: file, errors: errors.map((e) => e.slice(0, 1024)) } });
      return;
    }
    const before = restartOnlySettings(name, current, node, file);
    const after = restartOnlySettings(name, next, node, file);
    const { restart_needed: alsoNeeded = [], ...changes } = (await running?.reload?.(next)) ?? { added: [], removed: [], changed: [], unchanged: [] };
    const restartNeeded = [...Object.keys(after).filter((k) => before[k] !== after[k]), ...alsoNeeded];
    const period = beatPeriodMs(name, next);
    if (period !== beatPeriodMs(name, current)) {
      beater.stop();
      missedBefore = 0;
      beater = beatFrom(period);
    }
    useCompilerTier(compilerTierFor(name, next, node));
    current = next;
    logger.info('configuration reloaded', { config: file, ...changes, restart_needed: restartNeeded });
    if (restartNeeded.length > 0) logger.warn('settings changed that take effect only when the service restarts', { restart_needed: restartNeeded });
    record.record({ type: 'service.reloaded', source: name, subject, data: { service: name, pid: process.pid, config: file, ...changes, restart_needed: restartNeeded } });
  };
  let reloading: Promise<void> = Promise.resolve();
  let hangupWhileStarting = false;
  const onHangup = () => {
    if (!running) {
      hangupWhileStarting = true; // applied once started (the start reads the file it had)
      return;
    }
    reloading = reloading.then(reload).catch((err: unknown) => {
      // A fault while applying: some parts may run the new configuration, others the old.
      logger.error('reload failed while applying the configuration; the service runs on (restart it to be sure of what it runs)', { err });
      record.record({ type: 'service.reload_refused', source: name, subject, data: { service: name, pid: process.pid, config: file, errors: [`failed while applying: ${(err as Error).message}`.slice(0, 1024)] } });
    });
  };
  process.on('SIGHUP', onHangup);

  // An exception that escapes everything (from inside a library, most likely) ends the
  // service, but not unnoticed: recorded, the service stopped as cleanly as it can be
  // (the fence gives its VIPs up), and a non-zero exit for the supervisor to restart it.
  let running: RunningService | undefined;
  let dying = false;
  const fatal = (kind: string) => (err: unknown) => {
    const error = err instanceof Error ? err : new Error(String(err));
    if (dying) {
      logger.error(`${kind} while stopping after an earlier one`, { err: error });
      return;
    }
    dying = true;
    logger.error(`${kind}: the service stops and exits ${EXIT_SOFTWARE}`, { err: error });
    void within(() => running?.stop(), STOP_WORK_MS, () => logger.error(`the service did not finish stopping within ${STOP_WORK_MS} ms of the error; it exits anyway`))
      .catch((e: unknown) => logger.error('stop after the error failed', { err: e }))
      .finally(() => {
        stopped({ reason: 'error', error: `${kind}: ${error.message}`.slice(0, 1024) });
        process.exit(EXIT_SOFTWARE);
      });
  };
  const onException = fatal('uncaught exception');
  const onRejection = fatal('unhandled promise rejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);

  try {
    running = await start({ config, configFile: file, node, log, logger, metrics });
  } catch (err) {
    logger.error('cannot start', { err });
    stopped({ reason: 'error', error: (err as Error).message.slice(0, 1024) });
    process.off('SIGHUP', onHangup);
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
    return 1;
  }
  if (hangupWhileStarting) onHangup();
  // The services whose idle work leaves garbage get a full collection every few minutes (the
  // vrrp and fence services' heaps stay flat, and a collection's pause is best kept out of
  // them); the first right after the unmapping (the collector's code is mapped back once).
  const collection = COLLECTED.includes(name) ? periodicCollection() : undefined;
  // Once the start-up's work is done (elections, first checks, the checkpoint thread's first look).
  const startUpPages = setTimeout(() => {
    logger.debug('start-up pages unmapped', { mib: Math.round(unmapStartUpPages() / 2 ** 20) });
    collection?.collectNow();
  }, START_UP_PAGES_MS);
  startUpPages.unref();
  if (!stop.aborted) await new Promise((resolve) => stop.addEventListener('abort', resolve, { once: true }));
  const signal = typeof stop.reason === 'string' ? stop.reason : undefined;
  const service = running;
  // (a reload under way finishes first: a stop in the middle of one would leave parts running)
  clearTimeout(startUpPages);
  collection?.stop();
  await within(async () => {
    await reloading;
    await service.stop();
  }, STOP_WORK_MS, () => logger.error(`the service did not finish stopping within ${STOP_WORK_MS} ms${signal ? ` of ${signal}` : ''}; it records its stop and exits anyway`));
  logger.info('stopped', { signal });
  const lost = stopped({ reason: signal ? 'signal' : 'exit', ...(signal ? { signal } : {}) });
  process.off('SIGHUP', onHangup);
  process.off('uncaughtException', onException);
  process.off('unhandledRejection', onRejection);
  if (lost > 0) {
    logger.error(`stopped with ${lost} events not recorded: the event log refuses writes`, { log: path });
    return EXIT_TEMPFAIL;
  }
  return 0;
}

/** Why a service cannot use its log, in one line; exit 75 for what may pass (a full or failing disk, a lock held too long), 2 for what will not. */
function refusal(service: string, path: string, err: unknown): ServiceStartRefused {
  const why = err instanceof Error ? err.message : String(err);
  const full = /disk is full|SQLITE_FULL|no space/i.test(why);
  const passing = full || /SQLITE_IOERR|disk I\/O|database is locked|SQLITE_BUSY/i.test(why);
  const hint = full ? ' (free space on its filesystem, then start again)' : /readonly|read-only/i.test(why) ? ' (the service must be able to write its log)' : '';
  return new ServiceStartRefused(`vigil run ${service}: cannot write the event log ${path}: ${why.replace(/^cannot open event log \S+: /, '')}${hint}`, passing ? EXIT_TEMPFAIL : 2);
}
