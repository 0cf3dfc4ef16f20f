// From the cluster configuration to what the decider and the wire need. Pure.
import type { NodeInstance, VigilConfig } from '../../shared/config/index.js';
import { parseVipAddress } from '../../shared/config/index.js';
import type { InstanceExpectations } from './codec.js';
import type { TrackerConfig, VrrpInstanceSpec } from './decider.js';
import { syncTracker } from './sync.js';

export const FENCE_TRACKER = 'fence';
export const scriptTracker = (name: string) => `script:${name}`;
const IF_PREFIX = 'if:';
export const interfaceTracker = (name: string) => `${IF_PREFIX}${name}`;
export const isInterfaceTracker = (tracker: string) => tracker.startsWith(IF_PREFIX);
/** The interface a tracker watches, or undefined for other trackers. */
export const trackedInterface = (tracker: string) => (isInterfaceTracker(tracker) ? tracker.slice(IF_PREFIX.length) : undefined);
const VS_PREFIX = 'vs:';
export const virtualServerTracker = (name: string) => `${VS_PREFIX}${name}`;
/** The virtual server a tracker watches, or undefined for other trackers. */
export const trackedVirtualServer = (tracker: string) => (tracker.startsWith(VS_PREFIX) ? tracker.slice(VS_PREFIX.length) : undefined);

export interface InstancePlan {
  spec: VrrpInstanceSpec;
  /** The vrrp_sync_group this instance is a member of. */
  syncGroup: string | undefined;
  interface: string;
  /** Unicast peers, or none for multicast. */
  peers: string[];
  /** Adverts from other sources than the peers are dropped. */
  checkUnicastSrc: boolean;
  /** The VIPs carried in adverts: every address of the VIP groups this instance gates. */
  addresses: string[];
  /** On the wire: v2 seconds, v3 centiseconds. */
  wireInterval: number;
  authPass: string | undefined;
}

type Weighted = string | { name: string; weight?: number | undefined };
type Tracking = Pick<NodeInstance, 'track_script' | 'track_interface' | 'track_virtual_server'>;

/** Tracked conditions with keepalived's weights (a script's own weight unless the reference sets one; 0 otherwise). */
function trackersOf(c: VigilConfig, t: Tracking, zeroWeights: boolean): Record<string, TrackerConfig> {
  const out: Record<string, TrackerConfig> = {};
  const nameOf = (w: Weighted) => (typeof w === 'string' ? w : w.name);
  const weightOf = (w: Weighted, fallback: number) => (zeroWeights ? 0 : typeof w === 'string' || w.weight === undefined ? fallback : w.weight);
  for (const w of t.track_script) {
    const script = c.track_scripts[nameOf(w)]!;
    out[scriptTracker(nameOf(w))] = { weight: weightOf(w, script.weight), initiallyOk: !script.init_fail };
  }
  for (const w of t.track_interface) out[interfaceTracker(nameOf(w))] = { weight: weightOf(w, 0), initiallyOk: true };
  for (const w of t.track_virtual_server) out[virtualServerTracker(nameOf(w))] = { weight: weightOf(w, 0), initiallyOk: true };
  return out;
}

/** The sync group an instance belongs to, if any. */
export function syncGroupOf(c: VigilConfig, instance: string): [string, VigilConfig['vrrp_sync_groups'][string]] | undefined {
  return Object.entries(c.vrrp_sync_groups).find(([, g]) => g.group.includes(instance));
}

export function planInstance(c: VigilConfig, vi: NodeInstance, primaryAddress: string): InstancePlan {
  const group = syncGroupOf(c, vi.name);
  // keepalived sets the weights of a member's own tracking to 0: members with differing
  // priorities would re-elect forever. The group's own tracking applies to every member.
  const trackers: Record<string, TrackerConfig> = group
    ? { ...trackersOf(c, vi, !group[1].sync_group_tracking_weight), ...trackersOf(c, group[1], false), [syncTracker(group[0])]: { weight: 0, initiallyOk: true } }
    : trackersOf(c, vi, false);
  if (c.fence.required) trackers[FENCE_TRACKER] = { weight: 0, initiallyOk: false };
  const addresses = Object.values(c.vip_groups)
    .filter((g) => g.instance === vi.name)
    .flatMap((g) => g.addresses.map((a) => parseVipAddress(a).address));
  return {
    spec: {
      name: vi.name,
      version: vi.version,
      vrid: vi.virtual_router_id,
      priority: vi.priority,
      advertIntervalMs: Math.round(vi.advert_int * 1000),
      preempt: !vi.nopreempt,
      preemptDelayMs: Math.round(vi.preempt_delay * 1000),
      downTimerAdverts: vi.down_timer_adverts,
      primaryAddress,
      trackers,
      synced: group !== undefined,
    },
    syncGroup: group?.[0],
    interface: vi.interface,
    peers: vi.unicast_peer,
    checkUnicastSrc: vi.unicast_peer.length > 0 && (vi.check_unicast_src ?? true),
    addresses,
    wireInterval: vi.version === 2 ? vi.advert_int : Math.round(vi.advert_int * 100),
    authPass: vi.authentication?.auth_pass,
  };
}

export function expectations(p: InstancePlan): InstanceExpectations {
  return {
    version: p.spec.version,
    vrid: p.spec.vrid,
    interval: p.wireInterval,
    authPass: p.authPass,
    addresses: p.addresses,
    ownAddresses: [p.spec.primaryAddress],
    ...(p.checkUnicastSrc ? { peers: p.peers } : {}),
  };
}

/** The master's advert interval in ms, from an advert's interval field. */
export function intervalMs(version: 2 | 3, wire: number): number {
  return version === 2 ? wire * 1000 : wire * 10;
}
