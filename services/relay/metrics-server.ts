// The node's Prometheus endpoint (GET /metrics): the metrics model kept up to date from the
// log, the services' in-memory counters and liveness read at each scrape. An address that
// cannot be bound (in use, not on this host) is reported and tried again; the relay goes on.
import { createServer, type Server } from 'node:http';
import type { VigilConfig } from '../../shared/config/index.js';
import { followLog, type EventLog, type Subscription } from '../../shared/eventlog/index.js';
import type { Logger } from '../../shared/logger.js';
import { renderMetrics } from '../../shared/metrics/exposition.js';
import { parseSnapshot, type MetricsSnapshot } from '../../shared/metrics/registry.js';
import { SERVICE_NAMES, serviceLiveness } from '../../shared/service.js';
import { MetricsModel } from './metrics-model.js';
import { CURSOR } from './shell.js';

const RETRY_MS = 5000;
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricsServerOptions {
  config: VigilConfig;
  node: string;
  log: EventLog;
  logger: Logger;
}

/** Where this node serves /metrics, if anywhere. */
export function metricsAddress(config: VigilConfig, node: string): { host: string; port: number } | undefined {
  const listen = config.nodes[node]?.metrics_listen ?? config.metrics?.listen;
  if (listen === undefined) return undefined;
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i), port: Number(listen.slice(i + 1)) };
}

export class MetricsServer {
  private model: MetricsModel;
  private subscription: Subscription | undefined;
  private server: Server | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private o: MetricsServerOptions, private readonly address: { host: string; port: number }) {
    this.model = new MetricsModel(o.config, o.node);
  }

  async start(): Promise<void> {
    await this.follow();
    this.listen();
  }

  /** A new configuration (instances, VIP groups): the model is rebuilt from the whole log; the endpoint stays up. */
  async reload(config: VigilConfig): Promise<void> {
    this.subscription?.close();
    this.o = { ...this.o, config };
    this.model = new MetricsModel(config, this.o.node);
    await this.follow();
  }

  /** The model from the log's first event, then kept up to date as the log grows. */
  private async follow(): Promise<void> {
    const { log, logger } = this.o;
    const model = this.model;
    this.subscription = await followLog(log, { logger, after: 0, replay: { types: MetricsModel.TYPES, apply: (e) => model.apply(e) } }, (batch) => {
      for (const e of batch) model.apply(e);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.subscription?.close();
    const server = this.server;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // a scraper's kept-alive connection must not hold the stop
      await closed;
    }
  }

  /** The page served at /metrics now. */
  page(): string {
    const { config, log, logger } = this.o;
    const services = SERVICE_NAMES.map((service) => ({ service, alive: service === 'relay' || serviceLiveness(log, service, config.alerts.service_silent_ms).alive }));
    const snapshots: MetricsSnapshot[] = [];
    for (const row of log.serviceMetrics()) {
      const s = parseSnapshot(row.data);
      if (s) snapshots.push(s);
      else logger.warn('ignoring a service\'s stored metrics that are not a snapshot', { service: row.service });
    }
    const lastSeq = log.lastSeq();
    const backlog = config.nats ? Math.max(0, lastSeq - log.getCursor(CURSOR)) : undefined;
    return renderMetrics(this.model.families({ services, snapshots, lastSeq, backlog }));
  }

  private listen(): void {
    if (this.stopped) return;
    const { host, port } = this.address;
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path !== '/metrics') {
        res.writeHead(path === '/' ? 200 : 404, { 'content-type': 'text/plain; charset=utf-8' }).end(path === '/' ? 'vigil: metrics at /metrics\n' : 'not found\n');
        return;
      }
      let body: string;
      try {
        body = this.page();
      } catch (err) {
        this.o.logger.error('cannot build the metrics page', { err });
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(`cannot read the event log: ${(err as Error).message}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : body);
    });
    server.on('error', (err) => {
      this.o.logger.error(`cannot serve metrics on ${host}:${port}; trying again in ${RETRY_MS / 1000} s`, { err });
      server.close();
      if (this.server === server) this.server = undefined;
      if (!this.stopped) this.retry = setTimeout(() => this.listen(), RETRY_MS);
    });
    server.listen(port, host, () => this.o.logger.info('serving metrics', { address: `http://${host}:${port}/metrics` }));
    this.server = server;
  }
}
