/**
 * A unified diff (`diff -u`'s format) of two texts, line by line: what `tsctl diff` prints. The
 * texts are one object's YAML, a few hundred lines at most, so a plain longest-common-subsequence
 * table is quick enough and gives the smallest diff.
 */

/** Unchanged lines shown around each change, as `diff -u` does. */
export const CONTEXT_LINES = 3;

type Edit = { op: ' ' | '-' | '+'; line: string };

/** '' when the texts are equal; otherwise the `---`/`+++` header and one `@@` hunk per group of changes. */
export function unifiedDiff(before: string, after: string, labels: { before: string; after: string }): string {
  const edits = lineEdits(splitLines(before), splitLines(after));
  if (edits.every((e) => e.op === ' ')) return '';
  return [`--- ${labels.before}`, `+++ ${labels.after}`, ...hunks(edits).flatMap(hunkLines)].join('\n');
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

/** The edit script from a longest-common-subsequence table (removals before additions at each change). */
function lineEdits(a: string[], b: string[]): Edit[] {
  // common[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const common = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) common[i][j] = a[i] === b[j] ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
  }
  const edits: Edit[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      edits.push({ op: ' ', line: a[i] });
      i++;
      j++;
    } else if (j >= b.length || (i < a.length && common[i + 1][j] >= common[i][j + 1])) {
      edits.push({ op: '-', line: a[i++] });
    } else {
      edits.push({ op: '+', line: b[j++] });
    }
  }
  return edits;
}

interface Hunk {
  edits: Edit[];
  /** 1-based first line of the hunk in each text. */
  beforeStart: number;
  afterStart: number;
}

/** Changes with at most twice the context of unchanged lines between them share a hunk, as in `diff -u`. */
function hunks(edits: Edit[]): Hunk[] {
  const changed = edits.map((e, index) => (e.op === ' ' ? -1 : index)).filter((index) => index >= 0);
  const groups: [number, number][] = [];
  for (const index of changed) {
    const last = groups[groups.length - 1];
    if (last && index - last[1] - 1 <= 2 * CONTEXT_LINES) last[1] = index;
    else groups.push([index, index]);
  }
  return groups.map(([first, lastChange]) => {
    const from = Math.max(0, first - CONTEXT_LINES);
    const to = Math.min(edits.length, lastChange + CONTEXT_LINES + 1);
    const before = edits.slice(0, from);
    return {
      edits: edits.slice(from, to),
      beforeStart: before.filter((e) => e.op !== '+').length + 1,
      afterStart: before.filter((e) => e.op !== '-').length + 1,
    };
  });
}

function hunkLines(hunk: Hunk): string[] {
  const beforeCount = hunk.edits.filter((e) => e.op !== '+').length;
  const afterCount = hunk.edits.filter((e) => e.op !== '-').length;
  // diff -u names an empty range by the line before it (0 for the start of the file).
  const range = (start: number, count: number) => `${count === 0 ? start - 1 : start}${count === 1 ? '' : `,${count}`}`;
  return [`@@ -${range(hunk.beforeStart, beforeCount)} +${range(hunk.afterStart, afterCount)} @@`, ...hunk.edits.map((e) => `${e.op}${e.line}`)];
}
