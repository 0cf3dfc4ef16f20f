// Gratuitous ARP with keepalived's timing: garp_master_repeat announcements at once,
// as many again garp_master_delay seconds later, and garp_master_refresh_repeat every
// garp_master_refresh seconds while the addresses stay bound (0 = never).
import { loadAddon } from '../../shared/native.js';

interface Addon {
  send(ifname: string, address: string): void;
}
const addon = () => loadAddon<Addon>('gratuitous_arp', ['send']);

export interface GarpTiming {
  delayMs: number;
  repeat: number;
  refreshMs: number;
  refreshRepeat: number;
}

export interface Announced {
  ifname: string;
  address: string;
}

/** Sends `count` gratuitous ARPs for each address; returns the errors (a missing interface is not fatal). */
export function announce(addresses: Announced[], count: number): string[] {
  const errors: string[] = [];
  for (const a of addresses) {
    for (let i = 0; i < count; i++) {
      try {
        addon().send(a.ifname, a.address);
      } catch (err) {
        errors.push(`${a.address} on ${a.ifname}: ${(err as Error).message}`);
        break;
      }
    }
  }
  return errors;
}

export interface GarpSchedule {
  cancel(): void;
}

export function scheduleGarp(addresses: Announced[], t: GarpTiming, onErrors: (errors: string[]) => void): GarpSchedule {
  const send = (count: number) => {
    const errors = announce(addresses, count);
    if (errors.length > 0) onErrors(errors);
  };
  send(t.repeat);
  const delayed = t.delayMs > 0 ? setTimeout(() => send(t.repeat), t.delayMs) : undefined;
  const refresh = t.refreshMs > 0 ? setInterval(() => send(t.refreshRepeat), t.refreshMs) : undefined;
  return {
    cancel() {
      clearTimeout(delayed);
      clearInterval(refresh);
    },
  };
}
