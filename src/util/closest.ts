// "Did you mean …?" for error messages: the known name nearest to a mistyped one.

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** The candidate nearest to `name` (ignoring case; a prefix either way, of 3 letters or more, counts as one edit), if it is
 * near enough to be a misspelling: at most max(2, a third of the name's length) edits away. */
export function closestName(name: string, candidates: string[]): string | undefined {
  const typed = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const c of candidates) {
    const known = c.toLowerCase();
    const prefix = Math.min(typed.length, known.length) >= 3 && (known.startsWith(typed) || typed.startsWith(known));
    const d = prefix ? 1 : editDistance(typed, known);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}
