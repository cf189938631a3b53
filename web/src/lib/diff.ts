// A unified patch (as the API gives it, or computed from two texts) turned into rows the
// diff view draws: unified (one column) or side by side (changed lines paired).
import { parsePatch, structuredPatch } from 'diff';

export type LineKind = 'context' | 'add' | 'del';

export interface UnifiedRow {
  kind: LineKind | 'hunk';
  oldNo: number | null;
  newNo: number | null;
  text: string;
}

export interface SideCell {
  kind: LineKind | 'empty';
  no: number | null;
  text: string;
}

export interface SplitRow {
  hunk?: string;
  left: SideCell;
  right: SideCell;
}

export interface ParsedDiff {
  unified: UnifiedRow[];
  split: SplitRow[];
  added: number;
  removed: number;
}

interface Hunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: string[];
}

export function parseDiff(patch: string | null | undefined, before?: string | null, after?: string | null): ParsedDiff | null {
  let hunks: Hunk[] | null = null;
  if (patch) {
    const [file] = parsePatch(patch);
    if (file) hunks = file.hunks;
  }
  if (!hunks && (before != null || after != null)) {
    hunks = structuredPatch('a', 'b', before ?? '', after ?? '', '', '', { context: 3 }).hunks;
  }
  if (!hunks) return null;
  return rows(hunks);
}

function rows(hunks: Hunk[]): ParsedDiff {
  const unified: UnifiedRow[] = [];
  const split: SplitRow[] = [];
  let added = 0;
  let removed = 0;
  for (const hunk of hunks) {
    const header = `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`;
    unified.push({ kind: 'hunk', oldNo: null, newNo: null, text: header });
    split.push({ hunk: header, left: { kind: 'empty', no: null, text: '' }, right: { kind: 'empty', no: null, text: '' } });
    let oldNo = hunk.oldStart;
    let newNo = hunk.newStart;
    let dels: SideCell[] = [];
    let adds: SideCell[] = [];
    const flush = () => {
      const n = Math.max(dels.length, adds.length);
      for (let i = 0; i < n; i++) {
        split.push({ left: dels[i] ?? { kind: 'empty', no: null, text: '' }, right: adds[i] ?? { kind: 'empty', no: null, text: '' } });
      }
      dels = [];
      adds = [];
    };
    for (const line of hunk.lines) {
      const mark = line[0];
      const text = line.slice(1);
      if (mark === '\\') continue; // "\ No newline at end of file"
      if (mark === '-') {
        unified.push({ kind: 'del', oldNo, newNo: null, text });
        dels.push({ kind: 'del', no: oldNo, text });
        oldNo++;
        removed++;
      } else if (mark === '+') {
        unified.push({ kind: 'add', oldNo: null, newNo, text });
        adds.push({ kind: 'add', no: newNo, text });
        newNo++;
        added++;
      } else {
        flush();
        unified.push({ kind: 'context', oldNo, newNo, text });
        split.push({ left: { kind: 'context', no: oldNo, text }, right: { kind: 'context', no: newNo, text } });
        oldNo++;
        newNo++;
      }
    }
    flush();
  }
  return { unified, split, added, removed };
}
