// A line diff (longest common subsequence) of a service's config as the
// daemon runs it against the config its files give now: what a pending
// change would do, in the inspect view. Configs are tens of lines, so the
// quadratic table is fine.

export type DiffLine = { op: " " | "-" | "+"; text: string };

export function diffLines(before: string[], after: string[]): DiffLine[] {
  const n = before.length;
  const m = after.length;
  // lcs[i][j]: the LCS length of before[i..] and after[j..].
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    const row = lcs[i] as number[];
    const below = lcs[i + 1] as number[];
    for (let j = m - 1; j >= 0; j--) row[j] = before[i] === after[j] ? (below[j + 1] as number) + 1 : Math.max(below[j] as number, row[j + 1] as number);
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (before[i] === after[j]) {
      out.push({ op: " ", text: before[i] as string });
      i++;
      j++;
    } else if ((lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0)) out.push({ op: "-", text: before[i++] as string });
    else out.push({ op: "+", text: after[j++] as string });
  }
  while (i < n) out.push({ op: "-", text: before[i++] as string });
  while (j < m) out.push({ op: "+", text: after[j++] as string });
  return out;
}

/** Only the changed lines with `context` unchanged lines around each, "…" between the pieces. */
export function compactDiff(lines: DiffLine[], context = 2): DiffLine[] {
  const keep = new Set<number>();
  lines.forEach((l, i) => {
    if (l.op === " ") return;
    for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k++) keep.add(k);
  });
  const out: DiffLine[] = [];
  let last = -1;
  for (const i of [...keep].sort((a, b) => a - b)) {
    if (last >= 0 && i > last + 1) out.push({ op: " ", text: "…" });
    out.push(lines[i] as DiffLine);
    last = i;
  }
  return out;
}
