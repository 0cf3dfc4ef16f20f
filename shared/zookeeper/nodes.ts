// Small recipes on ZooKeeper nodes shared by the services.
import { isZkError, type ZkClient } from './client.js';

/** Deletes a node; false if it was not there. */
export async function deleteIfExists(client: ZkClient, path: string): Promise<boolean> {
  try {
    await client.delete(path);
    return true;
  } catch (err) {
    if (isZkError(err, 'NO_NODE')) return false;
    throw err;
  }
}

/**
 * Creates an ephemeral node that is ours by name (a node's or a relay's presence): one left
 * by an earlier session of ours (a restart before that session expired) is replaced.
 */
export async function createOwnEphemeral(client: ZkClient, path: string, data: Buffer): Promise<void> {
  try {
    await client.create(path, data, 'ephemeral');
  } catch (err) {
    if (!isZkError(err, 'NODE_EXISTS')) throw err;
    await deleteIfExists(client, path);
    await client.create(path, data, 'ephemeral');
  }
}
