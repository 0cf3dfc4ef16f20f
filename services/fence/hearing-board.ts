// The hearing records in ZooKeeper (/<root>/<cluster>/hearing/<node>, ephemeral): this
// node's, written when it changes, and every node's, read and watched. Nothing is read or
// written while nobody's hearing changes.
import type { Logger } from '../../shared/logger.js';
import { isZkError, type ZkClient } from '../../shared/zookeeper/client.js';
import type { ZkPaths } from '../../shared/zookeeper/layout.js';
import { createOwnEphemeral } from '../../shared/zookeeper/nodes.js';
import { parseHearingRecord, type HearingRecord, type InstanceHearing } from '../../shared/zookeeper/hearing-record.js';

export interface HearingBoardOptions {
  paths: ZkPaths;
  node: string;
  logger: Logger;
  /** Some node's record changed (or appeared, or went). */
  changed: () => void;
}

export class HearingBoard {
  private client: ZkClient | undefined;
  private own: HearingRecord;
  /** The text of our record as last written in this session. */
  private written: string | undefined;
  private writing: Promise<void> | undefined;
  private readonly records = new Map<string, HearingRecord>();
  /** Nodes whose record this session watches (a watch fires once; it is set again when read). */
  private readonly watched = new Set<string>();
  private readonly refused = new Map<string, string>();

  constructor(private readonly o: HearingBoardOptions) {
    this.own = { node: o.node, instances: {} };
  }

  /** Each node's hearing of an instance, this node's included (as this node last said it). */
  views(instance: string): Map<string, InstanceHearing> {
    const out = new Map<string, InstanceHearing>();
    for (const [node, r] of this.records) {
      const v = r.instances[instance];
      if (v && node !== this.o.node) out.set(node, v);
    }
    const mine = this.own.instances[instance];
    if (mine) out.set(this.o.node, mine);
    return out;
  }

  /** This node's record from now on (written at once if a session is there). */
  set(instances: HearingRecord['instances']): void {
    this.own = { node: this.o.node, instances };
    void this.write();
  }

  /** A new session: our record created in it, every record read and watched. */
  async begin(client: ZkClient): Promise<void> {
    this.client = client;
    this.written = undefined;
    this.watched.clear();
    this.records.clear();
    await client.mkdirp(this.o.paths.hearing);
    const text = JSON.stringify(this.own);
    await createOwnEphemeral(client, this.o.paths.hearingOf(this.o.node), Buffer.from(text));
    if (client !== this.client) return; // a newer session began meanwhile
    this.written = text;
    await this.readAll(client);
    void this.write(); // changed while it was being created
  }

  private async write(): Promise<void> {
    if (this.writing) return this.writing;
    this.writing = (async () => {
      for (let text = JSON.stringify(this.own); this.client && this.written !== undefined && text !== this.written; text = JSON.stringify(this.own)) {
        const client = this.client;
        const path = this.o.paths.hearingOf(this.o.node);
        try {
          await client.setData(path, Buffer.from(text)).catch(async (err: unknown) => {
            if (!isZkError(err, 'NO_NODE')) throw err;
            await client.create(path, Buffer.from(text), 'ephemeral'); // deleted by hand
          });
          if (client === this.client) this.written = text;
        } catch (err) {
          // The next session writes it again (begin); a session that goes on is told again at the next change.
          this.o.logger.warn('cannot publish whose VRRP adverts this node hears', { err });
          return;
        }
      }
    })().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  private async readAll(client: ZkClient): Promise<void> {
    const names = await client.getChildren(this.o.paths.hearing, () => this.childrenChanged(client));
    if (client !== this.client) return;
    for (const gone of [...this.records.keys()].filter((n) => !names.includes(n))) this.records.delete(gone);
    await Promise.all(names.filter((n) => n !== this.o.node && !this.watched.has(n)).map((n) => this.read(client, n)));
    this.o.changed();
  }

  private childrenChanged(client: ZkClient): void {
    if (client !== this.client) return;
    this.readAll(client).catch((err: unknown) => this.o.logger.warn('cannot read the hearing records', { err }));
  }

  private async read(client: ZkClient, node: string): Promise<void> {
    this.watched.add(node);
    const watch = () => {
      this.watched.delete(node);
      if (client !== this.client) return;
      this.read(client, node).then(() => this.o.changed(), (err: unknown) => this.o.logger.warn('cannot read a hearing record', { node, err }));
    };
    try {
      const { data } = await client.getData(this.o.paths.hearingOf(node), watch);
      if (client !== this.client) return;
      const parsed = parseHearingRecord(data, node);
      if (parsed.ok) {
        this.records.set(node, parsed.record);
        this.refused.delete(node);
      } else {
        this.records.delete(node);
        if (this.refused.get(node) !== parsed.error) this.o.logger.warn('a hearing record in ZooKeeper is not valid: that node counts as hearing every holder', { node, error: parsed.error });
        this.refused.set(node, parsed.error);
      }
    } catch (err) {
      this.watched.delete(node);
      this.records.delete(node);
      if (!isZkError(err, 'NO_NODE')) throw err;
    }
  }
}
