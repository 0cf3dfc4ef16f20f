// vigil run health: keepalived's checkers and track scripts, recorded as transitions.
import { runService } from '../../shared/service.js';
import { HealthService } from './shell.js';

export function runHealth(argv: string[], stop: AbortSignal): Promise<number> {
  return runService('health', argv, stop, async ({ config, node, log, logger }) => {
    const svc = new HealthService({ config, node, log, logger });
    svc.start();
    return svc;
  });
}
