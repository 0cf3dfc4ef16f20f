// A small authoritative DNS responder on loopback UDP, for DNS_CHECK tests: it answers
// A, TXT and SOA from a table, or misbehaves on purpose (SERVFAIL, NXDOMAIN, garbage,
// silence).
import dgram from 'node:dgram';

export type DnsMode = 'answer' | 'servfail' | 'nxdomain' | 'garbage' | 'silent';
export interface DnsResponder {
  port: number;
  mode: DnsMode;
  /** Records by "TYPE name" (name without the final dot), e.g. "A www.test" -> ["10.1.2.3"]. */
  records: Map<string, string[]>;
  queries: number;
  close(): Promise<void>;
}

const TYPES: Record<number, string> = { 1: 'A', 6: 'SOA', 16: 'TXT' };

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean);
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])), Buffer.from([0])]);
}

function rdata(type: string, value: string): Buffer {
  if (type === 'A') return Buffer.from(value.split('.').map(Number));
  if (type === 'TXT') return Buffer.concat([Buffer.from([Buffer.byteLength(value)]), Buffer.from(value)]);
  const [mname = '', rname = '', serial = '1'] = value.split(' ');
  const nums = Buffer.alloc(20);
  [Number(serial), 3600, 600, 86400, 60].forEach((n, i) => nums.writeUInt32BE(n, i * 4));
  return Buffer.concat([encodeName(mname), encodeName(rname), nums]);
}

function parseQuestion(msg: Buffer): { name: string; type: string; end: number } | undefined {
  let i = 12;
  const labels: string[] = [];
  while (i < msg.length && msg[i] !== 0) {
    const n = msg[i]!;
    labels.push(msg.subarray(i + 1, i + 1 + n).toString());
    i += n + 1;
  }
  if (i + 5 > msg.length) return undefined;
  return { name: labels.join('.'), type: TYPES[msg.readUInt16BE(i + 1)] ?? 'OTHER', end: i + 5 };
}

export async function startDnsResponder(): Promise<DnsResponder> {
  const sock = dgram.createSocket('udp4');
  const r: DnsResponder = {
    port: 0,
    mode: 'answer',
    records: new Map(),
    queries: 0,
    close: () => new Promise((resolve) => sock.close(() => resolve())),
  };
  sock.on('message', (msg, from) => {
    r.queries++;
    const q = parseQuestion(msg);
    if (!q || r.mode === 'silent') return;
    if (r.mode === 'garbage') return void sock.send(Buffer.from('this is not DNS at all'), from.port, from.address);
    const values = r.mode === 'answer' ? r.records.get(`${q.type} ${q.name}`) ?? [] : [];
    const rcode = r.mode === 'servfail' ? 2 : r.mode === 'nxdomain' ? 3 : 0;
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0);
    header.writeUInt16BE(0x8400 | rcode, 2); // QR, AA
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(values.length, 6);
    const answers = values.map((v) => {
      const data = rdata(q.type, v);
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(msg.readUInt16BE(q.end - 4), 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(data.length, 10);
      return Buffer.concat([rr, data]);
    });
    sock.send(Buffer.concat([header, msg.subarray(12, q.end), ...answers]), from.port, from.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  r.port = sock.address().port;
  return r;
}
