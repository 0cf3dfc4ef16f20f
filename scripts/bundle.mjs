// Bundles the built CLI (dist/cli/main.js, from tsc) into dist/bundle/: one module graph in
// a few chunks (the entry, each command, each service), loaded by a process in a fraction of
// the time Node takes to resolve and read ~200 separate files (a service starts ~0.1 s
// sooner, which a failover or a preemption waits for). Native and patched packages stay
// outside: better-sqlite3 (an addon), node-zookeeper-client (shared/zookeeper/guard.ts
// patches its internals through require, which must reach the copy the bundle uses).
import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * zod's `z.locales` and `z.core.locales` (its error messages in ~50 languages, ~0.5 MB of source) are empty
 * namespaces here: vigil never calls z.config(z.locales.xx()), English is built in
 * (zod/v4/classic/schemas.js imports it itself), and every service would otherwise load
 * and keep the source of all of them.
 */
function withoutZodLocales() {
  return {
    name: 'without-zod-locales',
    setup(b) {
      b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
        /[\\/]zod[\\/]v4[\\/](classic[\\/]external|mini[\\/]external|core[\\/]index)\.js$/.test(args.importer) ? { path: 'zod-locales', namespace: 'without-zod-locales' } : undefined);
      b.onLoad({ filter: /.*/, namespace: 'without-zod-locales' }, () => ({ contents: 'export {};', loader: 'js' }));
    },
  };
}
const outdir = join(root, 'dist/bundle');
rmSync(outdir, { recursive: true, force: true });
const { outputFiles } = await build({
  entryPoints: [join(root, 'dist/cli/main.js')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'node-zookeeper-client'],
  // CommonJS packages inside the bundle call require(): give each chunk one.
  banner: { js: "import { createRequire as __vigilCreateRequire } from 'node:module'; const require = __vigilCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  plugins: [withoutZodLocales()],
  write: false, // written below, once made ASCII
});

// Every process keeps the source of each chunk it loads as a string, one byte a character
// unless a single character is beyond Latin-1: then two for every character (the zod
// chunk, 0.75 MB, held 1.5 MB in each service for one dash in a comment). esbuild writes
// code in ASCII (charset ascii) but leaves comments as they are: what is left is in
// comments, and goes as escapes.
mkdirSync(outdir, { recursive: true });
for (const f of outputFiles) {
  writeFileSync(f.path, f.path.endsWith('.js') ? f.text.replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`) : f.contents);
}
