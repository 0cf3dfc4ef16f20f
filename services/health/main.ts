// vigil run health: keepalived's checkers and track scripts, recorded as transitions.
// Shape: a decider (decider.ts: what one probe result means, rise/fall/retry), pure;
// plan.ts from the configuration; probes/ run one probe each; shell.ts schedules and records.
import { runService } from '../../shared/service.js';
import { HealthService } from './shell.js';

export function runHealth(argv: string[], stop: AbortSignal): Promise<number> {
  return runService('health', argv, stop, async ({ config, node, log, logger }) => {
    const svc = new HealthService({ config, node, log, logger });
    svc.start();
    return svc;
  });
}
