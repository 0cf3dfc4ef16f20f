// vigil run vrrp: a VRRP speaker for every vrrp instance of this node.
import { runService } from '../../shared/service.js';
import { VrrpService } from './shell.js';

export function runVrrp(argv: string[], stop: AbortSignal): Promise<number> {
  return runService('vrrp', argv, stop, async ({ config, node, log, logger }) => {
    const svc = new VrrpService({ config, node, log, logger, badPacketWindowMs: config.global_defs.vrrp_bad_packet_summary * 1000 });
    await svc.start();
    return svc;
  });
}
