// A small filesystem (tmpfs) of a test's own, to fill up: what a log on a full disk sees.
// Mounted inside the test's temporary folder, so that removing the folder (or test:clean)
// unmounts it first.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface SmallDisk {
  path: string;
  /** Writes a filler file until the filesystem is full. */
  fill(): void;
  /** Deletes the filler. */
  free(): void;
}

const FILLER = 'vg-filler';

/** Mounts a tmpfs of sizeMiB at path (inside a test's temporary folder). */
export function smallDisk(path: string, sizeMiB: number): SmallDisk {
  mkdirSync(path, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0755`, 'vgdisk', path]);
  return {
    path,
    fill() {
      const fd = openSync(join(path, FILLER), 'a');
      const chunk = Buffer.alloc(64 * 1024);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        // the last few bytes, so that not even a page is left
        try {
          for (;;) writeSync(fd, chunk, 0, 512);
        } catch {
          // full
        }
      } finally {
        closeSync(fd);
      }
    },
    free() {
      rmSync(join(path, FILLER), { force: true });
    },
  };
}

/** Unmounts every filesystem mounted at or under dir (deepest first). */
export function unmountUnder(dir: string): void {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m === dir || m.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) execFileSync('umount', ['-l', m]);
}
