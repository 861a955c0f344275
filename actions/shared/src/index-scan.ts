// The block-layout scanner of index.yaml (helm's and chart-releaser's layout): line offsets only, strings
// made for the few lines it must read. It finds where each chart's block and each version item starts and
// ends, so index-yaml.ts can read a few fields and splice a new entry in without re-serialising anything;
// any other layout is "not a block index" (undefined), and index-yaml.ts falls back to the yaml Document.
import { parse } from 'yaml';

/** What the index says about one published chart version (scalars as written, strings). */
export interface PublishedVersion {
  version: string;
  digest?: string;
  appVersion?: string;
  created?: string;
  description?: string;
  deprecated?: boolean;
  urls?: string[];
}

interface Item {
  /** First line (the one with "- ") and the line after its last. */
  start: number;
  end: number;
  /** Indent of the item's keys (after "- "). */
  keyIndent: number;
}

interface ChartBlock {
  name: string;
  keyLine: number;
  end: number;
  itemIndent: number;
  items: Item[];
}

interface Layout {
  text: string;
  starts: number[];
  entriesLine: number;
  /** `entries: {}`: the line must be rewritten when the first chart goes in. */
  emptyEntries: boolean;
  entriesEnd: number;
  chartIndent: number;
  charts: ChartBlock[];
  generatedLine: number;
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0 && i < text.length - 1; i = text.indexOf('\n', i + 1)) {
    starts.push(i + 1);
  }
  return starts;
}

export class Lines {
  constructor(
    readonly text: string,
    readonly starts: number[],
  ) {}
  get count(): number {
    return this.starts.length;
  }
  start(i: number): number {
    return i < this.starts.length ? this.starts[i]! : this.text.length;
  }
  end(i: number): number {
    if (i + 1 < this.starts.length) return this.starts[i + 1]! - 1;
    return this.text.endsWith('\n') ? this.text.length - 1 : this.text.length;
  }
  line(i: number): string {
    return this.text.slice(this.start(i), this.end(i));
  }
  /** Spaces before the first other character; -1 for a blank line, -2 for a comment line. */
  indent(i: number): number {
    const start = this.start(i);
    const end = this.end(i);
    let p = start;
    while (p < end && this.text.charCodeAt(p) === 32) p += 1;
    if (p === end) return -1;
    if (this.text.charCodeAt(p) === 35) return -2;
    return p - start;
  }
}

const CHART_KEY =
  /^ *(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)'|([^\s"'#&*!|>%@`{}[\],?:-][^:#]*?|-[^\s:#][^:#]*?)) *: *(?:#.*)?$/;
const FIELD_KEY = /^([A-Za-z][A-Za-z0-9_-]*) *:(?: |$)/;

interface TopLevel {
  entriesLine: number;
  emptyEntries: boolean;
  entriesEnd: number;
  generatedLine: number;
}

