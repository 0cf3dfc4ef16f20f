// vigil import keepalived: the keepalived.conf files of a cluster's nodes (one per node)
// become one vigil configuration, checked as `vigil config check` checks it. Every input
// line is translated or named in a warning (FILE:LINE: keyword: why, and what instead).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { ConfigError, formatIssue, parseConfig } from '../../shared/config/index.js';
import { emitYaml } from '../import/emit.js';
import { parseKeepalived, type IncludeReader } from '../import/keepalived-parse.js';
import { mergeNodes, unaccounted, type ImportedNode } from '../import/keepalived-merge.js';
import { translateNode, type Warning } from '../import/keepalived-translate.js';
import { parse, UsageError, type Io } from '../common.js';
import { importUsage } from '../usage.js';


const options = {
  node: { type: 'string', multiple: true },
  output: { type: 'string', short: 'o' },
  cluster: { type: 'string', default: 'imported' },
  zookeeper: { type: 'string' },
  nats: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Files matching a keepalived include pattern (glob(3)'s * ? [..] per path segment), relative to the including file. */
export const includeReader: IncludeReader = (pattern, from) => {
  const full = isAbsolute(pattern) ? pattern : join(dirname(from), pattern);
  const segments = full.split('/').filter(Boolean);
  let paths = ['/'];
  for (const seg of segments) {
    if (!/[*?[]/.test(seg)) {
      paths = paths.map((p) => join(p, seg));
      continue;
    }
    const re = new RegExp(`^${seg.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
    paths = paths.flatMap((p) => {
      try {
        return readdirSync(p).filter((f) => re.test(f) && !f.startsWith('.')).sort().map((f) => join(p, f));
      } catch {
        return [];
      }
    });
  }
  return paths.flatMap((file) => {
    try {
      return [{ file, text: readFileSync(file, 'utf8') }];
    } catch {
      return [];
    }
  });
};

const nodeName = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63) || 'node';
/** A file as the operator would write it: relative to the working folder when it is below it. */
const shown = (file: string) => {
  const r = relative(process.cwd(), file);
  return r.startsWith('..') || isAbsolute(r) ? file : r;
};
const show = (w: Warning) => `${shown(w.file)}:${w.line}: ${w.keyword}: ${w.message}`;

export function importCommand(argv: string[], io: Io): number {
  const [what, ...rest] = argv;
  if (what === undefined || what === '--help' || what === '-h' || what === 'help') {
    io.out(importUsage + '\n');
    return what === undefined ? 2 : 0;
  }
  if (what !== 'keepalived') throw new UsageError(`vigil import: "${what}" is not a source (only keepalived)\n${importUsage}`);
  const { values, positionals } = parse(rest, options);
  if (values.help) {
    io.out(importUsage + '\n');
    return 0;
  }
  // One entry per node: a file named by --node NAME=FILE (the same file may serve several
  // nodes: keepalived's "@ID" lines pick each one's, by its config id, which is the name
  // here) or given on its own (named by its router_id, else by the file's name).
  const entries: { file: string; name?: string }[] = [];
  for (const n of values.node ?? []) {
    const m = /^([^=]+)=(.+)$/.exec(n);
    if (!m) throw new UsageError(`--node ${n}: write NAME=FILE`);
    entries.push({ file: resolve(m[2]!), name: m[1]! });
  }
  for (const p of positionals) if (!entries.some((e) => e.file === resolve(p))) entries.push({ file: resolve(p) });
  if (entries.length === 0) throw new UsageError(`give the keepalived.conf of each node\n${importUsage}`);
  const files = [...new Set(entries.map((e) => e.file))];

  const problems: string[] = [];
  const readWarnings: Warning[] = [];
  const nodes: ImportedNode[] = [];
  const lines: { file: string; line: number; text: string }[] = [];
  for (const { file, name: given } of entries) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`${file}: cannot read: ${(err as Error).message}`);
    }
    const byFile = nodeName(basename(file).replace(/\.conf$/, '').replace(/^keepalived[-_.]?/, ''));
    const configId = given ?? byFile;
    const parsed = parseKeepalived(text, file, includeReader, configId);
    for (const p of parsed.problems) if (p.severity === 'error' && !problems.includes(`${shown(p.file)}:${p.line}: ${p.message}`)) problems.push(`${shown(p.file)}:${p.line}: ${p.message}`);
    readWarnings.push(...parsed.problems.filter((p) => p.severity === 'warning').map((p) => ({ file: p.file, line: p.line, keyword: p.keyword ?? 'include', message: p.message })));
    lines.push(...parsed.lines);
    if (parsed.configIds.size > 0 && !parsed.configIds.has(configId)) {
      const ids = [...parsed.configIds.keys()];
      const first = [...parsed.configIds.values()][0]!;
      readWarnings.push({ ...first, keyword: `@${ids[0]}`, message: `lines for keepalived's config ids ${ids.join(', ')} (keepalived -i), none of them ${configId}'s: read as keepalived would on ${configId}, without them; name each node by its config id: ${ids.map((id) => `--node ${id}=${shown(file)}`).join(' ')}` });
    }
    const imported = translateNode(parsed.statements);
    const name = nodeName(given ?? imported.routerId ?? byFile);
    if (nodes.some((n) => n.name === name)) throw new UsageError(`two files are node ${name}: name them with --node NAME=FILE`);
    nodes.push({ name, imported });
  }
  const merged = mergeNodes(nodes, {
    cluster: values.cluster,
    zookeeper: values.zookeeper?.split(',').filter(Boolean),
    nats: values.nats?.split(',').filter(Boolean),
  });
  // (a file that serves several nodes says the same of a line once)
  const warnings = [...new Map([...readWarnings, ...merged.warnings].map((w) => [show(w), w])).values()];
  for (const l of new Map(unaccounted(lines, nodes, warnings).map((l) => [`${l.file}:${l.line}`, l])).values()) warnings.push({ file: l.file, line: l.line, keyword: l.text.split(/\s+/)[0] ?? '', message: 'not translated (the importer does not know this line): carry it over by hand' });
  if (!values.zookeeper) warnings.push({ file: files[0]!, line: 0, keyword: 'zookeeper', message: 'keepalived has no coordination service: the hosts are placeholders (zk1..3:2181); give --zookeeper or edit them' });
  warnings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);

  const header = [
    `vigil configuration imported from keepalived (${files.length} node file${files.length === 1 ? '' : 's'}: ${nodes.map((n) => n.name).join(', ')})`,
    `by vigil import keepalived: ${warnings.length} warning${warnings.length === 1 ? '' : 's'} on stderr; check it with vigil config check`,
  ];
  const yaml = emitYaml(merged.config, merged.origins.map((o) => ({ ...o, at: o.at.map((a) => ({ ...a, file: shown(a.file) })) })), header);
  const outFile = values.output ?? '(output)';
  let checkProblems: string[] = [];
  try {
    parseConfig(yaml, outFile);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    checkProblems = err.issues.map(formatIssue);
  }
  const conflicts = merged.conflicts.map(show);
  const usable = conflicts.length === 0 && checkProblems.length === 0 && problems.length === 0 && Object.keys(merged.config.vrrp_instances ?? {}).length + Object.keys(merged.config.virtual_servers ?? {}).length > 0;
  if (values.output && usable) writeFileSync(values.output, yaml);
  if (values.json) {
    io.out(JSON.stringify({ ok: usable, nodes: nodes.map((n) => n.name), warnings, conflicts: merged.conflicts, parse_problems: problems, check_problems: checkProblems, ...(values.output ? { output: values.output } : { yaml }) }) + '\n');
  } else {
    for (const w of warnings) io.err(`${show(w)}\n`);
    for (const p of problems) io.err(`${p}\n`);
    for (const c of conflicts) io.err(`conflict: ${c}\n`);
    for (const c of checkProblems) io.err(`check: ${c}\n`);
    if (usable && !values.output) io.out(yaml);
    io.err(usable
      ? `vigil import: ${nodes.length} node${nodes.length === 1 ? '' : 's'} (${nodes.map((n) => n.name).join(', ')}), ${warnings.length} warning${warnings.length === 1 ? '' : 's'}${values.output ? `; written to ${values.output}` : ''}\n`
      : `vigil import: no usable configuration (${conflicts.length} conflicts, ${problems.length} parse problems, ${checkProblems.length} check problems)\n`);
  }
  if (!usable) return 2;
  return warnings.length > 0 ? 1 : 0;
}
