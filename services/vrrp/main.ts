// vigil run vrrp: a VRRP speaker for every vrrp instance of this node.
// Shape: a decider (decider.ts: RFC 5798's state machine, commands to events; sync.ts for
// sync groups), pure; codec.ts for the wire, spec.ts from the configuration; shell.ts
// owns the sockets and timers.
import { runService } from '../../shared/service.js';
import { VrrpService } from './shell.js';

export function runVrrp(argv: string[], stop: AbortSignal): Promise<number> {
  return runService('vrrp', argv, stop, async ({ config, node, log, logger, metrics }) => {
    const svc = new VrrpService({ config, node, log, logger, metrics, badPacketWindowMs: config.global_defs.vrrp_bad_packet_summary * 1000 });
    await svc.start();
    return svc;
  });
}
