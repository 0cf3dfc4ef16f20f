// The lease recipe on ZooKeeper (as Curator's lock): ephemeral-sequential candidates
// under <base>/vips/<group>/lock, the lowest holds the lease, and its sequence number is
// the epoch. The holder also publishes <base>/vips/<group>/owner (ephemeral, JSON) for
// operators with zkCli.sh. Everything here is one request or one transaction.
import { isZkError, type ZkClient } from '../../shared/zookeeper/client.js';
import { z } from 'zod';
import { parseCandidate, type ZkPaths } from '../../shared/zookeeper/layout.js';
import { deleteIfExists } from '../../shared/zookeeper/nodes.js';

export interface OwnerData {
  node: string;
  epoch: number;
  since: string;
  addresses: string[];
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/** The owner node of an earlier session (ours after a restart, or the last holder's) is still there: it goes when that session expires. */
export class OwnerOfAnotherSession extends Error {}

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
    // Ours from a moment ago in this session (a retried bind): refresh it; anyone else's is a bug to report.
    const { stat } = await client.getData(owner);
    if (stat.ephemeralOwner !== client.sessionId) throw new OwnerOfAnotherSession(`${owner} exists and belongs to session ${stat.ephemeralOwner}, not ours (it goes when that session expires)`);
    await client.setData(owner, json(data));
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
