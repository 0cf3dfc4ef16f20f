// vigil's tree in ZooKeeper as an operator reads it: every znode under the cluster's base
// with its data decoded and what it means (pure: describeZnode), and the reader (one
// short session, every node read once).
import type { VigilConfig } from '../../shared/config/index.js';
import { isZkError, ZkClient } from '../../shared/zookeeper/client.js';
import { zkPaths } from '../../shared/zookeeper/layout.js';
import { parseCandidate, parseTenure } from '../../shared/zookeeper/lease.js';
import { parseHearingRecord } from '../../shared/zookeeper/hearing-record.js';

export interface Znode {
  path: string;
  /** The session that keeps it (ephemeral), as zkCli.sh prints it; undefined: persistent. */
  session: string | undefined;
  version: number;
  ctime: number;
  mtime: number;
  /** Its data as text (vigil writes JSON). */
  data: string;
  /** What it means, in a sentence ('' for a folder). */
  meaning: string;
}

const json = (text: string): Record<string, unknown> | undefined => {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};
const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
const at = (ms: unknown) => (typeof ms === 'number' ? new Date(ms).toISOString() : '?');

/** What a znode of vigil's tree means; lowestCandidate: the lock's holder, for candidates. */
export function describeZnode(base: string, path: string, data: string, lowestCandidate?: string): string {
  if (!path.startsWith(`${base}/`)) return '';
  const parts = path.slice(base.length + 1).split('/');
  const d = json(data);
  const since = d && str(d.since) ? ` since ${str(d.since)}` : '';
  const pid = d && str(d.pid) ? ` pid ${str(d.pid)}` : '';
  if (parts[0] === 'nodes' && parts.length === 2) return `node ${parts[1]} alive: its fence service has a session${pid}${since}`;
  if (parts[0] === 'relays' && parts.length === 2) return `node ${parts[1]}'s relay alive (its events and alerts are delivered)${pid}${since}`;
  if (parts[0] === 'hearing' && parts.length === 2) {
    const r = parseHearingRecord(Buffer.from(data), parts[1]!);
    if (!r.ok) return `not a hearing record vigil writes (${r.error}): ${parts[1]} counts as hearing every holder`;
    const instances = Object.entries(r.record.instances).map(([name, h]) => `${name} (from ${h.address}) hears ${h.hears.length > 0 ? h.hears.join(', ') : 'no other director'}`);
    return `whose VRRP adverts ${parts[1]} hears: ${instances.length > 0 ? instances.join('; ') : 'nothing known (its vrrp service is not running)'}`;
  }
  if (parts[0] === 'vips' && parts.length === 4 && parts[2] === 'lock') {
    const c = parseCandidate(parts[3]!);
    if (!c) return 'not a vigil candidate';
    const holds = parts[3] === lowestCandidate;
    return `${c.node} ${holds ? 'holds' : 'waits for'} the lease of ${parts[1]} (epoch ${c.epoch})${since}`;
  }
  if (parts[0] === 'vips' && parts.length === 3 && parts[2] === 'owner') {
    if (!d) return 'owner data is not JSON';
    const addresses = Array.isArray(d.addresses) ? d.addresses.join(', ') : '?';
    return `${parts[1]} bound on ${str(d.node) ?? '?'} (epoch ${str(d.epoch) ?? '?'}) since ${str(d.since) ?? '?'}: ${addresses}`;
  }
  if (parts[0] === 'vips' && parts.length === 3 && parts[2] === 'tenure') {
    const t = parseTenure(Buffer.from(data));
    if (!t) return 'tenure data is not what vigil writes';
    return t.gone_at !== undefined
      ? `last tenure of ${parts[1]}: ${t.node} (epoch ${t.epoch}), addresses removed at ${at(t.gone_at)}`
      : `tenure of ${parts[1]}: ${t.node} (epoch ${t.epoch}), addresses kept by the kernel until ${at(t.valid_until)} unless renewed`;
  }
  return '';
}

export interface ZkReadOptions {
  timeoutMs?: number;
}

/** A short session to the cluster's ZooKeeper; rejects with a sentence when none is had in time. */
export async function connectZk(config: VigilConfig, o: ZkReadOptions = {}): Promise<ZkClient> {
  const timeoutMs = o.timeoutMs ?? 3000;
  const hosts = config.zookeeper.hosts.join(',');
  try {
    return await ZkClient.connect({ connectString: hosts, sessionTimeoutMs: Math.max(4000, config.zookeeper.session_timeout * 1000), connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs });
  } catch (err) {
    throw new Error(`cannot reach ZooKeeper at ${hosts} within ${timeoutMs} ms (${(err as Error).message})`);
  }
}

/** Every znode under the cluster's base, parents first, children in name order. */
export async function readTree(client: ZkClient, config: VigilConfig): Promise<Znode[]> {
  const { base } = zkPaths(config);
  const out: Znode[] = [];
  const visit = async (path: string, lowestCandidate?: string): Promise<void> => {
    let got: { data: Buffer; stat: { version: number; ephemeralOwner: string; ctime: number; mtime: number } };
    let children: string[];
    try {
      got = await client.getData(path);
      children = (await client.getChildren(path)).sort();
    } catch (err) {
      if (isZkError(err, 'NO_NODE')) return; // gone while we read
      throw err;
    }
    const data = got.data.toString('utf8');
    const persistent = /^0+$/.test(got.stat.ephemeralOwner);
    out.push({ path, session: persistent ? undefined : `0x${got.stat.ephemeralOwner.replace(/^0+/, '')}`, version: got.stat.version, ctime: got.stat.ctime, mtime: got.stat.mtime, data, meaning: describeZnode(base, path, data, lowestCandidate) });
    const lowest = path.endsWith('/lock')
      ? children.map((name) => ({ name, c: parseCandidate(name) })).filter((x) => x.c).sort((a, b) => a.c!.epoch - b.c!.epoch)[0]?.name
      : undefined;
    for (const child of children) await visit(`${path}/${child}`, lowest);
  };
  if (await client.exists(base)) await visit(base);
  return out;
}
