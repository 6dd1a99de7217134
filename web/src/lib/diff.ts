// Which parts of the enhanced prompt were added to the original: a
// longest-common-subsequence diff over words (whitespace kept), so the page
// can highlight what BetterPrompts wrote around the user's own words.

/** A run of the enhanced text, and whether it is new. */
export interface Segment {
  text: string;
  added: boolean;
}

/** Words and the whitespace between them, in order. */
export function tokens(text: string): string[] {
  return text.split(/(\s+)/).filter((t) => t !== "");
}

/** Above this many cells the word table is too big: compare whole lines. */
const MAX_CELLS = 2_000_000;

function lcsKeep(a: string[], b: string[]): boolean[] {
  // keep[j]: b[j] belongs to the common subsequence.
  const n = a.length;
  const m = b.length;
  const keep = new Array<boolean>(m).fill(false);
  const width = m + 1;
  const table = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i * width + j] =
        a[i] === b[j]
          ? (table[(i + 1) * width + j + 1] ?? 0) + 1
          : Math.max(table[(i + 1) * width + j] ?? 0, table[i * width + j + 1] ?? 0);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      keep[j] = true;
      i++;
      j++;
    } else if ((table[(i + 1) * width + j] ?? 0) >= (table[i * width + j + 1] ?? 0)) {
      i++;
    } else {
      j++;
    }
  }
  return keep;
}

function merge(parts: string[], keep: boolean[]): Segment[] {
  const out: Segment[] = [];
  parts.forEach((text, k) => {
    // Whitespace takes the state of what precedes it, so highlights do not
    // break at every space.
    const added = /^\s+$/.test(text) && out.length > 0 ? (out[out.length - 1]?.added ?? false) : !keep[k];
    const last = out[out.length - 1];
    if (last && last.added === added) last.text += text;
    else out.push({ text, added });
  });
  return out;
}

/** The enhanced text cut into kept and added segments. */
export function addedSegments(original: string, enhanced: string): Segment[] {
  if (enhanced === "") return [];
  let a = tokens(original);
  let b = tokens(enhanced);
  if (a.length * b.length > MAX_CELLS) {
    a = original.split(/(?<=\n)/);
    b = enhanced.split(/(?<=\n)/);
  }
  const lineMode = a.length * b.length > MAX_CELLS;
  if (lineMode) {
    // Still too big: only exact shared lines count as kept.
    const lines = new Set(a);
    return merge(b, b.map((line) => lines.has(line)));
  }
  return merge(b, lcsKeep(a, b));
}
