// npm run bench: every benchmark, figures as medians and percentiles (never part of npm test).
import { benchEventLog } from './eventlog.js';
import { benchFailover } from './failover.js';
import { benchFaults } from './faults.js';
import { benchHealth } from './health.js';
import { benchIpvs } from './ipvs.js';
import { benchLean } from './lean.js';
import { benchPostmortem } from './postmortem.js';
import { benchRelay } from './relay.js';
import { benchVrrp } from './vrrp.js';

const only = process.argv[2];
const benches: Record<string, () => Promise<void>> = { eventlog: benchEventLog, vrrp: benchVrrp, failover: benchFailover, faults: benchFaults, health: benchHealth, relay: benchRelay, ipvs: benchIpvs, lean: benchLean, postmortem: benchPostmortem };
console.log(`vigil benchmarks — node ${process.version}, ${new Date().toISOString()}`);
for (const [name, run] of Object.entries(benches)) if (!only || only === name) await run();
