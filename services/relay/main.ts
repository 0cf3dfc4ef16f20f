// vigil run relay: every event of this node's log to NATS JetStream exactly once, alert
// rules over the log (their alerts published on NATS too), keepalived-style notify
// scripts, the watch of ZooKeeper and of this node's services that the alerts need, and
// the node's Prometheus /metrics.
// Shape: rules, pure: alerts.ts (alerts from events and the clock), notify.ts (scripts
// from events), decider.ts (where delivery resumes), metrics-model.ts (the metrics from
// events); alerter.ts, notifier.ts, observer.ts, service-watch.ts, metrics-server.ts and
// shell.ts (NATS delivery) are the I/O.
import type { VigilConfig } from '../../shared/config/index.js';
import { sameJson } from '../../shared/config/diff.js';
import { runService, type ReloadChanges } from '../../shared/service.js';
import { Alerter } from './alerter.js';
import { MetricsServer, metricsAddress } from './metrics-server.js';
import { Notifier } from './notifier.js';
import { ClusterObserver } from './observer.js';
import { ServiceWatch } from './service-watch.js';
import { RelayService } from './shell.js';

/** What each part of the relay reads of the configuration: a part whose reading is the same is not touched by a reload. */
const reads = {
  'alert rules': (c: VigilConfig) => [c.alerts, c.vip_groups],
  'notify scripts': (c: VigilConfig) => [c.vrrp_instances, c.vrrp_sync_groups, c.virtual_servers, c.global_defs.notify_timeout],
  'metrics model': (c: VigilConfig) => [c.vrrp_instances, c.vip_groups],
  'service watch': (c: VigilConfig) => c.alerts.service_silent_ms,
  'cluster observation': (c: VigilConfig) => Object.keys(c.vip_groups),
} as const;
type Part = keyof typeof reads;

export function runRelay(argv: string[], stop: AbortSignal): Promise<number> {
  return runService('relay', argv, stop, async ({ config, node, log, logger }) => {
    let ctx = { config, node, log, logger };
    const publisher = config.nats ? new RelayService(ctx) : undefined;
    if (!publisher) logger.warn('the configuration has no nats section: events and alerts stay in the log (notify scripts still run)');
    let alerter = new Alerter(ctx);
    let notifier = new Notifier(ctx);
    const observer = new ClusterObserver(ctx);
    let services = new ServiceWatch({ log, logger, silentMs: config.alerts.service_silent_ms });
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
      /** Parts whose configuration changed start again from the log (their cursors); NATS delivery and the ZooKeeper watch go on. */
      async reload(next: VigilConfig): Promise<ReloadChanges> {
        const parts = Object.keys(reads) as Part[];
        const changed = parts.filter((p) => !sameJson(reads[p](ctx.config), reads[p](next)));
        ctx = { ...ctx, config: next };
        if (changed.includes('alert rules')) {
          alerter.stop();
          alerter = new Alerter(ctx);
          await alerter.start();
        }
        if (changed.includes('notify scripts')) {
          await notifier.stop();
          notifier = new Notifier(ctx);
          if (notifier.needed) await notifier.start();
        }
        if (changed.includes('metrics model')) await metrics?.reload(next);
        if (changed.includes('service watch')) {
          services.stop();
          services = new ServiceWatch({ log, logger, silentMs: next.alerts.service_silent_ms });
          services.start();
        }
        const applied = changed.filter((p) => p !== 'cluster observation');
        return {
          added: [], removed: [], changed: applied, unchanged: parts.filter((p) => !changed.includes(p)),
          restart_needed: changed.includes('cluster observation') ? ['vip_groups (the ZooKeeper watch of the groups)'] : [],
        };
      },
    };
  });
}
