// The kernel-enforced lease, as nft scripts (pure text; kernel-fence.ts applies them).
//
// Two tables named vigil_fence (family inet for IPv4 traffic, family arp for ARP), each with
// the same two sets: `vips`, every address this node's fence manages, and `live`, the ones
// it may answer for right now, each element with a timeout that ends before the lease could
// pass to another node. Traffic to or from a VIP that is not live is dropped: inbound before
// IPVS sees it (filter input runs before IPVS's LOCAL_IN hooks), outbound replies, and ARP
// both ways. So a holder whose fence dies, hangs or is cut off stops answering for its VIPs
// when the timeout runs out, with no process's help; the address itself goes later (the dead
// man's switch, the address lifetime). Making an address live, at every heartbeat, and
// withdrawing it are not scripts: native/nft_fence.c's live() sends those set elements
// straight to the kernel.
export const FENCE_TABLE = 'vigil_fence';
const FAMILIES = ['inet', 'arp'] as const;

const elements = (addresses: readonly string[]) => `{ ${addresses.join(', ')} }`;

/** Creates both tables afresh (what an earlier run left is replaced in the same transaction): nothing live. */
export function installScript(vips: readonly string[]): string {
  const out: string[] = [];
  for (const f of FAMILIES) out.push(`add table ${f} ${FENCE_TABLE}`, `delete table ${f} ${FENCE_TABLE}`);
  const sets = [`  set vips { type ipv4_addr; }`, `  set live { type ipv4_addr; flags timeout; }`];
  out.push(
    `table inet ${FENCE_TABLE} {`, ...sets,
    `  chain in { type filter hook input priority filter; policy accept; ip daddr @vips ip daddr != @live drop; }`,
    `  chain out { type filter hook output priority filter; policy accept; ip saddr @vips ip saddr != @live drop; }`,
    `}`,
    `table arp ${FENCE_TABLE} {`, ...sets,
    `  chain in { type filter hook input priority filter; policy accept; arp daddr ip @vips arp daddr ip != @live drop; }`,
    `  chain out { type filter hook output priority filter; policy accept; arp saddr ip @vips arp saddr ip != @live drop; }`,
    `}`,
  );
  if (vips.length > 0) out.push(...setVipsScript(vips, false));
  return out.join('\n') + '\n';
}

function setVipsScript(vips: readonly string[], flush: boolean): string[] {
  return FAMILIES.flatMap((f) => [
    ...(flush ? [`flush set ${f} ${FENCE_TABLE} vips`] : []),
    ...(vips.length > 0 ? [`add element ${f} ${FENCE_TABLE} vips ${elements(vips)}`] : []),
  ]);
}

/** The managed addresses after a reload (live elements are left alone: a removed group unbinds first). */
export function replaceVipsScript(vips: readonly string[]): string {
  return setVipsScript(vips, true).join('\n') + '\n';
}

/** Removes both tables (a fence that stops holding nothing leaves no rules behind). */
export function removeScript(): string {
  return FAMILIES.flatMap((f) => [`add table ${f} ${FENCE_TABLE}`, `delete table ${f} ${FENCE_TABLE}`]).join('\n') + '\n';
}
