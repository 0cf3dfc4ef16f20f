// What each verb says on --help, in one light module: vigil --help and vigil --version, and
// the dispatch in app.ts, load no command (each loads only what it uses when it runs).
import { DEFAULT_CONFIG } from '../shared/config/node.js';
import { SERVICE_NAMES } from '../shared/service-names.js';
import { DEMO_ID } from '../lab/demo-id.js';

export const demoUsage = `vigil demo [--ensemble] [--json]    the whole system on this machine, and a narrated scenario of faults (as root)
  --ensemble               three ZooKeeper servers instead of one
  --json                   one JSON line per step (and the summary) instead of text
  --keep                   no scenario: keep the cluster running with a live view, and act on it with
                           vigil demo kill|start NODE, cut NODE NODE, heal, down|up RS, stop
  --clean                  remove what an interrupted demo left (namespaces ${DEMO_ID}*, its processes, its folders)`;

export const runUsage = `vigil run <service> [--config FILE] [--node NAME]
  services: ${SERVICE_NAMES.join(', ')}`;

export const logUsage = `vigil log [filters] [--follow] [--json]        show events, oldest first
  --since T --until T      ISO 8601 (2026-11-23T03:12:07Z), ago (90s, 10m, 2h, 1d), today's clock (03:12) or @unix
  --type T                 a type or a glob (vrrp.*, fence.lease*, *.changed); repeat or comma-separate
  --subject S              exact subject (vip:web) or prefix (rs:web/*)
  --correlation C  --after SEQ
  --limit N                the newest N matching events (default 100; 0 = all)
  --follow, -f             then keep printing new events as they are appended
  --json                   one JSON object per line
vigil log verify [--json] [--offline]   recompute the hash chain, check the guards by their definition and,
                           with a config's nats section, compare with the relay's copy in JetStream
                           (unless --offline); exit 1 naming the first bad seq
vigil log note TEXT [--author NAME]   append an operator annotation (e.g. "maintenance on lb2 started")
Where the log is: --db PATH, or --config FILE (default $VIGIL_CONFIG, /etc/vigil/vigil.yaml) and --node.`;

export const postmortemUsage = `vigil postmortem [--vip GROUP] [--at T | --since T --until T] [--json] [--html FILE]
                                   one timeline from every node's log: who held a VIP and why,
                                   every change of holder, how long nobody (or two) held it
  --db PATH                a node's log file, or a folder of them (copies taken from the nodes); repeat
  --stream                 read the JetStream stream the relays publish into (NATS from --config)
                           (neither: the logs --config names, those this machine has)
  --vip GROUP --at T       who held GROUP at T, since when, and the chain of causes
  --since T --until T      every change of holder, windows without one, alerts, notify scripts, notes,
                           services, real servers, quorum (default: the whole record)
  --html FILE              also write a self-contained HTML timeline (a lane per node; click an event for its chain)
  T: ISO 8601, ago (90s, 10m, 2h), today's clock (03:12:07) or @unix
Exit status 1 when the logs show two nodes holding a VIP at once.`;

export const statusUsage = `vigil status [--json] [--watch [--interval SECONDS]] [--timeout SECONDS]
                                   the cluster now: every node alive in ZooKeeper, each VIP group's holder
                                   and waiting candidates, this node's services, VRRP states and priorities
                                   with their deductions, tracked conditions, leases, health, relay backlog
  --watch                  show it again every --interval seconds (default 2) until Ctrl-C
  --timeout SECONDS        how long to try to reach ZooKeeper (default 3)
vigil status --service NAME [--within SECONDS] [--json]
                                   whether one service of this node is alive (its heartbeat): a health check
                                   (with --db PATH and no --config: every service of that log)
  --within SECONDS         how recent a heartbeat must be (default 2)
Exit status 0 ok, 1 degraded (a peer gone, a lease refused, a check or tracked condition
failing, events waiting for NATS), 2 critical (a service of this node dead, ZooKeeper
unreachable, an instance in FAULT, a VIP group without a holder); with --service, 0 alive, 2 not.
Where: --config FILE (default $VIGIL_CONFIG, ${DEFAULT_CONFIG}) and --node.`;

export const reloadUsage = `vigil reload [--timeout SECONDS] [--json]
                                   every running service of this node applies the configuration file
                                   again as a difference (SIGHUP each); prints what each changed
  --timeout SECONDS        how long to wait for every service's answer (default 15)
Exit status 0 when every running service reloaded, 1 when one refused the configuration
(it runs on with the one it had) or did not answer, 2 when none is running.
Where: --config FILE (default $VIGIL_CONFIG, ${DEFAULT_CONFIG}) and --node.`;

export const zkUsage = `vigil zk [--json] [--timeout SECONDS]
                                   the ZooKeeper tree of this cluster, decoded: live nodes and relays,
                                   lease candidates (who holds, who waits, epochs), owners, tenures
  --timeout SECONDS        how long to try to reach ZooKeeper (default 3)
Exit status 0, or 2 when ZooKeeper cannot be reached.
Where: --config FILE (default $VIGIL_CONFIG, ${DEFAULT_CONFIG}).`;

export const healthUsage = `vigil health [--down] [--json]     the state of every check and track script, from the log
  --down                   only checks that are not up
Where: --config FILE (default $VIGIL_CONFIG, ${DEFAULT_CONFIG}) and --node.`;

export const alertsUsage = `vigil alerts [--follow] [--since T] [--severity S] [--kind K] [--json]
                                   the cluster's alerts from NATS (default: those of the last hour)
  --follow                 keep printing new alerts until interrupted
  --since T                ISO 8601, ago (10m, 2h, 1d), today's clock (03:12) or @unix
  --severity S --kind K    only critical|warning|info, only one kind (failover, vip_unowned, ...)
Where: --config FILE (default $VIGIL_CONFIG, ${DEFAULT_CONFIG}); NATS servers and stream come from it.`;

export const configUsage = `vigil config check [FILE] [--json]
  Validates a cluster configuration; every problem is printed as FILE:LINE:COLUMN: field: message.
  Exit status 0 when valid, 2 when not.`;

export const importUsage = `vigil import keepalived FILE... [--node NAME=FILE]... [-o FILE] [--cluster NAME]
                         [--zookeeper HOST:PORT,...] [--nats URL,...] [--json]
                                   one vigil configuration from the keepalived.conf of each node
  --node NAME=FILE         the node whose file this is (default: its router_id, else the file's name);
                           NAME is also its config id (keepalived -i) for "@ID" lines: one file may
                           serve several nodes (--node lb1=F --node lb2=F)
  -o, --output FILE        write the configuration there (default: stdout)
  --cluster NAME           the cluster's name (default: imported)
  --zookeeper, --nats      where vigil's coordination runs (keepalived has none: placeholders otherwise)
  --json                   the warnings and the result as one JSON object on stdout
Every line of the input is translated, or named on stderr as FILE:LINE: keyword: why, and what to do instead.
Exit status 0 clean, 1 with warnings, 2 when no usable configuration came out.`;
