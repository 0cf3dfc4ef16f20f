// What keepalived does to a configuration's lines before it reads keywords (keepalived.conf(5),
// "ADVANCED CONFIGURATION"): comments go ("!" and "#" outside double quotes); a line
// "@ID ..." is kept only on the node whose config id is ID ("@^ID": on every other one);
// "$NAME=VALUE" defines a parameter (a value of "\" alone starts one of several lines, each
// but the last ending in "\"), and "$NAME" followed by a blank or the line's end, or
// "${NAME}" anywhere, is replaced by its value, again and again, where and when it is used
// (so a definition inside a multi-line value takes effect as that value is used); an
// undefined parameter stays as written; "~SEQ(VAR, START, STEP, END)", "~SEQx(...)" and
// "~LST(VAR, V1, V2, ...)" (or "~LST({A, B}, {1, 2}, ...)") at a line's start repeat the
// rest of the line for each value. Predefined: ${_PWD} (the file's folder), ${_INSTANCE}
// (the config id), ${_HASH} and ${_BANG}. Each resulting line keeps the FILE:LINE it came
// from. Pure.
import { dirname } from 'node:path';

/** A line as keepalived's keyword reader sees it: comments gone, parameters replaced. */
export interface LogicalLine {
  file: string;
  line: number;
  text: string;
}

export interface PreprocessProblem {
  file: string;
  line: number;
  message: string;
  /** error: the line is left out; warning: kept as keepalived keeps it. */
  severity: 'error' | 'warning';
  /** What the warning is about, when not the line's keyword. */
  keyword?: string;
}

/** Parameters live across the files of one node's configuration, in the order they are read. */
export interface PreprocessState {
  configId: string;
  params: Map<string, string[]>;
  /** The config ids that "@ID" lines name, each with the first line that does. */
  conditions: Map<string, { file: string; line: number }>;
}

export const newPreprocessState = (configId: string): PreprocessState => ({ configId, params: new Map(), conditions: new Map() });

/** A guard against definitions that refer to themselves, and against sequences without end. */
const MAX_DEPTH = 32;
const MAX_LINES = 200_000;
/** Stands for "#" and "!" from ${_HASH} and ${_BANG} until comments are gone for good. */
const HASH = '\u0001';
const BANG = '\u0002';

/** A raw line without its comment ("!" or "#" outside double quotes). */
export function stripComment(raw: string): string {
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '!' || c === '#')) return raw.slice(0, i);
  }
  return raw;
}

const DEFINITION = /^\s*\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;
const CONDITION = /^\s*@(\^?)(\S+)(?:\s+(.*))?$/;
const SEQUENCE = /^\s*~(SEQx?|LST)\(/;

export function preprocess(text: string, file: string, state: PreprocessState, problems: PreprocessProblem[]): LogicalLine[] {
  const out: LogicalLine[] = [];
  const predefined: Record<string, string> = { _PWD: dirname(file), _INSTANCE: state.configId, _HASH: HASH, _BANG: BANG };
  const problem = (line: number, message: string, severity: PreprocessProblem['severity'] = 'error', keyword?: string) => problems.push({ file, line, message, severity, ...(keyword ? { keyword } : {}) });
  let truncated = false;

  const valueOf = (name: string): string[] | undefined => state.params.get(name) ?? (predefined[name] !== undefined ? [predefined[name]!] : undefined);

  /** One pass of replacement: the text, and whether anything was replaced. */
  const replaceOnce = (t: string): { text: string; changed: boolean } => {
    let changed = false;
    const text = t.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)(?=\s|$)/g, (whole, braced?: string, bare?: string) => {
      const v = valueOf((braced ?? bare)!);
      if (v === undefined) return whole;
      changed = true;
      return v.join('\n');
    });
    return { text, changed };
  };

  /** A line after the comment is gone: conditions, definitions, sequences, then replacement. */
  const handle = (t: string, line: number, depth: number): void => {
    if (truncated) return;
    if (depth > MAX_DEPTH) {
      problem(line, `parameters nested more than ${MAX_DEPTH} deep (one that refers to itself?): the line is left out`);
      return;
    }
    if (t.trim() === '') return;
    const cond = CONDITION.exec(t);
    if (cond) {
      if (!state.conditions.has(cond[2]!)) state.conditions.set(cond[2]!, { file, line });
      const match = cond[2] === state.configId;
      if ((cond[1] === '^') === match) return; // another node's line
      handle(cond[3] ?? '', line, depth + 1);
      return;
    }
    const def = DEFINITION.exec(t);
    if (def) {
      state.params.set(def[1]!, [def[2]!.trim()]);
      return;
    }
    if (SEQUENCE.test(t)) {
      const seq = parseSequence(t);
      if (typeof seq === 'string') {
        problem(line, seq);
        return;
      }
      for (const values of seq.rounds) {
        seq.names.forEach((n, i) => state.params.set(n, [values[i]!]));
        handle(seq.rest, line, depth + 1);
      }
      return;
    }
    const r = replaceOnce(t);
    if (!r.changed) {
      if (out.length >= MAX_LINES) {
        problem(line, `more than ${MAX_LINES} lines after expansion: the rest is left out`);
        truncated = true;
        return;
      }
      // ${NAME} that nothing defines, outside quotes (a script's shell variables are its own):
      // a template meant to be rendered first, most likely
      const unset = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(t.replace(/"[^"]*"/g, '""'));
      if (unset) problem(line, `\${${unset[1]}}: no parameter $${unset[1]} is defined (keepalived leaves the text as it is): a template to render first (envsubst, Jinja), or define $${unset[1]}=... above`, 'warning', `\${${unset[1]}}`);
      out.push({ file, line, text: t.replaceAll(HASH, '#').replaceAll(BANG, '!') });
      return;
    }
    for (const piece of r.text.split('\n')) handle(piece, line, depth + 1);
  };

  const raw = text.split(/\r?\n/);
  for (let i = 0; i < raw.length; i++) {
    const line = i + 1;
    const t = stripComment(raw[i]!);
    const def = DEFINITION.exec(t);
    if (def && def[2]!.trim() === '\\') {
      // a multi-line value: the lines up to the first that does not end in "\"
      const value: string[] = [];
      while (i + 1 < raw.length) {
        const next = stripComment(raw[++i]!).replace(/\s+$/, '');
        const more = next.endsWith('\\');
        value.push(more ? next.slice(0, -1) : next);
        if (!more) break;
      }
      state.params.set(def[1]!, value);
      continue;
    }
    handle(t, line, 0);
  }
  return out;
}

