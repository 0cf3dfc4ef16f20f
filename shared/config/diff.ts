// What a reload changes, by name: the pure half of applying a configuration as a
// difference (each service says what its named parts are and when two are the same).

export interface NamedDiff {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
}

/** Names in next only, in running only, in both but not the same, in both and the same (each sorted). */
export function diffByName<T>(running: ReadonlyMap<string, T>, next: ReadonlyMap<string, T>, same: (a: T, b: T) => boolean): NamedDiff {
  const out: NamedDiff = { added: [], removed: [], changed: [], unchanged: [] };
  for (const [name, plan] of next) {
    const now = running.get(name);
    if (now === undefined) out.added.push(name);
    else (same(now, plan) ? out.unchanged : out.changed).push(name);
  }
  for (const name of running.keys()) if (!next.has(name)) out.removed.push(name);
  for (const list of Object.values(out)) list.sort();
  return out;
}

/** Plain data as text to compare (a regular expression as its source and flags). */
const text = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (x instanceof RegExp ? `/${x.source}/${x.flags}` : x));

/** Two plans are the same when their JSON is (plans are plain data). */
export const sameJson = (a: unknown, b: unknown): boolean => text(a) === text(b);
