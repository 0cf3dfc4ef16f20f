// A process's periodic housekeeping (the log's backstop poll, the beater's missed-beat check,
// the metrics store, counters moved to metrics, a link backstop) in as few wake-ups as
// possible: each task runs at the multiples of its period on the wall clock, and every task
// due within SLACK_MS of another runs in the same wake-up. An idle service's 5-second chores
// were each a timer of its own, at its own phase: one wake-up apiece (~0.1-0.3 ms of CPU
// each on a small machine), where one does for all.

const SLACK_MS = 10;

interface Task {
  periodMs: number;
  due: number;
  run: () => void;
  once: boolean;
  stopped: boolean;
}

const tasks = new Set<Task>();
let timer: NodeJS.Timeout | undefined;
let timerDue = Infinity;

/** The first multiple of periodMs on the wall clock after t. */
const nextMultiple = (periodMs: number, t: number) => (Math.floor(t / periodMs) + 1) * periodMs;

function arm(): void {
  let due = Infinity;
  for (const t of tasks) due = Math.min(due, t.due);
  if (due === timerDue) return;
  clearTimeout(timer);
  timer = undefined;
  timerDue = due;
  if (due !== Infinity) timer = setTimeout(runDue, Math.max(0, due - Date.now()));
}

function runDue(): void {
  timer = undefined;
  timerDue = Infinity;
  const now = Date.now();
  // (a wall clock set back: each runs within its period from now, not when the old time comes again)
  for (const t of tasks) if (t.due - now > t.periodMs + SLACK_MS) t.due = nextMultiple(t.periodMs, now);
  const due = [...tasks].filter((t) => t.due <= now + SLACK_MS);
  for (const t of due) {
    if (t.once) tasks.delete(t);
    else t.due = nextMultiple(t.periodMs, now + SLACK_MS);
  }
  // Each runs as it would from a timer of its own: one that throws does not keep the others from running.
  const errors: unknown[] = [];
  for (const t of due) {
    if (t.stopped) continue;
    try {
      t.run();
    } catch (err) {
      errors.push(err);
    }
  }
  arm();
  if (errors.length > 0) throw errors[0];
}

export interface Chore {
  stop(): void;
}

function add(periodMs: number, run: () => void, once: boolean): Chore {
  if (!(periodMs > 0)) throw new Error(`a housekeeping period must be positive, got ${periodMs}`);
  const task: Task = { periodMs, due: nextMultiple(periodMs, Date.now()), run, once, stopped: false };
  tasks.add(task);
  arm();
  return {
    stop: () => {
      task.stopped = true;
      if (tasks.delete(task)) arm();
    },
  };
}

/** Runs `run` every periodMs, at the multiples of periodMs on the wall clock (with the process's other chores due then). */
export const every = (periodMs: number, run: () => void): Chore => add(periodMs, run, false);

/** Runs `run` once, at the next multiple of periodMs on the wall clock (within periodMs from now). */
export const atNext = (periodMs: number, run: () => void): Chore => add(periodMs, run, true);
