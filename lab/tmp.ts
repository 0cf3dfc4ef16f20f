import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unmountUnder } from './disk.js';
import { forgetDir, recordDir } from './state.js';

export interface TempDir {
  path: string;
  /** Removes the folder (a kept one is only unmounted, its files left for a postmortem). */
  remove(): void;
  /** Keeps the folder's files when it is removed (a failed test's logs). */
  keep(): void;
}

export function tempDir(prefix: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), `vigil-${prefix}-`));
  const registry = recordDir(path);
  let kept = process.env.VIGIL_KEEP_TMP ? 'VIGIL_KEEP_TMP' : undefined;
  return {
    path,
    remove() {
      unmountUnder(path);
      if (kept) process.stderr.write(`kept ${path} (${kept})\n`);
      else rmSync(path, { recursive: true, force: true });
      forgetDir(path, registry);
    },
    keep() {
      kept ??= 'the test failed';
    },
  };
}
