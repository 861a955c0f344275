// A chart archive with its subcharts in name order. helm collects a chart's subcharts in a Go map and writes
// them in its iteration order, which Go randomises: a chart with two or more dependencies packages to other
// bytes from run to run (one time in eight with two). Such an archive is rewritten here: its tar entries,
// byte for byte, stably sorted by the subcharts on their path, then gzipped again (no name, no time), so the
// package repeats. An archive with at most one subchart per chart is helm's own, untouched. Pure.
import { gunzipSync, gzipSync } from 'node:zlib';

const BLOCK = 512;

interface Entry {
  name: string;
  /** Its header blocks (extended headers included) and data, as in the archive. */
  bytes: Buffer;
}

function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
}

/** The entries and the end-of-archive blocks; extended headers (PAX x/g, GNU L/K) stay with their entry. */
function entries(tar: Buffer): { list: Entry[]; end: Buffer } {
  const list: Entry[] = [];
  let offset = 0;
  let start = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= tar.length && tar[offset] !== 0) {
    const header = tar.subarray(offset, offset + BLOCK);
    const size = parseInt(text(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156]!);
    const data = tar.subarray(offset + BLOCK, offset + BLOCK + size);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      const path =
        type === 'L' ? text(data, 0, size) : /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'))?.[1];
      if (path !== undefined && type !== 'K') longName = path;
      continue;
    }
    const prefix = text(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
    list.push({ name, bytes: tar.subarray(start, offset) });
    start = offset;
    longName = undefined;
  }
  return { list, end: tar.subarray(start) };
}

/** The subchart names along a path: demo/charts/a/charts/b/x → [a, b]. */
function subchartPath(name: string): string[] {
  return [...name.matchAll(/\/charts\/([^/]+)\//g)].map((m) => m[1]!);
}

function compare(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}

/** The archive rewritten with its subcharts in name order, or undefined when no chart has two subcharts. */
export function subchartsInOrder(archive: Buffer): Buffer | undefined {
  const { list, end } = entries(gunzipSync(archive));
  const keys = new Map(list.map((entry) => [entry, subchartPath(entry.name)]));
  const siblings = new Map<string, Set<string>>();
  for (const path of keys.values()) {
    path.forEach((name, i) => {
      const parent = path.slice(0, i).join('/');
      siblings.set(parent, (siblings.get(parent) ?? new Set()).add(name));
    });
  }
  if ([...siblings.values()].every((names) => names.size < 2)) return undefined;
  const sorted = [...list].sort((a, b) => compare(keys.get(a)!, keys.get(b)!));
  return gzipSync(Buffer.concat([...sorted.map((entry) => entry.bytes), end]), { level: 9 });
}
