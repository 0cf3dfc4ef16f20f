import { runFence } from '../../services/fence/main.js';
import { runHealth } from '../../services/health/main.js';
import { runIpvs } from '../../services/ipvs/main.js';
import { runRelay } from '../../services/relay/main.js';
import { runVrrp } from '../../services/vrrp/main.js';
import { SERVICE_NAMES } from '../../shared/service.js';
import { UsageError, type Io } from '../common.js';

export const SERVICES = SERVICE_NAMES;

export const runUsage = `vigil run <service> [--config FILE] [--node NAME]
  services: ${SERVICES.join(', ')}`;

/** What each service does, for `vigil run <service> --help`. */
const SERVICE_HELP: Record<(typeof SERVICES)[number], string> = {
  vrrp: 'VRRP (v2/v3, keepalived-compatible adverts) for the node\'s instances; MASTER only while the fence service is alive',
  fence: 'holds each VIP group\'s lease in ZooKeeper and binds its addresses only under it (with a kernel lifetime and a dead man\'s switch)',
  health: 'the real servers\' checkers and the track scripts; records their transitions',
  ipvs: 'keeps the IPVS table as the configuration and the recorded health say (ipvsadm)',
  relay: 'the log to NATS JetStream exactly once, alerts, keepalived-style notify scripts',
};

function serviceUsage(service: (typeof SERVICES)[number]): string {
  return `vigil run ${service} [--config FILE] [--node NAME]
  ${SERVICE_HELP[service]}
  --config FILE, -c        the cluster's configuration (default $VIGIL_CONFIG, /etc/vigil/vigil.yaml)
  --node NAME              this node (default $VIGIL_NODE, the host name if it is a node's, or the only node)
Runs until SIGTERM or SIGINT (it records service.started and service.stopped); SIGHUP is recorded, never fatal.
Exit status 0 after a clean stop, 75 when events could not be recorded (a full disk: retry), 70 on an internal error.`;
}

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
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(serviceUsage(service as (typeof SERVICES)[number]) + '\n');
    return 0;
  }
  const main = entryPoints[service as (typeof SERVICES)[number]];
  if (!main) {
    io.err(`vigil: the ${service} service is not part of this build yet\n`);
    return 3;
  }
  return main(rest, stop);
}
