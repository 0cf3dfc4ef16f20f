// What the fence does about a change of a VIP address it did not make (seen by `ip monitor`):
// an address this node holds no lease for is removed; one it holds the lease for is added
// back, unless the lease is changing, the session is in doubt or the lease deadline has
// passed (then the next renewal restores it if the lease survives). Pure: the shell records
// the verdict and carries it out.
import type { ZkState } from '../../shared/eventlog/catalogue.js';
import { MIN_LEASE_LEFT_MS } from './decider.js';

export interface AddressSituation {
  change: 'added' | 'removed';
  /** Whether the fence wants the address on this node now. */
  expected: boolean;
  /** The ZooKeeper session as the fence sees it (undefined: none yet). */
  session: ZkState | undefined;
  /** A bind, unbind, join or leave of the group is under way. */
  changing: boolean;
  bound: boolean;
  /** Lease time left (ms) by the fence's own deadline, whatever the session's state says. */
  leaseLeftMs: number;
}

export type AddressVerdict =
  /** Our own change, echoed back by the kernel. */
  | { kind: 'echo' }
  | { kind: 'remove'; detail: string }
  | { kind: 'restore'; detail: string }
  /** Recorded, not repaired. */
  | { kind: 'leave'; detail: string };

export function judgeAddressChange(s: AddressSituation): AddressVerdict {
  if ((s.change === 'added') === s.expected) return { kind: 'echo' };
  if (s.change === 'added') return { kind: 'remove', detail: 'this node holds no lease for it: removed' };
  if (s.session !== 'connected') {
    return { kind: 'leave', detail: `kernel lifetime ran out: ZooKeeper ${s.session ?? 'not connected'}; restored by the next renewal if the lease survives` };
  }
  if (s.changing || !s.bound) return { kind: 'leave', detail: 'a change of the lease is in progress' };
  // A fence that was stopped or starved sees the removal its dead man's switch made at the
  // deadline before its session notices the silence: the state still says connected.
  if (s.leaseLeftMs < MIN_LEASE_LEFT_MS) return { kind: 'leave', detail: 'the lease deadline has passed (the fence did not renew it in time): not restored' };
  return { kind: 'restore', detail: 'this node holds the lease: added back' };
}
