import { runFence } from '../../services/fence/main.js';
import { runHealth } from '../../services/health/main.js';
import { runIpvs } from '../../services/ipvs/main.js';
import { runRelay } from '../../services/relay/main.js';
import { runVrrp } from '../../services/vrrp/main.js';
import { UsageError, type Io } from '../common.js';

export const SERVICES = ['vrrp', 'fence', 'health', 'ipvs', 'relay'] as const;

export const runUsage = `vigil run <service> [--config FILE] [--node NAME]
  services: ${SERVICES.join(', ')}`;

/** Each service registers its entry point here as it is built. */
const entryPoints: Partial<Record<(typeof SERVICES)[number], (argv: string[], stop: AbortSignal) => Promise<number>>> = {
  vrrp: runVrrp,
  fence: runFence,
  health: runHealth,
  ipvs: runIpvs,
  relay: runRelay,
};

export async function runCommand(argv: string[], io: Io, stop: AbortSignal): Promise<number> {
  const [service, ...rest] = argv;
  if (service === undefined || service === '--help' || service === '-h') {
    io.out(runUsage + '\n');
    return service === undefined ? 2 : 0;
  }
  if (!(SERVICES as readonly string[]).includes(service)) throw new UsageError(`unknown service "${service}"\n${runUsage}`);
  const main = entryPoints[service as (typeof SERVICES)[number]];
  if (!main) {
    io.err(`vigil: the ${service} service is not part of this build yet\n`);
    return 3;
  }
  return main(rest, stop);
}
