// Reading a JetStream stream whole, from a test: every message in stream order, with its
// Nats-Msg-Id and the event it carries.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

export interface StreamMessage {
  streamSeq: number;
  subject: string;
  msgId: string | undefined;
  event: { seq: number; id: string; node: string; type: string };
}

export async function readStream(url: string, stream: string): Promise<StreamMessage[]> {
  const nc = await connect({ servers: url, timeout: 2000 });
  try {
    const jsm = await jetstreamManager(nc);
    const total = (await jsm.streams.info(stream)).state.messages;
    const out: StreamMessage[] = [];
    if (total === 0) return out;
    const consumer = await jetstream(nc).consumers.get(stream); // ordered, ephemeral
    while (out.length < total) {
      const batch = await consumer.fetch({ max_messages: Math.min(1000, total - out.length), expires: 2000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        out.push({ streamSeq: m.seq, subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id'), event: m.json() });
      }
      if (got === 0) throw new Error(`stream ${stream}: read ${out.length} of ${total} messages, then nothing`);
    }
    return out;
  } finally {
    await nc.close();
  }
}

/** The number of messages in the stream (0 if it does not exist yet). */
export async function streamCount(url: string, stream: string): Promise<number> {
  const nc = await connect({ servers: url, timeout: 2000 });
  try {
    const jsm = await jetstreamManager(nc);
    return (await jsm.streams.info(stream)).state.messages;
  } catch {
    return 0;
  } finally {
    await nc.close();
  }
}
