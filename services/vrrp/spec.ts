// From the cluster configuration to what the decider and the wire need. Pure.
import type { NodeInstance, VigilConfig } from '../../shared/config/index.js';
import { parseVipAddress } from '../../shared/config/index.js';
import type { InstanceExpectations } from './codec.js';
import type { TrackerConfig, VrrpInstanceSpec } from './decider.js';

export const FENCE_TRACKER = 'fence';
export const scriptTracker = (name: string) => `script:${name}`;
const IF_PREFIX = 'if:';
export const interfaceTracker = (name: string) => `${IF_PREFIX}${name}`;
export const isInterfaceTracker = (tracker: string) => tracker.startsWith(IF_PREFIX);
/** The interface a tracker watches, or undefined for other trackers. */
export const trackedInterface = (tracker: string) => (isInterfaceTracker(tracker) ? tracker.slice(IF_PREFIX.length) : undefined);

export interface InstancePlan {
  spec: VrrpInstanceSpec;
  interface: string;
  /** Unicast peers, or none for multicast. */
  peers: string[];
  /** The VIPs carried in adverts: every address of the VIP groups this instance gates. */
  addresses: string[];
  /** On the wire: v2 seconds, v3 centiseconds. */
  wireInterval: number;
  authPass: string | undefined;
}

export function planInstance(c: VigilConfig, vi: NodeInstance, primaryAddress: string): InstancePlan {
  const trackers: Record<string, TrackerConfig> = {};
  for (const t of vi.track_script) {
    const name = typeof t === 'string' ? t : t.name;
    const script = c.track_scripts[name]!;
    const weight = typeof t === 'string' || t.weight === undefined ? script.weight : t.weight;
    trackers[scriptTracker(name)] = { weight, initiallyOk: !script.init_fail };
  }
  for (const t of vi.track_interface) {
    const name = typeof t === 'string' ? t : t.name;
    trackers[interfaceTracker(name)] = { weight: typeof t === 'string' ? 0 : (t.weight ?? 0), initiallyOk: true };
  }
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
    },
    interface: vi.interface,
    peers: vi.unicast_peer,
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
  };
}

/** The master's advert interval in ms, from an advert's interval field. */
export function intervalMs(version: 2 | 3, wire: number): number {
  return version === 2 ? wire * 1000 : wire * 10;
}
