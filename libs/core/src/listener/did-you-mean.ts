/**
 * Suggests the name a typo meant, for the errors that refuse an unknown option or property. Internal.
 */

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** Lower case, with `_` and `-` read as `.` (`SESSION_TIMEOUT_MS` is `session.timeout.ms`). */
function normalize(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, '.');
}

/**
 * The known name closest to `name`: one that differs only in case or separators, else one that starts with
 * it or that it starts with (`session.timeout` for `session.timeout.ms`), else the nearest within an edit
 * distance of a third of its length (at least 2). Undefined when nothing is that close.
 */
export function didYouMean(name: string, known: readonly string[]): string | undefined {
  const n = normalize(name);
  const exact = known.find((k) => normalize(k) === n);
  if (exact) return exact;
  if (n.length >= 4) {
    const prefix = known.find((k) => normalize(k).startsWith(n) || n.startsWith(normalize(k) + '.'));
    if (prefix) return prefix;
  }
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(normalize(k), n);
    if (d < bestDistance && d <= Math.max(2, Math.floor(k.length / 3))) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}
