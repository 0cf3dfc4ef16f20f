// Who hears whom, and when a holder gives way. Pure.
//
// Each node's fence publishes in ZooKeeper (/<root>/<cluster>/hearing/<node>) whose VRRP
// adverts each of its instances hears now (the vrrp service's vrrp.hearing). A holder cut
// off from the other directors but not from ZooKeeper would keep its lease while they
// become VRRP masters and are denied it; the rule below makes it give way to the side most
// directors are on.
//
// The rule: the holder H gives way to a director W that waits in the lock when a strict
// majority of the configured directors hear W and not H (W counts as hearing itself; H
// never counts). It cannot flap: after the move, moving on to some V would need a strict
// majority hearing V and not W; two strict majorities share a director, which would have to
// hear W and not hear W. A symmetric split (2 of 4, 1 of 2) has no such majority: the
// holder stays. A director whose record is missing (no fence, no vrrp service, not
// published yet) counts as hearing the holder: unknown never moves a VIP.
import type { InstanceHearing } from '../../shared/zookeeper/hearing-record.js';

export type { InstanceHearing };

export interface GiveWay {
  to: string;
  /** The directors that hear `to` and not the holder (a strict majority). */
  heardBy: string[];
  directors: number;
  why: string;
}

/**
 * Whether the holder `self` gives an instance's lease up, and to whom: the first of
 * `waiting` (nodes with a candidate in the lock, in lock order) that a strict majority of
 * `directors` hear and do not hear `self`. `views` holds each node's hearing of the instance.
 */
export function giveWayTo(self: string, directors: readonly string[], views: ReadonlyMap<string, InstanceHearing>, waiting: readonly string[]): GiveWay | undefined {
  if (!views.has(self)) return undefined;
  /** Whether node x hears node y's adverts (both with a record; a node hears itself). */
  const hears = (x: string, y: string) => x === y || views.get(x)!.hears.includes(views.get(y)!.address);
  for (const to of waiting) {
    if (to === self || !views.has(to) || !directors.includes(to)) continue;
    const heardBy = directors.filter((x) => x !== self && views.has(x) && hears(x, to) && !hears(x, self));
    if (heardBy.length * 2 > directors.length) {
      return { to, heardBy, directors: directors.length, why: `${heardBy.join(', ')} (${heardBy.length} of ${directors.length} directors) hear ${to}'s VRRP adverts and not this node's: the lease goes to ${to}` };
    }
  }
  return undefined;
}
