// vigil run relay: every event of this node's log to NATS JetStream, exactly once.
import { runService } from '../../shared/service.js';
import { RelayService } from './shell.js';

export function runRelay(argv: string[], stop: AbortSignal): Promise<number> {
  return runService('relay', argv, stop, async ({ config, node, log, logger }) => {
    const svc = new RelayService({ config, node, log, logger });
    svc.start();
    return svc;
  });
}
