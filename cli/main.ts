#!/usr/bin/env node
// SIGHUP is keepalived's "reload": it must never kill a vigil service, not even while its
// modules are still loading (half a second), so it is made harmless before anything else.
// A running service records it (shared/service.ts).
import { ignoreHangup } from './hangup.js';
import { useCompilerTier } from '../shared/compiler-tier.js';
import { limitMallocArenas } from '../shared/native.js';
import { keepYoungGenerationSmall } from './young-generation.js';

process.on('SIGHUP', ignoreHangup);
if (process.argv[2] === 'run') {
  keepYoungGenerationSmall();
  limitMallocArenas();
  useCompilerTier('baseline'); // until the service's configuration says it is busy
}
await import('./app.js');
