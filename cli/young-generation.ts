// A service's young generation stays at V8's initial size (two 1 MiB semi-spaces) instead
// of growing to 2 x 16 MiB after the first bursts of allocation (start-up, a reload), which
// then stay resident: ~24 MiB of a churning process's RSS. What it costs is more frequent
// scavenges (each well under a millisecond for these heaps). Set before any module loads;
// V8 reads this flag whenever it would grow the space. Only for `vigil run`: a CLI command
// that reads a large log keeps V8's defaults.
import { setFlagsFromString } from 'node:v8';

export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}
