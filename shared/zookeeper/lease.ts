// The lease recipe on ZooKeeper (as Curator's lock recipe, kept apart from the client):
// ephemeral-sequential candidates under <base>/vips/<group>/lock, the lowest holds the
// lease, and its sequence number is the epoch (the fencing token). The holder also
// publishes <base>/vips/<group>/owner (ephemeral, JSON) for operators with zkCli.sh, and
// keeps <base>/vips/<group>/tenure (persistent) saying when its addresses are gone. The
// rules (who holds, which candidates are stale, what the last tenure says) are pure
// functions; every I/O here is one request or one transaction.
import { z } from 'zod';
import { isZkError, type ZkClient } from './client.js';
import type { ZkPaths } from './layout.js';
import { deleteIfExists } from './nodes.js';

export interface Candidate {
  /** Its znode name, "c-<node>-<10-digit sequence>". */
  name: string;
  node: string;
  epoch: number;
}

/** Lock candidates are named "c-<node>-<10-digit sequence>"; the sequence is the epoch (fencing token). */
export function parseCandidate(name: string): { node: string; epoch: number } | undefined {
  const m = /^c-([A-Za-z0-9][A-Za-z0-9_.-]*)-(\d{10})$/.exec(name);
  return m ? { node: m[1]!, epoch: Number(m[2]) } : undefined;
}

/** The candidates, lowest epoch first (names that are not candidates are ignored); watch fires once at the next change. */
export async function readLock(client: ZkClient, paths: ZkPaths, group: string, watch?: () => void): Promise<Candidate[]> {
  const names = await client.getChildren(paths.lock(group), watch);
  return names
    .flatMap((name) => {
      const c = parseCandidate(name);
      return c ? [{ name, ...c }] : [];
    })
    .sort((a, b) => a.epoch - b.epoch);
}

/** Who holds the lease: the lowest candidate (candidates sorted as readLock returns them); undefined: nobody. */
export function holderOf(candidates: readonly Candidate[]): Candidate | undefined {
  return candidates[0];
}

export interface LockView {
  /** Candidates of this node's earlier sessions (a restart, a lost session), to delete. */
  stale: Candidate[];
  /** Our candidate (of this session) is no longer in the lock. */
  mineGone: boolean;
  /** The holder once the stale candidates are gone; ours: it is our candidate. */
  holder: { node: string; epoch: number; ours: boolean } | undefined;
}

/**
 * What the lock means to one node. Its candidates of earlier sessions only delay everyone
 * (this node holds nothing then: its addresses are removed at start-up and on loss), so
 * they are stale, unless the node is bound now (then nothing of ours is touched).
 */
export function lockView(candidates: readonly Candidate[], node: string, mine: string | undefined, bound: boolean): LockView {
  const stale = bound ? [] : candidates.filter((c) => c.node === node && c.name !== mine);
  const left = candidates.filter((c) => !stale.includes(c));
  const low = holderOf(left);
  return {
    stale,
    mineGone: mine !== undefined && !left.some((c) => c.name === mine),
    holder: low ? { node: low.node, epoch: low.epoch, ours: low.name === mine } : undefined,
  };
}

/**
 * At the start of a new session: this node's candidates and owner znode left by its earlier
 * sessions (ZooKeeper restores sessions when it restarts; a restarted fence leaves its old
 * session behind). They hold the lock for nobody, and would keep every node waiting a
 * session timeout. Only for a group this node does not hold now. Returns what was removed.
 */
export async function removeEarlierSessions(client: ZkClient, paths: ZkPaths, group: string, node: string): Promise<string[]> {
  const removed: string[] = [];
  const ofEarlierSession = async (path: string): Promise<number | undefined> => {
    const stat = await client.exists(path);
    return stat && stat.ephemeralOwner !== client.sessionId ? stat.version : undefined;
  };
  for (const c of (await readLock(client, paths, group)).filter((x) => x.node === node)) {
    const path = `${paths.lock(group)}/${c.name}`;
    if ((await ofEarlierSession(path)) === undefined) continue;
    await deleteIfExists(client, path);
    removed.push(path);
  }
  const owner = paths.owner(group);
  const version = await ofEarlierSession(owner);
  if (version !== undefined) {
    const { data } = await client.getData(owner).catch(() => ({ data: Buffer.alloc(0) }));
    if (ownerNode(data) === node) {
      try {
        await client.multi([{ op: 'delete', path: owner, version }]);
        removed.push(owner);
      } catch (err) {
        if (!isZkError(err, 'NO_NODE') && !isZkError(err, 'BAD_VERSION')) throw err;
      }
    }
  }
  return removed;
}

/** Deletes candidates (stale ones of this node); one already gone is no error. */
export async function removeCandidates(client: ZkClient, paths: ZkPaths, group: string, candidates: readonly Candidate[]): Promise<void> {
  for (const c of candidates) await deleteIfExists(client, `${paths.lock(group)}/${c.name}`);
}

