// Which configuration file and which node a process is about.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';

export const DEFAULT_CONFIG = '/etc/vigil/vigil.yaml';

export class NodeSelectionError extends Error {}

/** --config, $VIGIL_CONFIG, or /etc/vigil/vigil.yaml if present. */
export function configFile(given: string | undefined): string | undefined {
  return given ?? (process.env.VIGIL_CONFIG || undefined) ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
}

/** --node, $VIGIL_NODE, the host name if it is a node, or the only node. */
export function resolveNode(names: string[], given: string | undefined): string {
  const node = given ?? (process.env.VIGIL_NODE || undefined);
  if (node !== undefined) {
    if (!names.includes(node)) throw new NodeSelectionError(`node "${node}" is not in the configuration (nodes: ${names.join(', ')})`);
    return node;
  }
  const host = hostname().split('.')[0]!;
  if (names.includes(host)) return host;
  if (names.length === 1) return names[0]!;
  throw new NodeSelectionError(`which node is this? give --node (one of ${names.join(', ')}) or set VIGIL_NODE`);
}
