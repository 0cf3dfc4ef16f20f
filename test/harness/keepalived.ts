// Debian's keepalived as a VRRP peer inside a test namespace (VRRP subsystem only).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Child } from './process.js';
import type { Topology } from './netns.js';

export interface KeepalivedOptions {
  host: string;
  dir: string;
  version: 2 | 3;
  vrid: number;
  priority: number;
  advertInt: number;
  vip: string;
  nopreempt?: boolean;
  unicastPeers?: string[];
  /** More instances beside VI_1 (VI_2, VI_3, ... in this order). */
  more?: { vrid: number; priority: number; vip: string }[];
  /** Put every instance in one vrrp_sync_group G1. */
  syncGroup?: boolean;
}

export interface Keepalived {
  child: Child;
  /** SIGTERM: keepalived sends priority 0 and exits. */
  stop(): Promise<void>;
  /** SIGKILL of the whole process group: a crash (the VIP stays on its interface). */
  crash(): Promise<void>;
  /** Whether it holds VI_1's VIP, or the given one. */
  holdsVip(vip?: string): Promise<boolean>;
  /** The state keepalived last said it entered (from its own log), e.g. 'BACKUP'. */
  lastState(): string | undefined;
}

export function startKeepalived(t: Topology, o: KeepalivedOptions): Keepalived {
  const h = t.hosts[o.host]!;
  const conf = join(o.dir, `keepalived-${o.host}.conf`);
  const logFile = join(o.dir, `keepalived-${o.host}.log`);
  const unicast = o.unicastPeers ? `  unicast_src_ip ${h.address}\n  unicast_peer {\n${o.unicastPeers.map((p) => `    ${p}\n`).join('')}  }\n` : '';
  const instances = [{ vrid: o.vrid, priority: o.priority, vip: o.vip }, ...(o.more ?? [])];
  const instance = (i: (typeof instances)[number], n: number) => `vrrp_instance VI_${n + 1} {
  state BACKUP
  interface ${h.ifname}
  virtual_router_id ${i.vrid}
  priority ${i.priority}
  advert_int ${o.advertInt}
${o.nopreempt ? '  nopreempt\n' : ''}${unicast}  virtual_ipaddress {
    ${i.vip} dev ${h.ifname}
  }
}
`;
  const sync = o.syncGroup ? `vrrp_sync_group G1 {\n  group {\n${instances.map((_, n) => `    VI_${n + 1}\n`).join('')}  }\n}\n` : '';
  writeFileSync(conf, `global_defs {
  router_id ${o.host}
  vrrp_version ${o.version}
  vrrp_garp_master_delay 0
  vrrp_garp_master_repeat 1
}
${sync}${instances.map(instance).join('')}`);
  const child = t.spawn(o.host, [
    'keepalived', '--dont-fork', '--log-console', '--log-detail', '--vrrp', '--use-file', conf,
    '--pid', join(o.dir, `ka-${o.host}.pid`), '--vrrp_pid', join(o.dir, `ka-vrrp-${o.host}.pid`),
  ], { logFile });

  return {
    child,
    stop: () => child.stop(),
    async crash() {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone already
      }
      await child.exited;
    },
    lastState() {
      let text = '';
      try {
        text = readFileSync(logFile, 'utf8');
      } catch {
        return undefined;
      }
      return [...text.matchAll(/Entering (\w+) STATE/g)].at(-1)?.[1];
    },
    async holdsVip(vip = o.vip) {
      const r = await t.exec(o.host, ['ip', '-4', '-o', 'addr', 'show', 'dev', h.ifname]);
      return r.stdout.includes(` ${vip.split('/')[0]}/`);
    },
  };
}
