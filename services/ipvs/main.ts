// vigil run ipvs: keeps the kernel's IPVS table equal to the configuration and the real
// servers' health, and records every change it makes.
// Shape: a reconciler, pure: desired.ts (the table wanted, from the configuration and
// the health read model in shared/health-record.ts) and diff.ts (the ipvsadm lines from the
// table there is to it); shell.ts reads the kernel's table, applies and records.
import { runService } from '../../shared/service.js';
import { IpvsService } from './shell.js';

export function runIpvs(argv: string[], stop: AbortSignal): Promise<number> {
  return runService('ipvs', argv, stop, async ({ config, node, log, logger }) => {
    const svc = new IpvsService({ config, node, log, logger });
    await svc.start();
    return svc;
  });
}
