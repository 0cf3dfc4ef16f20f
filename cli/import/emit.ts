// The imported configuration as YAML, each part under a comment naming the keepalived
// lines it came from. Pure.
import { Document, isMap, isScalar, type Pair, type YAMLMap } from 'yaml';
import type { Origin } from './keepalived-translate.js';

export function emitYaml(config: Record<string, unknown>, origins: { path: string[]; at: Origin[] }[], header: string[]): string {
  const doc = new Document(config);
  for (const o of origins) {
    const parent = o.path.length === 1 ? doc.contents : doc.getIn(o.path.slice(0, -1), true);
    if (!isMap(parent)) continue;
    const pair = (parent as YAMLMap).items.find((p: Pair) => isScalar(p.key) && p.key.value === o.path.at(-1));
    if (pair && isScalar(pair.key)) pair.key.commentBefore = ` from ${[...new Set(o.at.map((a) => `${a.file}:${a.line}`))].join(', ')}`; // (a file that serves several nodes: once)
  }
  doc.commentBefore = header.map((l) => ` ${l}`).join('\n');
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
