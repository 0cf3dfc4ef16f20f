// `profile: fast`, one top-level line of the cluster configuration: the documented fast
// settings for every field the file leaves out (a field written in the file always wins).
// Applied to the parsed YAML before validation, so every check sees the values in force.

/** What `profile: fast` fills in (README, "Profiles"). */
export const FAST_PROFILE = {
  /** ZooKeeper session (s): the old holder's lease ends 0.4-0.5 s after it died (ZooKeeper's tickTime must be at most 200 ms). */
  session_timeout: 0.4,
  /** The vrrp and fence services fault each other after this much silence (s). */
  liveness_timeout: 0.3,
  /** VRRP instances: version 3, adverts every 100 ms (master-down ~0.36 s). */
  version: 3,
  advert_int: 0.1,
} as const;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The document with the profile's values where it has none of its own (anything malformed is left for validation to report). */
export function applyProfile(doc: unknown): unknown {
  if (!isObject(doc) || doc.profile !== 'fast') return doc;
  const out: Json = { ...doc };
  if (isObject(out.zookeeper) && out.zookeeper.session_timeout === undefined) out.zookeeper = { ...out.zookeeper, session_timeout: FAST_PROFILE.session_timeout };
  if (out.fence === undefined || out.fence === null) out.fence = { liveness_timeout: FAST_PROFILE.liveness_timeout };
  else if (isObject(out.fence) && out.fence.liveness_timeout === undefined) out.fence = { ...out.fence, liveness_timeout: FAST_PROFILE.liveness_timeout };
  if (isObject(out.vrrp_instances)) {
    out.vrrp_instances = Object.fromEntries(Object.entries(out.vrrp_instances).map(([name, vi]) => {
      if (!isObject(vi)) return [name, vi];
      // An instance that says version 2 keeps VRRPv2's whole-second adverts (a keepalived peer's).
      const version = vi.version ?? FAST_PROFILE.version;
      const advert = vi.advert_int ?? (version === 3 ? FAST_PROFILE.advert_int : undefined);
      return [name, { ...vi, version, ...(advert !== undefined ? { advert_int: advert } : {}) }];
    }));
  }
  return out;
}