export interface OwnerData {
  node: string;
  epoch: number;
  since: string;
  addresses: string[];
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/** The owner node of another node's session is still there: it goes when that session expires. */
export class OwnerOfAnotherSession extends Error {}

/** The node an owner znode names; undefined if it is not what vigil writes there. */
function ownerNode(raw: Buffer): string | undefined {
  try {
    const r = z.object({ node: z.string() }).safeParse(JSON.parse(raw.toString('utf8')));
    return r.success ? r.data.node : undefined;
  } catch {
    return undefined;
  }
}

/** Creates our candidate; resolves with its path and epoch. */
export async function joinLock(client: ZkClient, paths: ZkPaths, group: string, node: string): Promise<{ path: string; epoch: number }> {
  const path = await client.create(`${paths.lock(group)}/c-${node}-`, json({ node, since: new Date().toISOString(), pid: process.pid }), 'ephemeral_sequential');
  const parsed = parseCandidate(path.slice(path.lastIndexOf('/') + 1));
  if (!parsed) throw new Error(`ZooKeeper created an unexpected candidate name: ${path}`);
  return { path, epoch: parsed.epoch };
}

/** Publishes the owner node, only while our candidate still exists (one transaction). */
export async function publishOwner(client: ZkClient, paths: ZkPaths, group: string, candidatePath: string, data: OwnerData): Promise<void> {
  const owner = paths.owner(group);
  try {
    await client.multi([
      { op: 'check', path: candidatePath },
      { op: 'create', path: owner, data: json(data), mode: 'ephemeral' },
    ]);
  } catch (err) {
    if (!isZkError(err, 'NODE_EXISTS')) throw err;
    const { data: raw, stat } = await client.getData(owner);
    // Ours from a moment ago in this session (a retried bind): refresh it.
    if (stat.ephemeralOwner === client.sessionId) return void (await client.setData(owner, json(data)));
    // This node's, from an earlier session (ZooKeeper restarted and restored it, or the fence
    // restarted): replace it now rather than wait a session timeout for it to expire. We hold
    // the lock, and that session's candidate is gone (lockView: stale). Another node's is waited for.
    if (ownerNode(raw) !== data.node) throw new OwnerOfAnotherSession(`${owner} exists and belongs to session ${stat.ephemeralOwner}, not ours (it goes when that session expires)`);
    await client.multi([
      { op: 'check', path: candidatePath },
      { op: 'delete', path: owner, version: stat.version },
      { op: 'create', path: owner, data: json(data), mode: 'ephemeral' },
    ]);
  }
}

/** Deletes the owner node (if ours) and our candidate together. */
export async function leaveLock(client: ZkClient, paths: ZkPaths, group: string, candidatePath: string): Promise<void> {
  const owner = paths.owner(group);
  const stat = await client.exists(owner);
  const ops = [
    ...(stat && stat.ephemeralOwner === client.sessionId ? [{ op: 'delete' as const, path: owner, version: stat.version }] : []),
    { op: 'delete' as const, path: candidatePath },
  ];
  try {
    await client.multi(ops);
  } catch (err) {
    if (!isZkError(err, 'NO_NODE') && !isZkError(err, 'BAD_VERSION')) throw err;
    // One of them was already gone: delete what is left, one by one.
    if (stat && stat.ephemeralOwner === client.sessionId) await deleteIfExists(client, owner);
    await deleteIfExists(client, candidatePath);
  }
}

/**
 * The last tenure's end, kept in a persistent node (<base>/vips/<group>/tenure) that
 * outlives its holder's session: while bound, the time until which the kernel keeps the
 * addresses (renewed with them); after a clean unbind, the time they were removed. The
 * next holder reads it to tell how long nobody had the addresses.
 */
const ms = z.number().int().nonnegative();
const tenureSchema = z.object({
  node: z.string().min(1),
  epoch: ms,
  /** Unix ms: the addresses are gone by then unless renewed. */
  valid_until: ms,
  /** Unix ms: removed by the holder (a clean unbind). */
  gone_at: ms.optional(),
});
export type TenureData = z.infer<typeof tenureSchema>;

/** The tenure node's data, or undefined if it is not what vigil writes there. */
export function parseTenure(raw: Buffer): TenureData | undefined {
  try {
    const r = tenureSchema.safeParse(JSON.parse(raw.toString('utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** What vip.bound says of the tenure before this one (epoch): when its addresses went, and how; undefined if it is this very tenure. */
export function previousTenure(before: TenureData | undefined, epoch: number, boundAt: number) {
  if (!before || before.epoch === epoch) return undefined;
  return { node: before.node, epoch: before.epoch, gone_at: Math.min(before.gone_at ?? before.valid_until, boundAt), how: before.gone_at !== undefined ? ('unbound' as const) : ('lifetime' as const) };
}

export async function readTenure(client: ZkClient, paths: ZkPaths, group: string): Promise<TenureData | undefined> {
  try {
    return parseTenure((await client.getData(paths.tenure(group))).data);
  } catch (err) {
    if (isZkError(err, 'NO_NODE')) return undefined;
    throw err;
  }
}

export const tenureData = (node: string, epoch: number, validUntil: number): Buffer => json({ node, epoch, valid_until: validUntil } satisfies TenureData);

export async function writeTenure(client: ZkClient, paths: ZkPaths, group: string, data: TenureData): Promise<void> {
  try {
    await client.setData(paths.tenure(group), json(data));
  } catch (err) {
    if (!isZkError(err, 'NO_NODE')) throw err;
    try {
      await client.create(paths.tenure(group), json(data), 'persistent');
    } catch (e) {
      if (!isZkError(e, 'NODE_EXISTS')) throw e;
      await client.setData(paths.tenure(group), json(data));
    }
  }
}