interface Sequence {
  names: string[];
  rounds: string[][];
  rest: string;
}

/** "~SEQ(V, [START,] [STEP,] END) rest", "~SEQx(...)", "~LST(V, a, b)" or "~LST({V, W}, {a, b}, ...)": the rounds, or what is wrong. */
function parseSequence(t: string): Sequence | string {
  const m = SEQUENCE.exec(t)!;
  let depth = 1;
  let j = m[0].length;
  for (; j < t.length && depth > 0; j++) {
    if (t[j] === '(') depth++;
    else if (t[j] === ')') depth--;
  }
  if (depth > 0) return `~${m[1]}( is not closed`;
  const inner = t.slice(m[0].length, j - 1);
  const rest = t.slice(j);
  if (m[1] === 'LST') {
    const items = splitTop(inner);
    if (items.length < 2) return '~LST needs a variable and at least one value';
    const group = (s: string) => (s.startsWith('{') && s.endsWith('}') ? s.slice(1, -1).split(',').map((x) => x.trim()) : [s]);
    const names = group(items[0]!);
    const rounds = items.slice(1).map(group);
    if (rounds.some((r) => r.length !== names.length)) return `~LST: each value needs ${names.length} part(s), as the variables`;
    return { names, rounds, rest };
  }
  const args = inner.split(',').map((x) => x.trim());
  const name = args[0] ?? '';
  const nums = args.slice(1).map(Number);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || nums.length < 1 || nums.length > 3 || nums.some((n) => !Number.isInteger(n))) return `~${m[1]}(${inner}): write ~${m[1]}(VAR, [START,] [STEP,] END) with whole numbers`;
  const end = nums.at(-1)!;
  const start = nums.length >= 2 ? nums[0]! : end >= 0 ? 1 : -1;
  const step = nums.length === 3 ? nums[1]! : end >= start ? 1 : -1;
  if (step === 0) return `~${m[1]}(${inner}): a step of 0 never ends`;
  const rounds: string[][] = [];
  for (let v = start; step > 0 ? v <= end : v >= end; v += step) {
    rounds.push([m[1] === 'SEQx' ? v.toString(16) : String(v)]);
    if (rounds.length > MAX_LINES) return `~${m[1]}(${inner}): more than ${MAX_LINES} values`;
  }
  return { names: [name], rounds, rest };
}

/** Splits on the commas outside braces. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}') depth--;
    else if (s[i] === ',' && depth === 0) {
      out.push(s.slice(from, i).trim());
      from = i + 1;
    }
  }
  out.push(s.slice(from).trim());
  return out;
}
