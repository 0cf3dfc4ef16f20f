// keepalived's vrrp_sync_group: the instances of a group change state together. Pure.
// - FAULT: a member with a fault of its own puts every other member in FAULT (through a
//   weight-0 tracker "sync:<group>" on each member); they leave it when no member has one.
// - MASTER: a member whose master-down timer fires only wants MASTER; the group becomes
//   MASTER when every member is MASTER or wants it (keepalived prefers BACKUP to
//   thrashing). An address owner (priority 255) that becomes MASTER takes the group along.
// - BACKUP: a MASTER member that steps down (a higher-priority advert) takes the other
//   masters down with it.
import { faults, step, type VrrpCommand, type VrrpEvent, type VrrpState, type VrrpStateName } from './decider.js';

export const syncTracker = (group: string) => `sync:${group}`;

export interface Member {
  name: string;
  state: VrrpState;
}

export interface MemberCommand {
  member: string;
  command: VrrpCommand;
}

/** A member's faults that are its own (not the group's). */
function ownFaults(group: string, m: Member): string[] {
  return faults(m.state).filter((f) => f !== syncTracker(group));
}

/**
 * What the group asks of its members after a command from outside (an advert, a timer,
 * a tracked condition) moved `trigger`, given the events of that step and the states after it.
 */
export function coordinate(group: string, members: readonly Member[], trigger: string, events: readonly VrrpEvent[], now: number): MemberCommand[] {
  const out: MemberCommand[] = [];
  const tracker = syncTracker(group);

  const failing = members.map((m) => ({ name: m.name, faults: ownFaults(group, m) })).filter((m) => m.faults.length > 0);
  for (const m of members) {
    const others = failing.filter((f) => f.name !== m.name);
    const ok = others.length === 0;
    if (m.state.trackerOk[tracker] === ok) continue;
    const detail = ok ? `sync group ${group}: no member in fault` : `sync group ${group}: ${others.map((f) => `${f.name} in fault (${f.faults.join(', ')})`).join(', ')}`;
    out.push({ member: m.name, command: { type: 'track', now, name: tracker, ok, detail } });
  }
  if (out.length > 0) return out;

  const moved = events.find((e) => e.type === 'state_changed');
  if (moved?.type === 'state_changed' && moved.from === 'MASTER' && moved.to === 'BACKUP') {
    const detail = `sync group ${group}: ${trigger} became BACKUP (${moved.detail})`;
    for (const m of members) if (m.name !== trigger && m.state.state === 'MASTER') out.push({ member: m.name, command: { type: 'demote', now, detail } });
    return out;
  }

  const ownerMaster = moved?.type === 'state_changed' && moved.to === 'MASTER' && moved.reason === 'address_owner';
  const wants = events.some((e) => e.type === 'wants_master');
  if (ownerMaster || (wants && members.every((m) => m.state.state === 'MASTER' || m.state.wantsMaster !== undefined))) {
    const detail = ownerMaster ? `sync group ${group}: ${trigger} owns its addresses (priority 255)` : `sync group ${group}: every member is ready for MASTER`;
    for (const m of members) if (m.state.state === 'BACKUP') out.push({ member: m.name, command: { type: 'promote', now, detail } });
  }
  return out;
}

/**
 * A command from outside on one member, then what the group asks of the others: the
 * events of every member in the order they happened, and the members' states after them.
 */
export function stepGroup(group: string, members: readonly Member[], trigger: string, command: VrrpCommand): { steps: { member: string; events: VrrpEvent[] }[]; members: Member[] } {
  const states = new Map(members.map((m) => [m.name, m.state]));
  const run = (member: string, c: VrrpCommand) => {
    const r = step(states.get(member)!, c);
    states.set(member, r.state);
    return { member, events: r.events };
  };
  const first = run(trigger, command);
  const after = () => members.map((m) => ({ name: m.name, state: states.get(m.name)! }));
  const steps = [first, ...coordinate(group, after(), trigger, first.events, command.now).map((mc) => run(mc.member, mc.command))];
  return { steps, members: after() };
}

/** The group's state: FAULT if any member is, else the state all members share (undefined while they differ). */
export function groupState(members: readonly Member[]): VrrpStateName | undefined {
  if (members.some((m) => m.state.state === 'FAULT')) return 'FAULT';
  const first = members[0]?.state.state;
  return first !== undefined && members.every((m) => m.state.state === first) ? first : undefined;
}
