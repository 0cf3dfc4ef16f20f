import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unmountUnder } from './disk.js';
import { forgetDir, recordDir } from './state.js';

export interface TempDir {
  path: string;
  remove(): void;
}

export function tempDir(prefix: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), `vigil-${prefix}-`));
  const registry = recordDir(path);
  return {
    path,
    remove() {
      if (process.env.VIGIL_KEEP_TMP) return void process.stderr.write(`kept ${path} (VIGIL_KEEP_TMP)\n`);
      unmountUnder(path);
      rmSync(path, { recursive: true, force: true });
      forgetDir(path, registry);
    },
  };
}
