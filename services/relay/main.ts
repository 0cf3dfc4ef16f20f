// vigil run relay: every event of this node's log to NATS JetStream exactly once, alert
// rules over the log (their alerts published on NATS too), keepalived-style notify
// scripts, the watch of ZooKeeper and of this node's services that the alerts need, and
// the node's Prometheus /metrics.
// Shape: rules, pure: alerts.ts (alerts from events and the clock), notify.ts (scripts
// from events), decider.ts (where delivery resumes), metrics-model.ts (the metrics from
// events); alerter.ts, notifier.ts, observer.ts, service-watch.ts, metrics-server.ts and
// shell.ts (NATS delivery) are the I/O.
import { runService } from '../../shared/service.js';
import { Alerter } from './alerter.js';
import { Notifier } from './notifier.js';
import { MetricsServer, metricsAddress } from './metrics-server.js';
import { ClusterObserver } from './observer.js';
import { ServiceWatch } from './service-watch.js';
import { RelayService } from './shell.js';

export function runRelay(argv: string[], stop: AbortSignal): Promise<number> {
  return runService('relay', argv, stop, async ({ config, node, log, logger }) => {
    const ctx = { config, node, log, logger };
    const publisher = config.nats ? new RelayService(ctx) : undefined;
    if (!publisher) logger.warn('the configuration has no nats section: events and alerts stay in the log (notify scripts still run)');
    const alerter = new Alerter(ctx);
    const notifier = new Notifier(ctx);
    const observer = new ClusterObserver(ctx);
    const services = new ServiceWatch({ log, logger, silentMs: config.alerts.service_silent_ms });
    const address = metricsAddress(config, node);
    const metrics = address ? new MetricsServer(ctx, address) : undefined;
    await alerter.start();
    if (notifier.needed) await notifier.start();
    observer.start();
    services.start();
    publisher?.start();
    await metrics?.start();
    return {
      async stop() {
        await metrics?.stop();
        observer.stop();
        services.stop();
        await notifier.stop();
        alerter.stop();
        await publisher?.stop();
      },
    };
  });
}
