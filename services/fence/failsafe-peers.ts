// The fence's failsafe at work (zookeeper.failsafe; the rules are failsafe.ts's): answers
// the other nodes' asks with promises and keeps them; while this node holds a VIP without
// a connected ZooKeeper session, asks every other node a few times a second and counts
// their promises. Nothing runs while ZooKeeper is connected and no VIP is kept under it.
import type { VigilConfig } from '../../shared/config/index.js';
import type { Logger } from '../../shared/logger.js';
import { answerAsk, Confirmations } from './failsafe.js';
import { PeerChannel } from './peer-channel.js';

const now = () => performance.now();

export interface FailsafeView {
  /** This node has a connected ZooKeeper session. */
  zookeeper: boolean;
  /** The groups bound here, and every group this node has. */
  bound: ReadonlySet<string>;
  known: ReadonlySet<string>;
}

export class FailsafePeers {
  private readonly channel: PeerChannel;
  private readonly confirmations = new Confirmations();
  /** Until when (monotonic) this node must not bind each group: the promises it gave. */
  private readonly promisedUntil = new Map<string, number>();
  private readonly peers: string[];
  private askTimer: NodeJS.Timeout | undefined;
  private asking: string[] = [];
  readonly promiseMs: number;
  readonly askMs: number;

  constructor(
    config: VigilConfig,
    node: string,
    private readonly o: { logger: Logger; view: () => FailsafeView; confirmed: () => void; tick: () => void },
  ) {
    this.promiseMs = Math.round(config.zookeeper.session_timeout * 1000);
    this.askMs = Math.max(20, Math.min(200, Math.floor(this.promiseMs / 6)));
    const addresses = Object.fromEntries(Object.entries(config.nodes).map(([n, v]) => [n, v.address ?? '']));
    this.peers = Object.keys(addresses).filter((n) => n !== node);
    // A fence that starts may have promised before it stopped: it keeps that promise.
    const until = now() + this.promiseMs;
    for (const g of Object.keys(config.vip_groups)) this.promisedUntil.set(g, until);
    this.channel = new PeerChannel({
      node, address: addresses[node]!, peers: Object.fromEntries(this.peers.map((p) => [p, addresses[p]!])), port: config.zookeeper.failsafe_port,
      secret: config.zookeeper.failsafe_secret, logger: o.logger,
      asked: (m) => {
        const v = o.view();
        const { reply, promised } = answerAsk(m, { node, zookeeper: v.zookeeper, bound: v.bound, known: v.known, promiseMs: this.promiseMs, now: now() });
        for (const p of promised) this.promisedUntil.set(p.group, Math.max(this.promisedUntil.get(p.group) ?? 0, p.until));
        return reply;
      },
      promised: (m) => {
        if (this.confirmations.received(m)) o.confirmed();
      },
    });
  }

  start(): Promise<void> {
    return this.channel.start();
  }

  stop(): void {
    clearInterval(this.askTimer);
    this.askTimer = undefined;
    this.channel.close();
  }

  /** Asks for these groups now and every askMs, or stops asking (none). */
  askFor(groups: string[]): void {
    this.asking = groups;
    if (groups.length === 0) {
      clearInterval(this.askTimer);
      this.askTimer = undefined;
      return;
    }
    if (this.askTimer) return;
    this.ask();
    this.askTimer = setInterval(() => {
      this.ask();
      this.o.tick();
    }, this.askMs);
  }

  private ask(): void {
    const sentAt = now();
    for (const [peer, nonce] of this.channel.ask(this.asking)) this.confirmations.sent(peer, nonce, sentAt, this.promiseMs);
  }

  /** Until when (monotonic) every other node promised not to bind the group; who has not. */
  deadline(group: string): { until: number | undefined; missing: string[] } {
    return this.confirmations.deadline(group, this.peers, now());
  }

  /** Time left (ms) on the promise this node gave for the group. */
  promisedMs(group: string): number {
    return Math.max(0, (this.promisedUntil.get(group) ?? 0) - now());
  }

  get otherNodes(): readonly string[] {
    return this.peers;
  }
}
