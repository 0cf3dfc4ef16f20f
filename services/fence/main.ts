// vigil run fence: the VIPs of this node, bound only under a ZooKeeper lease.
import { runService } from '../../shared/service.js';
import { FenceService } from './shell.js';

export function runFence(argv: string[], stop: AbortSignal): Promise<number> {
  return runService('fence', argv, stop, async ({ config, node, log, logger }) => {
    const svc = new FenceService({ config, node, log, logger });
    await svc.start();
    return svc;
  });
}
