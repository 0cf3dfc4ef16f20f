#!/usr/bin/env node
// SIGHUP is keepalived's "reload": it must never kill a vigil service, not even while its
// modules are still loading (half a second), so it is made harmless before anything else.
// A running service records it (shared/service.ts).
import { ignoreHangup } from './hangup.js';

process.on('SIGHUP', ignoreHangup);
await import('./app.js');
