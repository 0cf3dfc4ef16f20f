// Loads and validates the cluster YAML; every problem is reported as file:line:column: field: message.
import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { configSchema, type VigilConfig } from './schema.js';
import { crossCheck } from './crosscheck.js';
import { applyProfile } from './profile.js';

export type FieldPath = (string | number)[];

export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  field: string;
  message: string;
}

export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    const sorted = [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
    super(sorted.map(formatIssue).join('\n'));
    this.issues = sorted;
    this.name = 'ConfigError';
  }
}

export function formatIssue(i: ConfigIssue): string {
  return `${i.file}:${i.line}:${i.column}: ${i.field || '(file)'}: ${i.message}`;
}

export function formatField(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

/** Finds where a field is written: the key of the deepest existing node on the path. */
export class Locator {
  constructor(private readonly doc: Document, private readonly lines: LineCounter) {}

  locate(path: readonly PropertyKey[]): { line: number; column: number } {
    let node: unknown = this.doc.contents;
    let offset = (node as YamlNode | null)?.range?.[0] ?? 0;
    for (const key of path) {
      if (!node || typeof node !== 'object' || !('items' in node)) break;
      const items = (node as { items: unknown[] }).items;
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
        if (!pair) break;
        offset = (pair.key as YamlNode).range?.[0] ?? offset;
        next = pair.value;
      } else if (typeof key === 'number' && key < items.length) {
        next = items[key];
        offset = (next as YamlNode | null)?.range?.[0] ?? offset;
      } else {
        break;
      }
      node = next;
    }
    const pos = this.lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  }

  issue(file: string, path: readonly PropertyKey[], message: string): ConfigIssue {
    return { file, ...this.locate(path), field: formatField(path), message };
  }
}

function zodIssues(file: string, loc: Locator, issues: readonly z.core.$ZodIssue[]): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const i of issues) {
    if (i.code === 'unrecognized_keys') {
      for (const key of i.keys) out.push(loc.issue(file, [...i.path, key], 'unknown field (check its spelling and nesting)'));
    } else if (i.code === 'invalid_union' && 'errors' in i && i.errors.length > 0 && i.errors.every((b) => b.length === 1 && b[0]!.code === 'invalid_value' && b[0]!.path.length === 0)) {
      // A choice of values (version: 2 | 3): one issue naming them all.
      const values = i.errors.flatMap((b) => (b[0] as z.core.$ZodIssueInvalidValue).values);
      out.push(loc.issue(file, i.path, `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`));
    } else if (i.code === 'invalid_union' && 'errors' in i && i.errors.length > 0) {
      // Report the branch that got furthest instead of "invalid input".
      const best = [...i.errors].sort((a, b) => maxDepth(b) - maxDepth(a))[0]!;
      out.push(...zodIssues(file, loc, best.map((sub) => ({ ...sub, path: [...i.path, ...sub.path] }))));
    } else {
      out.push(loc.issue(file, i.path, sentence(i)));
    }
  }
  return out;
}

const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);
const bound = (origin: string, n: unknown, inclusive: boolean | undefined, side: 'least' | 'most') => {
  const limit = inclusive === false ? `${side === 'least' ? 'more' : 'less'} than ${String(n)}` : `at ${side} ${String(n)}`;
  if (origin === 'string') return `must be ${limit} characters long`;
  if (origin === 'array' || origin === 'set') return `must have ${limit} entries`;
  return `must be ${limit}`;
};

/** A validator's issue as an operator reads it ("required", "must be at least 1"); messages the schema wrote itself are kept. */
export function sentence(i: z.core.$ZodIssue): string {
  if (!/^(Invalid input|Too small|Too big|Invalid option)/.test(i.message)) return i.message;
  switch (i.code) {
    case 'invalid_type':
      return /received undefined$/.test(i.message) ? `required (${article(i.expected)})` : `must be ${article(i.expected)}, not ${article(/received (\w+)$/.exec(i.message)?.[1] ?? 'value')}`;
    case 'too_small':
      return bound(i.origin, i.minimum, i.inclusive, 'least');
    case 'too_big':
      return bound(i.origin, i.maximum, i.inclusive, 'most');
    case 'invalid_value':
      return `must be ${i.values.length === 1 ? JSON.stringify(i.values[0]) : `one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`}`;
    default:
      return i.message;
  }
}

function maxDepth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length + (i.code === 'invalid_type' ? 0 : 1)));
}

export interface LoadedConfig {
  file: string;
  config: VigilConfig;
  locator: Locator;
}

export function parseConfig(text: string, file: string): LoadedConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, field: '', message: `YAML: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  const loc = new Locator(doc, lines);
  const parsed = configSchema.safeParse(applyProfile(doc.toJS()));
  if (!parsed.success) throw new ConfigError(zodIssues(file, loc, parsed.error.issues));
  const problems = crossCheck(parsed.data).map((p) => loc.issue(file, p.path, p.message));
  if (problems.length > 0) throw new ConfigError(problems);
  return { file, config: parsed.data, locator: loc };
}

export function loadConfig(file: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file, line: 0, column: 0, field: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  return parseConfig(text, file);
}
