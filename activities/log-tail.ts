// Reads the end of a file without reading the whole of it: logs grow to gigabytes.
import type { Stats } from 'node:fs';
import { open } from 'node:fs/promises';

const CHUNK = 64 * 1024;

/**
 * The last `maxLines` lines of a file, reading at most `maxBytes` from its end. `check` sees the
 * opened file's stat (the file read, whatever its name points at by then) and throws to refuse it.
 */
export async function readTailLines(
  file: string,
  maxLines: number,
  maxBytes = 256 * 1024,
  opts: { flags?: number; check?: (info: Stats) => void } = {},
): Promise<string[]> {
  const handle = await open(file, opts.flags ?? 'r');
  try {
    const info = await handle.stat();
    opts.check?.(info);
    const { size } = info;
    let position = size;
    let text = '';
    let newlines = 0;
    while (position > 0 && newlines <= maxLines && size - position < maxBytes) {
      const length = Math.min(CHUNK, position, maxBytes - (size - position));
      position -= length;
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, position);
      const chunk = buffer.toString('utf8');
      text = chunk + text;
      for (const ch of chunk) if (ch === '\n') newlines++;
    }
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    if (position > 0) lines.shift(); // the first line was cut mid-way
    return lines.slice(-maxLines);
  } finally {
    await handle.close();
  }
}

/** The start of a file, bounded: for scripts, prompts and config. */
export async function readHead(file: string, maxBytes: number): Promise<{ text: string; truncated: boolean; size: number }> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, 0);
    return { text: buffer.toString('utf8'), truncated: size > maxBytes, size };
  } finally {
    await handle.close();
  }
}
