// The bound VIPs' kernel lifetimes, renewed in-process over rtnetlink
// (native/address_lifetime.c): what `ip address replace ... valid_lft S preferred_lft S`
// does, without a process to wake (or to grow: ip's batch mode kept ~4 KiB per line).
import { loadAddon } from '../../shared/native.js';
import { ADDRESS_LIFETIME_S } from './decider.js';
import type { GroupAddress } from './plan.js';

interface AddressLifetimeAddon {
  replace(ifname: string, address: string, prefix: number, label: string | null, lifetimeS: number): string;
}

/** Gives each address a fresh lifetime (putting it back if it went, as ip's replace does); the failures, in words. */
export function renewLifetimes(addresses: readonly GroupAddress[], lifetimeS = ADDRESS_LIFETIME_S): string[] {
  const addon = loadAddon<AddressLifetimeAddon>('address_lifetime', ['replace']);
  return addresses.flatMap((a) => {
    const error = addon.replace(a.ifname, a.address, a.prefix, a.label ?? null, lifetimeS);
    return error === '' ? [] : [`${a.address}/${a.prefix} dev ${a.ifname}: ${error}`];
  });
}
