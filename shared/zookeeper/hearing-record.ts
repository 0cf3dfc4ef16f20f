// A node's hearing record in ZooKeeper (/<root>/<cluster>/hearing/<node>, ephemeral, kept
// by its fence): whose VRRP adverts each of its instances hears now, and its own source
// address. Read by the other fences (a cut-off holder gives way, services/fence/hearing.ts)
// and by `vigil zk`.
import { z } from 'zod';

/** One instance as one node hears it: its own source address, and the sources it hears. */
export interface InstanceHearing {
  address: string;
  hears: readonly string[];
}

const ipv4 = z.ipv4();
/** A node's record in ZooKeeper (validated: another version, or a hand, may have written it). */
export const hearingRecord = z.strictObject({
  node: z.string().min(1).max(128),
  instances: z.record(z.string().min(1).max(128), z.strictObject({ address: ipv4, hears: z.array(ipv4).max(64) })),
});
export type HearingRecord = z.infer<typeof hearingRecord>;

/** Parses a record read from ZooKeeper; undefined (and why) when it is not one. */
export function parseHearingRecord(data: Buffer, node: string): { ok: true; record: HearingRecord } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
  const r = hearingRecord.safeParse(json);
  if (!r.success) return { ok: false, error: r.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ') };
  if (r.data.node !== node) return { ok: false, error: `names node "${r.data.node}", not "${node}"` };
  return { ok: true, record: r.data };
}
