// keepalived.conf as keepalived 2.2 reads it: the lines as keepalived-preprocess.ts leaves
// them (comments gone, conditions for this node's config id, parameters replaced), a
// block's "{" may end its keyword's line or stand on the next one, "}" closes it (also on
// the same line: `unicast_peer { 10.0.0.2 }`), `include` (and its variants includer,
// includem, ...) takes a glob relative to the including file. Every statement keeps its
// FILE:LINE. Pure: files are read through the `read` function the caller gives.
import { newPreprocessState, preprocess, type LogicalLine, type PreprocessState } from './keepalived-preprocess.js';

export interface Statement {
  key: string;
  args: string[];
  file: string;
  line: number;
  /** The statements of its block, if it opens one. */
  block?: Statement[];
  /** Where its block opens, when "{" stands on a line of its own. */
  open?: { file: string; line: number };
  /** Where its block closes. */
  end?: { file: string; line: number };
}

export interface SourceLine {
  file: string;
  line: number;
  text: string;
}

export interface ParsedFiles {
  statements: Statement[];
  /** Every line that holds something other than a comment (what must be accounted for). */
  lines: SourceLine[];
  /** The config ids that "@ID" lines name (keepalived's -i), each with the first line that does. */
  configIds: Map<string, { file: string; line: number }>;
  /** What keeps the file from being read as keepalived reads it (errors), and what keepalived only logs (warnings). */
  problems: { file: string; line: number; message: string; severity: 'error' | 'warning'; keyword?: string }[];
}

/** Reads the files an include names (a glob, relative to the including file): [file, text] pairs, sorted. */
export type IncludeReader = (pattern: string, from: string) => { file: string; text: string }[];

interface Token {
  text: string;
  quoted: boolean;
  file: string;
  line: number;
  /** Which logical line (a source line can become several: a multi-line parameter, a ~SEQ). */
  seq: number;
}

function tokenize(logical: LogicalLine[], lines: SourceLine[], problems: ParsedFiles['problems']): Token[] {
  const out: Token[] = [];
  const counted = new Set<number>();
  logical.forEach(({ file, line, text: raw }, seq) => {
    let n = 0;
    let j = 0;
    while (j < raw.length) {
      const c = raw[j]!;
      if (c === ' ' || c === '\t') {
        j += 1;
      } else if (c === '"') {
        const close = raw.indexOf('"', j + 1);
        if (close < 0) {
          problems.push({ file, line, message: 'a quoted string is not closed on its line', severity: 'error' });
          out.push({ text: raw.slice(j + 1), quoted: true, file, line, seq });
          n += 1;
          break;
        }
        out.push({ text: raw.slice(j + 1, close), quoted: true, file, line, seq });
        n += 1;
        j = close + 1;
      } else if (c === '{' || c === '}') {
        out.push({ text: c, quoted: false, file, line, seq });
        n += 1;
        j += 1;
      } else {
        let k = j;
        while (k < raw.length && !' \t{}"'.includes(raw[k]!)) k += 1;
        out.push({ text: raw.slice(j, k), quoted: false, file, line, seq });
        n += 1;
        j = k;
      }
    }
    if (n > 0 && !counted.has(line)) {
      counted.add(line);
      lines.push({ file, line, text: raw.trim() });
    }
  });
  return out;
}

const isOpen = (t: Token | undefined) => t !== undefined && !t.quoted && t.text === '{';
const isClose = (t: Token | undefined) => t !== undefined && !t.quoted && t.text === '}';

/** include and its variants (includer, includem, includef, includew, includeb, includea). */
export const isInclude = (key: string): boolean => /^include[rmfwba]?$/.test(key);

/**
 * Parses a file and the files it includes (depth-first, at the include's place), as the
 * node whose config id (keepalived's -i; the node's name) is `configId` reads them.
 */
export function parseKeepalived(text: string, file: string, read: IncludeReader, configId = ''): ParsedFiles {
  const state: PreprocessState = newPreprocessState(configId);
  const lines: SourceLine[] = [];
  const problems: ParsedFiles['problems'] = [];
  const seen = new Set<string>();

  const parseFile = (t: string, f: string, depth: number): Statement[] => {
    if (seen.has(f)) {
      problems.push({ file: f, line: 0, message: 'included twice (an include loop?): read once', severity: 'warning' });
      return [];
    }
    seen.add(f);
    const logical = preprocess(t, f, state, problems);
    const tokens = tokenize(logical, lines, problems);
    let pos = 0;

    const statements = (inside: boolean): Statement[] => {
      const out: Statement[] = [];
      while (pos < tokens.length) {
        const first = tokens[pos]!;
        if (isClose(first)) {
          if (inside) return out;
          problems.push({ file: f, line: first.line, message: 'a "}" closes no block', severity: 'error' });
          pos += 1;
          continue;
        }
        if (isOpen(first)) {
          problems.push({ file: f, line: first.line, message: 'a "{" opens a block without a keyword', severity: 'error' });
          pos += 1;
          continue;
        }
        // One statement: its line's tokens up to a brace.
        const args: string[] = [];
        pos += 1;
        while (pos < tokens.length && tokens[pos]!.seq === first.seq && !isOpen(tokens[pos]) && !isClose(tokens[pos])) args.push(tokens[pos++]!.text);
        const s: Statement = { key: first.text, args, file: f, line: first.line };
        if (isOpen(tokens[pos])) {
          if (tokens[pos]!.seq !== first.seq) s.open = { file: f, line: tokens[pos]!.line };
          pos += 1;
          s.block = statements(true);
          const close = tokens[pos];
          if (isClose(close)) {
            s.end = { file: f, line: close!.line };
            pos += 1;
          } else {
            problems.push({ file: f, line: first.line, message: `the block of "${first.text}" is not closed`, severity: 'error' });
          }
        }
        if (isInclude(s.key) && !s.block) {
          if (depth > 20) problems.push({ file: f, line: s.line, message: 'includes nested more than 20 deep', severity: 'error' });
          else {
            const found = read(s.args[0] ?? '', f);
            if (found.length === 0) problems.push({ file: f, line: s.line, message: `include ${s.args[0] ?? ''}: no file matches (keepalived goes on without it; so does the import)`, severity: 'warning' });
            out.push(s);
            for (const inc of found) out.push(...parseFile(inc.text, inc.file, depth + 1));
            continue;
          }
        }
        out.push(s);
      }
      return out; // inside a block: the block's keyword reports it unclosed
    };
    return statements(false);
  };

  const statements = parseFile(text, file, 0);
  return { statements, lines, problems, configIds: state.conditions };
}
