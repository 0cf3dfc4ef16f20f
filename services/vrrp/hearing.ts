// Whose adverts an instance hears: the sources of valid adverts within its master-down
// interval (VRRP's own measure of a master gone). Recorded as vrrp.hearing when the set
// changes; the fence publishes it for the rule by which a cut-off holder gives way
// (services/fence/hearing.ts). Costs nothing while nothing changes: a source whose adverts
// the socket absorbs (the routine master) is heard until the socket says they stopped, and
// only other sources need a timer.

/** The sources heard at `now` (sorted), those to forget, and when the next one expires (monotonic ms). */
export function currentHearing(lastHeard: ReadonlyMap<string, number>, now: number, windowMs: number, routine: string | undefined): { hears: string[]; expired: string[]; nextExpiry: number | undefined } {
  const hears: string[] = [];
  const expired: string[] = [];
  let nextExpiry: number | undefined;
  for (const [source, at] of lastHeard) {
    if (source === routine) {
      hears.push(source);
      continue;
    }
    const until = at + windowMs;
    if (until <= now) {
      expired.push(source);
      continue;
    }
    hears.push(source);
    nextExpiry = nextExpiry === undefined ? until : Math.min(nextExpiry, until);
  }
  return { hears: hears.sort(), expired, nextExpiry };
}

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** One instance's hearing: fed each advert the service handles, it says when the set changes. */
export class Hearing {
  private readonly lastHeard = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** The set last reported (undefined: none yet in this process). */
  private reported: string[] | undefined;

  constructor(
    private readonly o: {
      now: () => number;
      /** The instance's master-down interval now. */
      windowMs: () => number;
      /** The source whose adverts the socket absorbs now, if any. */
      routine: () => string | undefined;
      changed: (hears: string[]) => void;
    },
    /** The set the log holds from an earlier run: reported again only if it differs. */
    recorded: readonly string[] | undefined,
  ) {
    this.reported = recorded ? [...recorded] : undefined;
  }

  /** An advert from `source` handled at `at`. */
  heard(source: string, at: number): void {
    const before = this.lastHeard.get(source);
    if (before === undefined || at > before) this.lastHeard.set(source, at);
    if (before === undefined || this.timer === undefined) this.review();
  }

  /** Looks again (after a change of routine, at start): reports a changed set, re-arms the timer. */
  review(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.o.now();
    const { hears, expired, nextExpiry } = currentHearing(this.lastHeard, now, this.o.windowMs(), this.o.routine());
    for (const s of expired) this.lastHeard.delete(s);
    if (!this.reported || !same(hears, this.reported)) {
      this.reported = hears;
      this.o.changed(hears);
    }
    if (nextExpiry !== undefined) this.timer = setTimeout(() => this.review(), Math.max(1, nextExpiry - now));
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
