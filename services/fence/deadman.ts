// The fence's dead man's switch for one VIP group (native/deadman.c): removes the group's
// addresses at a deadline the fence keeps pushing forward at every renewal, also after the
// fence died. It fires a little before the kernel's address lifetime would (which ends
// anywhere from 20 ms early to 250 ms late: the kernel rounds its check up to whole
// seconds), so the time the fence records is when the addresses will be gone, to a few ms.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { hurry, ipComplaints } from '../../shared/iproute.js';
import { packageRoot } from '../../shared/paths.js';

/** What the switch says when it cannot open a lifetime file (native/deadman.c): it is then told each deadline. */
const CANNOT_FOLLOW = "dead man's switch: lifetime file";

/** How long before the kernel's earliest removal (lifetime - 20 ms) the switch fires. */
export const DEADMAN_LEAD_MS = 50;

/** A group's lifetime file and the epoch it is written for (the switch follows it). */
export interface LifetimeRecord {
  file: string;
  epoch: number;
}

export class DeadmanSwitch {
  private child: ChildProcess | undefined;
  /** What the running switch follows: its file, epoch and lines, and the latest deadline it may sleep until (sent or written). */
  private following: { file: string; epoch: number; lines: string; horizon: number } | undefined;
  private fileSent: string | undefined;
  /** The switch could not open the lifetime file: every renewal is a command again. */
  private cannotFollow = false;

  constructor(private readonly onTrouble: (message: string) => void) {}

  /** At deadline (unix ms), these iproute2 lines run, unless armed again or disarmed first. */
  arm(deadline: number, lines: readonly string[]): void {
    this.following = undefined;
    this.send(`arm ${Math.round(deadline)} ${lines.join(';')}`);
  }

  /**
   * As arm, with the deadline just written to the group's lifetime file: the switch reads the
   * file when its deadline comes and sleeps on to a later one written there. So a later
   * deadline for the same epoch and lines needs no command (nor wakes the switch); one
   * earlier than any the switch may sleep until does.
   */
  follow(deadline: number, lines: readonly string[], record: LifetimeRecord): void {
    if (this.cannotFollow) return this.arm(deadline, lines);
    const joined = lines.join(';');
    const f = this.following;
    if (f && this.running() && f.file === record.file && f.epoch === record.epoch && f.lines === joined && deadline >= f.horizon) {
      f.horizon = deadline;
      return;
    }
    const ms = Math.round(deadline);
    if (this.fileSent !== record.file || !this.running()) this.send(`file ${record.file}`);
    this.send(`follow ${ms} ${record.epoch} ${joined}`);
    this.fileSent = record.file;
    this.following = { file: record.file, epoch: record.epoch, lines: joined, horizon: ms };
  }

  disarm(): void {
    this.following = undefined;
    if (this.child) this.send('disarm');
  }

  private running(): boolean {
    return this.child !== undefined && this.child.exitCode === null;
  }

  /** Ends the switch (after disarm it exits at once; armed, it still fires on time). */
  close(): void {
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private send(line: string): void {
    if (!this.running()) this.start();
    this.child!.stdin!.write(line + '\n');
  }

  private start(): void {
    // Not tied to our life (no pdeathsig): outliving a killed fence is its job.
    const c = spawn(join(packageRoot(), 'native', 'build', 'Release', 'vigil-deadman'), [], { stdio: ['pipe', 'ignore', 'pipe'] });
    hurry(c);
    this.child = c;
    this.fileSent = undefined; // a new switch knows no file yet
    c.stdin!.on('error', () => {});
    ipComplaints(c.stderr!, (message) => {
      // (read within a turn of the loop: long before the deadline it was sent with, the next renewal arms it)
      if (message.startsWith(CANNOT_FOLLOW)) this.cannotFollow = true;
      this.onTrouble(message);
    });
    c.on('error', (err) => this.onTrouble(`dead man's switch: ${err.message}`));
    c.on('exit', (code, signal) => {
      if (this.child === c) {
        this.child = undefined;
        this.onTrouble(`dead man's switch ended (${signal ?? `exit ${code}`}); started again at the next renewal`);
      }
    });
  }
}
