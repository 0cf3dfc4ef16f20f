// Tamper evidence that does not depend on the tamperer's goodwill: the file compared with
// a copy of its events kept elsewhere (the relay's JetStream stream holds every event with
// its hash). Pure: the copy is fed in seq order, the file is read through a callback.
// A rewrite of rows (re-hashed from the edit on, so that the chain verifies) differs from
// the copy at the first edited seq; a deleted tail leaves the copy with seqs the file lacks.
export interface WitnessedEvent {
  seq: number;
  /** <node>:<log id>:<seq> */
  id: string;
  hash: string;
}

export interface WitnessProblem {
  seq: number;
  text: string;
}

export class WitnessComparison {
  compared = 0;
  /** The highest seq of this log the witness holds. */
  witnessedUpTo = 0;
  problem: WitnessProblem | undefined;

  constructor(
    private readonly logId: string,
    private readonly lastSeq: number,
    /** The stored hash of a seq, undefined if the file has no such row. */
    private readonly fileHash: (seq: number) => string | undefined,
  ) {}

  /** Takes the next copy; false once a difference is found (nothing after it matters). */
  add(w: WitnessedEvent): boolean {
    if (this.problem) return false;
    if (w.id.split(':')[1] !== this.logId) return true; // an earlier file of the same node
    this.witnessedUpTo = Math.max(this.witnessedUpTo, w.seq);
    if (w.seq > this.lastSeq) {
      this.problem = { seq: this.lastSeq + 1, text: `the file ends at seq ${this.lastSeq}, but the stream holds this log's events up to seq ${w.seq} at least: events from seq ${this.lastSeq + 1} on were deleted (or the file was replaced by an older copy)` };
      return false;
    }
    const mine = this.fileHash(w.seq);
    if (mine === undefined) {
      this.problem = { seq: w.seq, text: `seq ${w.seq} is in the stream but not in the file: it was deleted` };
      return false;
    }
    if (mine !== w.hash) {
      this.problem = { seq: w.seq, text: `seq ${w.seq} differs from its copy in the stream (file hash ${mine.slice(0, 16)}…, stream ${w.hash.slice(0, 16)}…): the row was altered, and the chain rewritten from there on` };
      return false;
    }
    this.compared += 1;
    return true;
  }
}