/** The top-level keys: where `entries` starts and ends and where `generated` is; undefined if not block. */
function scanTopLevel(lines: Lines): TopLevel | undefined {
  let entriesLine = -1;
  let generatedLine = -1;
  let emptyEntries = false;
  for (let i = 0; i < lines.count; i += 1) {
    if (lines.indent(i) !== 0) continue;
    const line = lines.line(i);
    if (!/^[A-Za-z][A-Za-z0-9_-]* *:/.test(line)) return undefined;
    if (/^entries *:/.test(line)) {
      const rest = line
        .replace(/^entries *:/, '')
        .replace(/#.*$/, '')
        .trim();
      if (rest === '{}') emptyEntries = true;
      else if (rest !== '') return undefined;
      entriesLine = i;
    } else if (/^generated *:/.test(line)) {
      if (i + 1 < lines.count && lines.indent(i + 1) > 0) return undefined; // a multi-line value
      generatedLine = i;
    }
  }
  if (entriesLine < 0) return undefined;
  let entriesEnd = entriesLine + 1;
  while (entriesEnd < lines.count && lines.indent(entriesEnd) !== 0) entriesEnd += 1;
  // Trailing blank and comment lines belong after the block, not inside the last chart.
  while (entriesEnd > entriesLine + 1 && lines.indent(entriesEnd - 1) < 0) entriesEnd -= 1;
  return { entriesLine, emptyEntries, entriesEnd, generatedLine };
}

/** A chart key's name (plain, single- or double-quoted), or undefined when the line is no chart key. */
function chartName(line: string): string | undefined {
  const match = CHART_KEY.exec(line);
  if (!match) return undefined;
  if (match[1] !== undefined) return JSON.parse(`"${match[1]}"`) as string;
  if (match[2] !== undefined) return match[2].replace(/''/g, "'");
  return (match[3] ?? '').trim();
}

/** The item a `- key:` line at the chart's item indent starts, or undefined when it is not one. */
function itemAt(line: string, i: number, indent: number, end: number): Item | undefined {
  if (line.charCodeAt(indent) !== 45 || line.charCodeAt(indent + 1) !== 32) return undefined;
  let keyIndent = indent + 2;
  while (line.charCodeAt(keyIndent) === 32) keyIndent += 1;
  if (!FIELD_KEY.test(line.slice(keyIndent))) return undefined;
  return { start: i, end, keyIndent };
}

/** The charts and their items between `entries:` and its end; undefined when the block is not helm's. */
function scanCharts(lines: Lines, top: TopLevel): { charts: ChartBlock[]; chartIndent: number } | undefined {
  const charts: ChartBlock[] = [];
  let chartIndent = -1;
  let current: ChartBlock | undefined;
  let item: Item | undefined;
  for (let i = top.entriesLine + 1; i < top.entriesEnd; i += 1) {
    const indent = lines.indent(i);
    if (indent < 0) continue;
    if (top.emptyEntries) return undefined;
    if (chartIndent < 0) chartIndent = indent;
    if (indent < chartIndent) return undefined;
    const line = lines.line(i);
    if (indent === chartIndent && line.charCodeAt(indent) !== 45 /* - */) {
      if (current?.items.length === 0) return undefined; // a key whose value is not a block sequence
      const name = chartName(line);
      if (name === undefined) return undefined;
      if (item) item.end = i;
      item = undefined;
      if (current) current.end = i;
      current = { name, keyLine: i, end: top.entriesEnd, itemIndent: -1, items: [] };
      charts.push(current);
      continue;
    }
    if (!current) return undefined;
    if (current.itemIndent < 0) {
      if (line.charCodeAt(indent) !== 45 /* - */) return undefined;
      current.itemIndent = indent;
    }
    if (indent === current.itemIndent) {
      const next = itemAt(line, i, indent, top.entriesEnd);
      if (!next) return undefined;
      if (item) item.end = i;
      item = next;
      current.items.push(item);
      continue;
    }
    if (!item || indent < item.keyIndent) return undefined;
  }
  if (current && current.items.length === 0) return undefined;
  if (item) item.end = current?.end ?? top.entriesEnd;
  return { charts, chartIndent: chartIndent < 0 ? 2 : chartIndent };
}

/** The layout of a block-style index, or undefined when it is not one (then the Document path is used). */
export function scan(text: string): Layout | undefined {
  if (text.includes('\r') || text.includes('\t') || /^(?:---|%)/m.test(text)) return undefined;
  const lines = new Lines(text, lineStarts(text));
  const top = scanTopLevel(lines);
  if (!top) return undefined;
  const found = scanCharts(lines, top);
  if (!found) return undefined;
  return { text, starts: lines.starts, ...top, ...found };
}

/** Text that is a plain YAML scalar as it stands (no indicator first, no comment, no mapping colon). */
function isPlainSafe(text: string): boolean {
  return (
    text !== '' &&
    !/^[&*!|>%@`{[\]}"',#?:-]/.test(text) &&
    !text.includes(' #') &&
    !text.includes(': ') &&
    !text.endsWith(':')
  );
}

/** A scalar as written: plain text raw (so 1.10 stays "1.10"), quoted text unquoted; otherwise undefined. */
function scalarValue(key: string, first: string, continuation: string[]): string | undefined {
  const value = first.trim();
  if (continuation.length === 0) {
    if (value === '' || value === '~' || value === 'null') return undefined;
    if (value.startsWith('"') && value.endsWith('"') && value.length > 1) {
      try {
        return JSON.parse(value) as string;
      } catch {
        // a YAML-only escape: parse it as YAML below
      }
    } else if (
      value.startsWith("'") &&
      value.endsWith("'") &&
      value.length > 1 &&
      !value.slice(1, -1).match(/(^|[^'])'([^']|$)/)
    ) {
      return value.slice(1, -1).replace(/''/g, "'");
    } else if (isPlainSafe(value)) {
      return value;
    }
  }
  // A plain scalar folded over several lines (helm wraps long descriptions): lines joined by spaces.
  if (isPlainSafe(value) && continuation.every((line) => line.trim() !== '' && isPlainSafe(line.trim()))) {
    return [value, ...continuation.map((line) => line.trim())].join(' ');
  }
  const parsed = parse(`${key}: ${first}\n${continuation.join('\n')}`, { schema: 'failsafe' }) as Record<
    string,
    unknown
  >;
  const result = parsed?.[key];
  return typeof result === 'string' ? result : undefined;
}

export const SUMMARY_FIELDS = new Set([
  'version',
  'digest',
  'appVersion',
  'created',
  'description',
  'deprecated',
  'urls',
]);

/** A `- ` line at `indent`: an indentless sequence under the key above it. */
function isSeqLine(lines: Lines, i: number, indent: number): boolean {
  return lines.indent(i) === indent && lines.text.charCodeAt(lines.start(i) + indent) === 45;
}

/** The summary fields of one item (nested values other than urls are not read). */
export function readItem(lines: Lines, item: Item, wanted: Set<string>): PublishedVersion {
  const found: Record<string, string | string[] | undefined> = {};
  for (let i = item.start; i < item.end; i += 1) {
    const indent = lines.indent(i);
    if (indent < 0) continue;
    const line = lines.line(i);
    const keyStart = i === item.start ? item.keyIndent : indent;
    if (i !== item.start && indent !== item.keyIndent) continue;
    const match = FIELD_KEY.exec(line.slice(keyStart));
    if (!match) continue;
    const key = match[1]!;
    if (!wanted.has(key)) continue;
    const continuation: string[] = [];
    let j = i + 1;
    while (
      j < item.end &&
      (lines.indent(j) === -1 || lines.indent(j) > item.keyIndent || isSeqLine(lines, j, item.keyIndent))
    ) {
      continuation.push(lines.line(j));
      j += 1;
    }
    while (continuation.length > 0 && continuation[continuation.length - 1]!.trim() === '')
      continuation.pop();
    const first = line.slice(keyStart + match[0].length);
    const listed = first.trim() === '' ? continuation.map((line) => /^\s*- (\S+)\s*$/.exec(line)?.[1]) : [];
    if (key === 'urls' && listed.length > 0 && listed.every((url) => url !== undefined && isPlainSafe(url))) {
      found.urls = listed as string[];
    } else if (key === 'urls') {
      const parsed = parse(`urls: ${first}\n${continuation.join('\n')}`, { schema: 'failsafe' }) as {
        urls?: unknown;
      };
      found.urls = Array.isArray(parsed?.urls) ? parsed.urls.map(String) : undefined;
    } else {
      found[key] = scalarValue(key, first, continuation);
    }
    i = j - 1;
  }
  return toPublished(found);
}

export function toPublished(found: Record<string, unknown>): PublishedVersion {
  const text = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
  const result: PublishedVersion = { version: text(found.version) ?? '' };
  const set = (key: 'digest' | 'appVersion' | 'created' | 'description') => {
    const value = text(found[key]);
    if (value !== undefined) result[key] = value;
  };
  set('digest');
  set('appVersion');
  set('created');
  set('description');
  if (found.deprecated !== undefined) result.deprecated = String(found.deprecated) === 'true';
  if (Array.isArray(found.urls)) result.urls = found.urls.map(String);
  return result;
}
