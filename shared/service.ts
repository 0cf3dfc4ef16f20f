// What every service does around its own work: find its config and node, open the
// node's log, record that it started and why it stopped, stop cleanly on SIGTERM.
import { parseArgs } from 'node:util';
import { loadConfig, logPathForNode, nodeNames, type VigilConfig } from './config/index.js';
import { configFile, NodeSelectionError, resolveNode } from './config/node.js';
import { EventLog, serviceSubject, type NewEvent, type Source, type StoredEvent } from './eventlog/index.js';
import { UsageError } from './errors.js';
import { createLogger, type Logger } from './logger.js';
import { packageVersion } from './paths.js';

/** How often every service records that it is alive. */
export const HEARTBEAT_MS = 100;

export interface ServiceContext {
  config: VigilConfig;
  configFile: string;
  node: string;
  log: EventLog;
  logger: Logger;
}

/** Returned by a service's start: how to stop it. */
export interface RunningService {
  stop(): void | Promise<void>;
}

/** Appends an event; a failure is logged, not thrown: the log is the record, not the control path. */
export function recorder(log: EventLog, logger: Logger): (e: NewEvent) => StoredEvent | undefined {
  return (e) => {
    try {
      return log.append(e);
    } catch (err) {
      logger.error('cannot append to the event log', { type: e.type, err });
      return undefined;
    }
  };
}

/** Whether another service of this node has recorded a heartbeat within timeoutMs, and a sentence saying so. */
export function serviceLiveness(log: EventLog, service: Exclude<Source, 'cli'>, timeoutMs: number): { alive: boolean; detail: string } {
  let hb: { pid: number; ts: number } | undefined;
  try {
    hb = log.heartbeat(service);
  } catch (err) {
    return { alive: false, detail: `cannot read the ${service} heartbeat: ${(err as Error).message}` };
  }
  const age = hb ? Date.now() - hb.ts : undefined;
  const alive = age !== undefined && age <= timeoutMs;
  const detail = alive ? `${service} service alive` : age === undefined ? `${service} service never ran` : `${service} service not alive (last heartbeat ${hb!.ts === 0 ? 'at its stop' : `${age} ms ago`})`;
  return { alive, detail };
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
  const log = EventLog.open({
    path: logPathForNode(config, node, file),
    node,
    backgroundCheckpoint: true,
    onCheckpointError: (err) => logger.error('checkpoint thread failed; appends now checkpoint the log themselves', { err }),
  });
  const subject = serviceSubject(name);
  log.append({ type: 'service.started', source: name, subject, data: { service: name, version: packageVersion(), pid: process.pid } });
  logger.info('started', { config: file, log: log.path });
  // The pulse other services watch (the vrrp service goes to FAULT without the fence's).
  const pulse = () => {
    try {
      log.beat(name, process.pid);
    } catch (err) {
      logger.warn('cannot record heartbeat', { err });
    }
  };
  pulse();
  const pulseTimer = setInterval(pulse, HEARTBEAT_MS);
  let running: RunningService;
  try {
    running = await start({ config, configFile: file, node, log, logger });
  } catch (err) {
    clearInterval(pulseTimer);
    logger.error('cannot start', { err });
    log.append({ type: 'service.stopped', source: name, subject, data: { service: name, pid: process.pid, reason: 'error', error: (err as Error).message } });
    log.close();
    return 1;
  }
  if (!stop.aborted) await new Promise((resolve) => stop.addEventListener('abort', resolve, { once: true }));
  clearInterval(pulseTimer);
  await running.stop();
  log.beat(name, process.pid, 0); // gone now, not in liveness_timeout
  const signal = typeof stop.reason === 'string' ? stop.reason : undefined;
  log.append({ type: 'service.stopped', source: name, subject, data: { service: name, pid: process.pid, reason: signal ? 'signal' : 'exit', ...(signal ? { signal } : {}) } });
  logger.info('stopped', { signal });
  log.close();
  return 0;
}
