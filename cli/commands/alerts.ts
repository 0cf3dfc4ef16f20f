// vigil alerts: the cluster's alerts as the relays published them on NATS, read from the
// JetStream stream (so each alert once, however many relays raised it): those since
// --since, then, with --follow, every new one as it comes.
import { DeliverPolicy, jetstream, type Consumer, type JsMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { alertMessageSchema, alertSubject, drainConsumer, type AlertMessage } from '../../shared/nats.js';
import { isoTime, parseTime, TimeParseError } from '../../shared/time.js';
import { loadConfig } from '../../shared/config/index.js';
import { configFile, DEFAULT_CONFIG } from '../../shared/config/node.js';
import { commonOptions, parse, UsageError, type Io } from '../common.js';
import { alertsUsage } from '../usage.js';


const options = {
  ...commonOptions,
  follow: { type: 'boolean', short: 'f', default: false },
  since: { type: 'string' },
  severity: { type: 'string' },
  kind: { type: 'string' },
} as const;


export async function alertsCommand(argv: string[], io: Io, stop: AbortSignal): Promise<number> {
  const { values, positionals } = parse(argv, options);
  if (values.help) {
    io.out(alertsUsage + '\n');
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected "${positionals[0]}"\n${alertsUsage}`);
  if (values.severity !== undefined && !['critical', 'warning', 'info'].includes(values.severity)) throw new UsageError(`--severity must be critical, warning or info, not "${values.severity}"`);
  if (values.kind !== undefined && !/^[a-z_]+$/.test(values.kind)) throw new UsageError(`--kind must be a kind like failover or vip_unowned, not "${values.kind}"`);
  let since: number;
  try {
    since = values.since === undefined ? Date.now() - 3_600_000 : parseTime(values.since);
  } catch (err) {
    if (err instanceof TimeParseError) throw new UsageError(`--since: ${err.message}`);
    throw err;
  }
  // Alerts are the cluster's: the config alone says where they are; no node is needed.
  const file = configFile(values.config);
  if (file === undefined) throw new UsageError(`give --config FILE (no ${DEFAULT_CONFIG})`);
  const { config } = loadConfig(file);
  if (!config.nats) throw new UsageError('the configuration has no nats section: there are no alerts on NATS (see vigil log --type relay.alert)');
  const subject = alertSubject(config.cluster, values.severity ?? '*', values.kind ?? '*');

  let nc: NatsConnection;
  try {
    nc = await connect({ servers: config.nats.servers, name: 'vigil-alerts', timeout: 3000, maxReconnectAttempts: values.follow ? -1 : 0 });
  } catch (err) {
    io.err(`vigil: cannot reach NATS at ${config.nats.servers.join(', ')}: ${(err as Error).message}\n`);
    return 1;
  }
  const print = printer(io, values.json);
  try {
    const consumer = await jetstream(nc).consumers.get(config.nats.stream, {
      filter_subjects: subject,
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(since).toISOString(),
    });
    if (values.follow) await follow(consumer, print, stop);
    else await drain(consumer, print);
  } catch (err) {
    io.err(`vigil: cannot read alerts from stream ${config.nats.stream}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await nc.close();
  }
  return 0;
}

type Print = (m: JsMsg) => void;

/** Prints what the stream holds now, then returns. */
async function drain(consumer: Consumer, print: Print): Promise<void> {
  await drainConsumer(consumer, (m) => print(m));
}

async function follow(consumer: Consumer, print: Print, stop: AbortSignal): Promise<void> {
  const messages = await consumer.consume();
  const end = () => void messages.stop();
  stop.addEventListener('abort', end, { once: true });
  try {
    for await (const m of messages) print(m);
  } finally {
    stop.removeEventListener('abort', end);
  }
}

function printer(io: Io, json: boolean): Print {
  return (m) => {
    let alert: AlertMessage;
    try {
      alert = alertMessageSchema.parse(m.json());
    } catch (err) {
      io.err(`vigil: skipped a malformed message on ${m.subject}: ${(err as Error).message.split('\n')[0]}\n`);
      return;
    }
    if (json) io.out(JSON.stringify(alert) + '\n');
    else io.out(`${isoTime(alert.ts)}  ${alert.severity.toUpperCase().padEnd(8)}  ${alert.kind.padEnd(14)}  ${alert.node.padEnd(8)}  ${alert.summary}\n`);
  };
}
