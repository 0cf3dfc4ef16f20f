import { parseArgs, type ParseArgsConfig } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, logPathForNode, nodeNames, type VigilConfig } from '../shared/config/index.js';
import { configFile, DEFAULT_CONFIG, resolveNode } from '../shared/config/node.js';
import { EventLog } from '../shared/eventlog/index.js';
import { parseTime, TimeParseError } from '../shared/time.js';

import { UsageError } from '../shared/errors.js';

export { UsageError };

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /**
   * While output is waiting for a slow reader: a promise of the moment it can take more
   * (undefined when it can now). Commands that print without end (--follow) wait for it,
   * so that their memory stays bounded whatever the reader does.
   */
  drain?: () => Promise<void> | undefined;
}

export const commonOptions = {
  config: { type: 'string', short: 'c' },
  node: { type: 'string' },
  db: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

/** A time option (--since 10m, --at 03:12:07, ...) as unix ms; a usage error naming the option when it cannot be read. */
export function timeOption(name: string, v: string | undefined, now: number): number | undefined {
  if (v === undefined) return undefined;
  try {
    return parseTime(v, now);
  } catch (err) {
    if (err instanceof TimeParseError) throw new UsageError(`--${name}: ${err.message}`);
    throw err;
  }
}

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A verb's options, no positional argument allowed; undefined when it printed its usage for --help. */
export function parseVerb<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O, usage: string, io: Io) {
  const { values, positionals } = parse(argv, options);
  if ((values as { help?: boolean }).help) {
    io.out(usage + '\n');
    return undefined;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected "${String(positionals[0])}"\n${usage}`);
  return values;
}

export interface Target {
  config?: string | undefined;
  node?: string | undefined;
  db?: string | undefined;
}

/** The configuration named by --config (or its defaults), for a command about the cluster rather than one node. */
export function loadClusterConfig(t: Target, orElse = ''): { config: VigilConfig; file: string } {
  const file = configFile(t.config);
  if (file === undefined) throw new UsageError(`give ${orElse}--config FILE (no ${DEFAULT_CONFIG})`);
  return { config: loadConfig(file).config, file };
}

/** The configuration named by --config (or its defaults) and the node it is read for. */
export function loadNodeConfig(t: Target, orElse: string): { config: VigilConfig; node: string; file: string } {
  const { config, file } = loadClusterConfig(t, orElse);
  return { config, node: resolveNode(nodeNames(config), t.node), file };
}

/** A duration option in seconds (above 0), as ms; a usage error naming the option otherwise. */
export function secondsOption(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name}: "${v}" is not a number of seconds above 0`);
  return n * 1000;
}

/** --db names the log file, or a node's folder that holds it (events.db), as vigil postmortem takes it. */
function logFileOf(path: string): string {
  if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) return path;
  const inside = join(path, 'events.db');
  if (existsSync(inside)) return inside;
  throw new UsageError(`--db ${path}: a folder without events.db in it: give the log file (vigil's log.path)`);
}

/** Opens an existing log named by --db, or by the config and node (--node then picks whose log); read-only unless asked to write. */
export function openLog(t: Target, o: { write?: boolean } = {}): EventLog {
  const mode = o.write ? { mustExist: true } : { readOnly: true };
  if (t.db !== undefined) return EventLog.open({ path: logFileOf(t.db), node: t.node, ...mode });
  const { config, node, file } = loadNodeConfig(t, '--db PATH or ');
  return EventLog.open({ path: logPathForNode(config, node, file), node, ...mode });
}
