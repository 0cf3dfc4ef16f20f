// vigil run ipvs: keeps the kernel's IPVS table equal to the configuration and the real
// servers' health, and records every change it makes.
import { runService } from '../../shared/service.js';
import { IpvsService } from './shell.js';

export function runIpvs(argv: string[], stop: AbortSignal): Promise<number> {
  return runService('ipvs', argv, stop, async ({ config, node, log, logger }) => {
    const svc = new IpvsService({ config, node, log, logger });
    await svc.start();
    return svc;
  });
}
