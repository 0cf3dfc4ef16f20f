// What one result of a check means: keepalived's retry (retry, delay_before_retry) and
// HAProxy's rise/fall counting, without I/O. The shell runs probes and obeys the verdict.
import type { CheckResult } from '../../shared/eventlog/catalogue.js';

export type Health = CheckResult;

export interface CheckRules {
  /** Consecutive good results that bring a down check up. */
  rise: number;
  /** Consecutive failed results that bring an up check down. */
  fall: number;
  /** Extra tries of a failed probe before it counts as one failed result (keepalived's retry). */
  retries: number;
  retryDelayMs: number;
  intervalMs: number;
}

export interface CheckState {
  health: Health;
  /** Consecutive results that disagree with health (toward rise or fall). */
  streak: number;
  /** Retries already spent on the current failing probe. */
  retried: number;
  /** The misc_dynamic weight of the last good result, if any. */
  weight: number | undefined;
}

export interface ProbeResult {
  ok: boolean;
  /** What happened, in words a person can act on ("HTTP 503 on GET /status from 10.0.0.29:80"). */
  reason: string;
  /** misc_dynamic: the weight the script asked for (exit code - 2). */
  weight?: number;
}

export interface Change {
  from: Health;
  to: Health;
  reason: string;
  weight?: number;
}

export interface Verdict {
  state: CheckState;
  /** When to probe next, from the end of this probe. */
  nextInMs: number;
  /** Present only when the check changed state or a misc_dynamic weight changed. */
  change?: Change;
}

export function initialCheckState(health: Health, weight?: number): CheckState {
  return { health, streak: 0, retried: 0, weight };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function onResult(rules: CheckRules, s: CheckState, r: ProbeResult): Verdict {
  if (!r.ok) {
    // keepalived retries only a check that is up: a down server gets one try per delay_loop.
    if (s.health === 'up' && s.retried < rules.retries) {
      return { state: { ...s, retried: s.retried + 1 }, nextInMs: rules.retryDelayMs };
    }
    const retried = s.retried;
    if (s.health === 'down') return { state: { ...s, streak: 0, retried: 0 }, nextInMs: rules.intervalMs };
    const streak = s.streak + 1;
    if (streak < rules.fall) return { state: { ...s, streak, retried: 0 }, nextInMs: rules.intervalMs };
    let reason = r.reason;
    if (retried > 0) reason += ` after ${plural(retried, 'retry', 'retries')}`;
    if (rules.fall > 1) reason += ` (${rules.fall} failures in a row)`;
    return { state: { health: 'down', streak: 0, retried: 0, weight: s.weight }, nextInMs: rules.intervalMs, change: { from: 'up', to: 'down', reason } };
  }
  if (s.health === 'up') {
    const state: CheckState = { health: 'up', streak: 0, retried: 0, weight: r.weight ?? s.weight };
    if (r.weight !== undefined && r.weight !== s.weight) {
      return { state, nextInMs: rules.intervalMs, change: { from: 'up', to: 'up', reason: `${r.reason}: weight ${s.weight ?? 'configured'} -> ${r.weight}`, weight: r.weight } };
    }
    return { state, nextInMs: rules.intervalMs };
  }
  const streak = s.streak + 1;
  if (streak < rules.rise) return { state: { ...s, streak, retried: 0 }, nextInMs: rules.intervalMs };
  const reason = rules.rise > 1 ? `${r.reason} (${rules.rise} successes in a row)` : r.reason;
  const weight = r.weight ?? s.weight;
  return {
    state: { health: 'up', streak: 0, retried: 0, weight },
    nextInMs: rules.intervalMs,
    change: { from: 'down', to: 'up', reason, ...(weight !== undefined ? { weight } : {}) },
  };
}

/** keepalived's reading of a MISC_CHECK or vrrp_script exit (misc_dynamic: 2..255 = up with weight exit-2). */
export function exitVerdict(
  what: string,
  exit: { code: number | null; signal: string | null; timedOut: boolean; tail: string; timeoutMs: number },
  dynamic: boolean,
): ProbeResult {
  const tail = exit.tail.trim().split('\n').slice(-1)[0]?.slice(0, 200) ?? '';
  const said = tail ? `: ${tail}` : '';
  if (exit.timedOut) return { ok: false, reason: `${what} did not finish within ${exit.timeoutMs / 1000} s (killed)` };
  if (exit.code === null) return { ok: false, reason: `${what} was killed by ${exit.signal ?? 'a signal'}${said}` };
  if (exit.code === 0) return { ok: true, reason: `${what} exited 0${said}` };
  if (dynamic && exit.code >= 2) return { ok: true, reason: `${what} exited ${exit.code}${said}`, weight: exit.code - 2 };
  return { ok: false, reason: `${what} exited ${exit.code}${said}` };
}
