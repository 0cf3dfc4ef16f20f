// Which keepalived-style notify scripts an event calls for, with keepalived's arguments:
// notify_master/backup/fault/stop as configured, then notify with INSTANCE <name>
// <MASTER|BACKUP|FAULT|STOP> <priority> appended; the same for a vrrp_sync_group with
// GROUP <name> <state> 0 (vrrp.group_changed); notify_up/notify_down when a real
// server (all of its checks) comes up or goes down; quorum_up/quorum_down when a virtual
// server regains or loses its quorum. Pure: the shell runs the jobs.
import { instancesForNode, realServerTarget, type VigilConfig } from '../../shared/config/index.js';
import { realServerSubject, SUBJECTS, typed, type EventType, type StoredEvent } from '../../shared/eventlog/index.js';
import { RealServerStates } from './real-servers.js';

export interface NotifyJob {
  /** Jobs of one key run one at a time, in log order (an instance, a real server, a virtual server). */
  key: string;
  /** The configuration key that named the script. */
  script: string;
  argv: string[];
}

type Argv = readonly string[] | undefined;
const STATE_SCRIPT = { MASTER: 'notify_master', BACKUP: 'notify_backup', FAULT: 'notify_fault', STOPPED: 'notify_stop' } as const;
const STATE_ARG = { MASTER: 'MASTER', BACKUP: 'BACKUP', FAULT: 'FAULT', STOPPED: 'STOP' } as const;

type StateScripts = Partial<Record<'notify' | (typeof STATE_SCRIPT)[keyof typeof STATE_SCRIPT], Argv>>;

export class NotifyRules {
  private readonly instances = new Map<string, StateScripts>();
  private readonly groups = new Map<string, StateScripts>();
  private readonly realServers = new Map<string, { notify_up: Argv; notify_down: Argv }>();
  private readonly virtualServers = new Map<string, { quorum_up: Argv; quorum_down: Argv }>();
  private readonly servers = new RealServerStates();

  constructor(config: VigilConfig, node: string) {
    for (const i of instancesForNode(config, node)) {
      this.instances.set(i.name, { notify: i.notify, notify_master: i.notify_master, notify_backup: i.notify_backup, notify_fault: i.notify_fault, notify_stop: i.notify_stop });
    }
    for (const [name, g] of Object.entries(config.vrrp_sync_groups)) {
      this.groups.set(name, { notify: g.notify, notify_master: g.notify_master, notify_backup: g.notify_backup, notify_fault: g.notify_fault, notify_stop: g.notify_stop });
    }
    for (const [name, vs] of Object.entries(config.virtual_servers)) {
      this.virtualServers.set(name, { quorum_up: vs.quorum_up, quorum_down: vs.quorum_down });
      for (const rs of vs.real_servers) this.realServers.set(realServerSubject(name, realServerTarget(vs, rs)), { notify_up: rs.notify_up, notify_down: rs.notify_down });
    }
  }

  /** Whether any script is configured at all (without any, the relay runs no notify consumer). */
  get any(): boolean {
    const set = (o: object) => Object.values(o).some((v) => v !== undefined);
    return [...this.instances.values(), ...this.groups.values(), ...this.realServers.values(), ...this.virtualServers.values()].some(set);
  }

  /** The event types whose history is needed after a restart (real server states). */
  static readonly STATE_TYPES: readonly EventType[] = ['health.changed'];

  jobs(e: StoredEvent): NotifyJob[] {
    const t = typed(e);
    switch (t?.type) {
      case 'vrrp.state_changed': {
        const d = t.data;
        if (d.to === 'INIT') return [];
        return stateJobs(d.instance, this.instances.get(d.instance), d.to, ['INSTANCE', d.instance, STATE_ARG[d.to], String(d.priority)]);
      }
      case 'vrrp.group_changed': {
        const d = t.data;
        if (d.to === 'INIT') return [];
        // keepalived passes priority 0 for a group.
        return stateJobs(`group:${d.group}`, this.groups.get(d.group), d.to, ['GROUP', d.group, STATE_ARG[d.to], '0']);
      }
      case 'health.changed': {
        const d = t.data;
        const { before, after } = this.servers.apply(e.subject, d.check, d.to);
        const scripts = this.realServers.get(e.subject);
        if (!scripts || before === after || before === 'unknown') return [];
        const key = SUBJECTS.realServer.idOf(e.subject) ?? e.subject;
        if (after === 'down') return job(key, 'notify_down', scripts.notify_down);
        if (after === 'up') return job(key, 'notify_up', scripts.notify_up);
        return [];
      }
      case 'ipvs.quorum_changed': {
        const d = t.data;
        const name = SUBJECTS.virtualServer.idOf(e.subject) ?? e.subject;
        const scripts = this.virtualServers.get(name);
        if (!scripts) return [];
        return d.state === 'lost' ? job(name, 'quorum_down', scripts.quorum_down) : job(name, 'quorum_up', scripts.quorum_up);
      }
      default:
        return [];
    }
  }
}

function stateJobs(key: string, scripts: StateScripts | undefined, to: keyof typeof STATE_SCRIPT, notifyArgs: string[]): NotifyJob[] {
  if (!scripts) return [];
  const specific = STATE_SCRIPT[to];
  return [...job(key, specific, scripts[specific]), ...job(key, 'notify', scripts.notify, notifyArgs)];
}

function job(key: string, script: string, argv: Argv, extra: string[] = []): NotifyJob[] {
  return argv ? [{ key, script, argv: [...argv, ...extra] }] : [];
}
