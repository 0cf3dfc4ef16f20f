import { SERVICE_NAMES } from '../../shared/service-names.js';
import { UsageError } from '../../shared/errors.js';
import type { Io } from '../common.js';
import { runUsage } from '../usage.js';

export const SERVICES = SERVICE_NAMES;

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

/** Each service's entry point, loaded when it runs (a service loads only its own code). */
const entryPoints: Record<(typeof SERVICES)[number], () => Promise<(argv: string[], stop: AbortSignal) => Promise<number>>> = {
  vrrp: async () => (await import('../../services/vrrp/main.js')).runVrrp,
  fence: async () => (await import('../../services/fence/main.js')).runFence,
  health: async () => (await import('../../services/health/main.js')).runHealth,
  ipvs: async () => (await import('../../services/ipvs/main.js')).runIpvs,
  relay: async () => (await import('../../services/relay/main.js')).runRelay,
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
  const main = await entryPoints[service as (typeof SERVICES)[number]]();
  return main(rest, stop);
}
