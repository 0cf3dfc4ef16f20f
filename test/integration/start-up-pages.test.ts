// A service unmaps its start-up's pages of the node binary and its libraries once started
// (shared/native.ts): the RSS drops, and the process runs on as before (a written page, as
// the dynamic linker's relocated RELRO region, unmapped would crash it at its next call).
import { describe, expect, it } from 'vitest';
import { runFixture } from '../harness/node.js';

describe('start-up pages', () => {
  it('unmapped: the RSS drops by what start-up left mapped, and SQLite, crypto, Intl, zlib and a child process still work', async () => {
    const r = await runFixture('start-up-pages.ts', []);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { before: number; advised: number; after: number; afterWork: number; work: Record<string, unknown> };
    expect(out.advised).toBeGreaterThan(30 * 2 ** 20); // the node binary's mappings alone are ~90 MiB
    expect(out.before - out.after, `RSS before ${out.before} KiB, after ${out.after} KiB`).toBeGreaterThan(10 * 1024);
    expect(out.work).toEqual({ sum: 499_500, hash: '6b27eba5652b46d3', number: '1.234,5', zlib: 10_000, child: 'child' });
  });
});
