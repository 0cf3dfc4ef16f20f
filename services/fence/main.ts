// vigil run fence: the VIPs of this node, bound only under a ZooKeeper lease.
// Shape: a decider (decider.ts: the one next step for a VIP group, from its facts) and
// repair.ts (what to do about an address someone else changed), both pure; plan.ts from
// the configuration; the lease recipe in shared/zookeeper/lease.ts; shell.ts carries out.
import { runService } from '../../shared/service.js';
import { FenceService } from './shell.js';

export function runFence(argv: string[], stop: AbortSignal): Promise<number> {
  return runService('fence', argv, stop, async ({ config, node, log, logger, metrics }) => {
    const svc = new FenceService({ config, node, log, logger, metrics });
    await svc.start();
    return svc;
  });
}
