import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, logPathForNode, nodeNames } from '../shared/config/index.js';
import { EventLog } from '../shared/eventlog/index.js';

/** A mistake in how the command was called: printed with usage hints, exit status 2. */
export class UsageError extends Error {}

export const DEFAULT_CONFIG = '/etc/vigil/vigil.yaml';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const commonOptions = {
  config: { type: 'string', short: 'c' },
  node: { type: 'string' },
  db: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export interface Target {
  config?: string | undefined;
  node?: string | undefined;
  db?: string | undefined;
}

/** Which config file: --config, $VIGIL_CONFIG, or /etc/vigil/vigil.yaml if present. */
export function configFile(t: Target): string | undefined {
  return t.config ?? process.env.VIGIL_CONFIG ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
}

/** Which node this is: --node, $VIGIL_NODE, the host name if it is a node, or the only node. */
export function resolveNode(names: string[], given: string | undefined): string {
  const node = given ?? process.env.VIGIL_NODE;
  if (node !== undefined) {
    if (!names.includes(node)) throw new UsageError(`node "${node}" is not in the configuration (nodes: ${names.join(', ')})`);
    return node;
  }
  const host = hostname().split('.')[0]!;
  if (names.includes(host)) return host;
  if (names.length === 1) return names[0]!;
  throw new UsageError(`which node is this? give --node (one of ${names.join(', ')}) or set VIGIL_NODE`);
}

/** Opens an existing log named by --db, or by the config and node (--node then picks whose log). */
export function openLog(t: Target): EventLog {
  if (t.db !== undefined) return EventLog.open({ path: t.db, mustExist: true, node: t.node });
  const file = configFile(t);
  if (file === undefined) throw new UsageError(`give --db PATH or --config FILE (no ${DEFAULT_CONFIG})`);
  const { config } = loadConfig(file);
  const node = resolveNode(nodeNames(config), t.node);
  return EventLog.open({ path: logPathForNode(config, node, file), mustExist: true, node });
}
