// The house's floors, read from the import statements: cli and bench over services and
// lab (real components on one machine: namespaces, ZooKeeper, NATS; for the demo and the
// tests) over shared; a service imports no other service (what two share is in shared/).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => relative(ROOT, join(d.parentPath, d.name)));
}

/** Relative module specifiers of a source: static and dynamic imports, and re-exports. */
function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    if (spec.startsWith('.')) out.push(spec);
  }
  return out;
}

/** The rule a file's import breaks, if any (paths relative to the repository, with /). */
function violation(file: string, target: string): string | undefined {
  const [floor, service] = file.split('/');
  const [tFloor, tService] = target.split('/');
  if (floor === 'shared' && (tFloor === 'services' || tFloor === 'cli' || tFloor === 'lab')) return 'shared/ imports nothing above it';
  if ((floor === 'services' || floor === 'lab') && (tFloor === 'cli' || tFloor === 'test')) return `${floor}/ imports neither the CLI nor the tests`;
  if (floor === 'services' && tFloor === 'lab') return 'services/ do not import the lab';
  if (floor === 'lab' && tFloor === 'services') return 'lab/ runs services as processes, it does not import them';
  if (floor === 'services' && tFloor === 'services' && tService !== service) return `services/${service} imports services/${tService}: move what they share to shared/`;
  return undefined;
}

function broken(files: string[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    for (const spec of importsOf(readFileSync(join(ROOT, file), 'utf8'))) {
      const target = relative(ROOT, resolve(ROOT, dirname(file), spec)).split(sep).join('/');
      const why = violation(file.split(sep).join('/'), target);
      if (why) out.push(`${file} -> ${spec}: ${why}`);
    }
  }
  return out;
}

describe('layers', () => {
  it('finds the imports of every form, and only relative ones', () => {
    const text = [
      "import { a } from '../health/x.js';",
      "import type { B } from '../../shared/y.js';",
      "export { c } from './z.js';",
      "import {\n  d,\n  e,\n} from '../ipvs/w.js';",
      "const m = await import('../relay/v.js');",
      "import './side-effect.js';",
      "import { z } from 'zod';",
    ].join('\n');
    expect(importsOf(text)).toEqual(['../health/x.js', '../../shared/y.js', './z.js', '../ipvs/w.js', '../relay/v.js', './side-effect.js']);
  });

  it('tells a service importing another service apart from one importing shared/ or itself', () => {
    expect(violation('services/vrrp/shell.ts', 'services/health/projection.js')).toMatch(/services\/vrrp imports services\/health/);
    expect(violation('services/vrrp/shell.ts', 'services/vrrp/decider.js')).toBeUndefined();
    expect(violation('services/vrrp/shell.ts', 'shared/quorum.js')).toBeUndefined();
    expect(violation('shared/quorum.ts', 'services/ipvs/desired.js')).toMatch(/shared/);
    expect(violation('cli/commands/health.ts', 'services/health/plan.js')).toBeUndefined();
    expect(violation('lab/netns.ts', 'test/harness/state.js')).toMatch(/lab/);
    expect(violation('cli/commands/demo.ts', 'lab/netns.js')).toBeUndefined();
  });

  it('holds in the code: no service imports another, shared/ nothing above it, lab/ only shared/', () => {
    expect(broken([...sources('services'), ...sources('shared'), ...sources('lab')])).toEqual([]);
  });
});
