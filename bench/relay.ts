// The relay: how long from an append to a NATS subscriber (through `vigil run relay` and
// JetStream), and how many events per second it sustains from a backlog.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { EventLog, type NewEvent } from '../shared/eventlog/index.js';
import { startNats } from '../test/harness/nats.js';
import { CLI } from '../test/harness/node.js';
import { startChild } from '../test/harness/process.js';
import { tempDir } from '../test/harness/tmp.js';
import { percentile, printTable } from './stats.js';

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const note = (text: string): NewEvent => ({ type: 'operator.note', source: 'cli', subject: 'operator:bench', data: { text, author: 'bench' } });

export async function benchRelay(): Promise<void> {
  const tmp = tempDir('bench-relay');
  const nats = await startNats();
  const file = join(tmp.path, 'vigil.yaml');
  writeFileSync(file, `cluster: bench\nnodes: { n1: {} }\nlog: { path: events.db }\nzookeeper: { hosts: [127.0.0.1:2181] }\nnats: { servers: ['${nats.url}'] }\n`);
  const log = EventLog.open({ path: join(tmp.path, 'events.db'), node: 'n1' });
  const relay = startChild([process.execPath, CLI, 'run', 'relay', '--config', file], { logFile: join(tmp.path, 'relay.log') });
  const nc = await connect({ servers: nats.url });
  try {
    const latencies: number[] = [];
    let received = 0;
    const sub = nc.subscribe('vigil.bench.events.n1.operator.note');
    void (async () => {
      for await (const m of sub) {
        received++;
        const text = (m.json() as { data: { text: string } }).data.text;
        if (text.startsWith('t=')) latencies.push(now() - Number(text.slice(2)));
      }
    })();
    await sleep(1500); // the relay connects and creates the stream
    const samples = 2000;
    for (let i = 0; i < samples; i++) {
      log.append(note(`t=${now()}`));
      await sleep(5);
    }
    await sleep(1000);
    latencies.sort((a, b) => a - b);

    const backlog = 100_000;
    const before = received;
    for (let i = 0; i < backlog / 1000; i++) log.appendBatch(Array.from({ length: 1000 }, (_, j) => note(`bulk ${i * 1000 + j}`)));
    const t0 = now();
    while (received - before < backlog) {
      await sleep(20);
      if (now() - t0 > 120_000) break;
    }
    const seconds = (now() - t0) / 1000;
    printTable('Relay: the node\'s log -> vigil run relay -> JetStream -> a NATS subscriber (loopback)', [
      { metric: `append-to-subscriber latency p50 (ms, ${latencies.length} events at 200/s)`, value: percentile(latencies, 50).toFixed(2) },
      { metric: 'append-to-subscriber latency p99 (ms)', value: percentile(latencies, 99).toFixed(2), target: '< 20', ok: percentile(latencies, 99) < 20 },
      { metric: 'append-to-subscriber latency max (ms)', value: percentile(latencies, 100).toFixed(2) },
      { metric: `sustained throughput, a backlog of ${backlog} events (events/s)`, value: ((received - before) / seconds).toFixed(0) },
    ]);
  } finally {
    await nc.close();
    await relay.stop();
    log.close();
    await nats.stop();
    tmp.remove();
  }
}
