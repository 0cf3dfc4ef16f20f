// The IPv4 address changes of this network namespace, from an rtnetlink socket of the
// process's own (native/address_monitor.c): additions and removals, each with when it was
// read. Announcements of an address that is present already (the fence's lifetime
// renewals) never reach JavaScript, and the renewer drains the socket right after its
// renewal (drain()): the event loop does not wake up for it.
import { loadAddon } from './native.js';

export interface AddressChange {
  change: 'added' | 'removed';
  ifname: string;
  address: string;
  prefix: number;
  /** Unix ms (whole) at which the kernel's announcement was read: within a ms of the change, however busy this process. */
  at: number;
}

type Change = [added: boolean, ifname: string, address: string, prefix: number, at: number];

interface AddressMonitorAddon {
  /** ended: the socket failed and was closed. */
  open(callback: (error: string | null, changes: Change[] | null, ended: boolean) => void): object;
  drain(handle: object): [error: string | null, changes: Change[]];
  close(handle: object): void;
}

export interface AddressWatcher {
  /** Hands over, at once, the changes announced so far (after a change this process made: its echo). */
  drain(): void;
  close(): void;
}

/** How soon a monitor that could not be opened, or whose socket failed, is opened again. */
export const REOPEN_MS = 1000;

const toChange = ([added, ifname, address, prefix, at]: Change): AddressChange => ({ change: added ? 'added' : 'removed', ifname, address, prefix, at: Math.floor(at) });

/** Follows every IPv4 address change in this namespace; trouble (announcements lost, the socket failed) is reported, and following goes on. */
export function watchAddresses(onChange: (c: AddressChange) => void, onTrouble: (message: string) => void): AddressWatcher {
  const addon = loadAddon<AddressMonitorAddon>('address_monitor', ['open', 'drain', 'close']);
  let closed = false;
  let handle: object | undefined;
  let reopen: NodeJS.Timeout | undefined;
  const deliver = (error: string | null, changes: readonly Change[] | null) => {
    if (error !== null) onTrouble(`address monitor: ${error}`);
    for (const c of changes ?? []) onChange(toChange(c));
  };
  const open = () => {
    reopen = undefined;
    if (closed) return;
    try {
      handle = addon.open((error, changes, ended) => {
        deliver(ended ? `${error ?? 'failed'}; opened again in ${REOPEN_MS} ms` : error, changes);
        if (ended) {
          handle = undefined;
          reopen ??= setTimeout(open, REOPEN_MS);
        }
      });
    } catch (err) {
      onTrouble(`address monitor: cannot open (${(err as Error).message}); trying again in ${REOPEN_MS} ms`);
      reopen = setTimeout(open, REOPEN_MS);
    }
  };
  open();
  return {
    drain() {
      if (!closed && handle) deliver(...addon.drain(handle));
    },
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(reopen);
      if (handle) addon.close(handle);
      handle = undefined;
    },
  };
}
