// The Helm repository index (index.yaml): read what is published and add one entry to it. Pure, text in and
// text out. Every existing entry is kept byte for byte: the new entry is spliced into the text, never
// re-serialised with the rest (a YAML round trip turns an unquoted appVersion 1.10 into 1.1, re-quotes
// timestamps and re-wraps descriptions, and takes seconds and hundreds of MB on a big index). The splice
// needs the block layout helm and chart-releaser write; any other valid YAML (flow style, JSON) goes through
// the yaml package's Document API instead, which keeps every value as written, only slower.
import semver from 'semver';
import { isMap, isSeq, parse, parseDocument, stringify, YAMLMap, YAMLSeq, type Document } from 'yaml';

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

/** chart name → its versions, in index order (newest first as helm writes them). */
export type IndexSummary = Map<string, PublishedVersion[]>;

export class IndexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IndexError';
  }
}

// ---------------------------------------------------------------------------------------------------------
// The block-layout scanner: line offsets only, strings made for the few lines it must read.

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

class Lines {
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

/** The layout of a block-style index, or undefined when it is not one (then the Document path is used). */
function scan(text: string): Layout | undefined {
  if (text.includes('\r') || text.includes('\t') || /^(?:---|%)/m.test(text)) return undefined;
  const lines = new Lines(text, lineStarts(text));
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

  const charts: ChartBlock[] = [];
  let chartIndent = -1;
  let current: ChartBlock | undefined;
  let item: Item | undefined;
  for (let i = entriesLine + 1; i < entriesEnd; i += 1) {
    const indent = lines.indent(i);
    if (indent < 0) continue;
    if (emptyEntries) return undefined;
    if (chartIndent < 0) chartIndent = indent;
    if (indent < chartIndent) return undefined;
    const isItem = lines.text.charCodeAt(lines.start(i) + indent) === 45; /* - */
    if (indent === chartIndent && !isItem) {
      if (current?.items.length === 0) return undefined; // a key whose value is not a block sequence
      const match = CHART_KEY.exec(lines.line(i));
      if (!match) return undefined;
      const name =
        match[1] !== undefined
          ? (JSON.parse(`"${match[1]}"`) as string)
          : match[2] !== undefined
            ? match[2].replace(/''/g, "'")
            : (match[3] ?? '').trim();
      if (item) item.end = i;
      item = undefined;
      if (current) current.end = i;
      current = { name, keyLine: i, end: entriesEnd, itemIndent: -1, items: [] };
      charts.push(current);
      continue;
    }
    if (!current) return undefined;
    const line = lines.line(i);
    if (current.itemIndent < 0) {
      if (line.charCodeAt(indent) !== 45 /* - */) return undefined;
      current.itemIndent = indent;
    }
    if (indent === current.itemIndent) {
      if (line.charCodeAt(indent) !== 45 || line.charCodeAt(indent + 1) !== 32) return undefined;
      let keyIndent = indent + 2;
      while (line.charCodeAt(keyIndent) === 32) keyIndent += 1;
      if (!FIELD_KEY.test(line.slice(keyIndent))) return undefined;
      if (item) item.end = i;
      item = { start: i, end: entriesEnd, keyIndent };
      current.items.push(item);
      continue;
    }
    if (!item || indent < item.keyIndent) return undefined;
  }
  if (current && current.items.length === 0) return undefined;
  if (item) item.end = current?.end ?? entriesEnd;
  return {
    text,
    starts: lines.starts,
    entriesLine,
    emptyEntries,
    entriesEnd,
    chartIndent: chartIndent < 0 ? 2 : chartIndent,
    charts,
    generatedLine,
  };
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

const SUMMARY_FIELDS = new Set([
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
function readItem(lines: Lines, item: Item, wanted: Set<string>): PublishedVersion {
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

function toPublished(found: Record<string, unknown>): PublishedVersion {
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

// ---------------------------------------------------------------------------------------------------------
// The Document path, for any other valid YAML.

function parseIndexDocument(text: string): Document {
  const document = parseDocument(text, { schema: 'failsafe' });
  if (document.errors.length > 0) {
    throw new IndexError(`index.yaml is not valid YAML: ${document.errors[0]?.message ?? ''}`);
  }
  const root = document.contents;
  if (!isMap(root)) throw new IndexError('index.yaml is not a YAML mapping');
  const entries = root.get('entries', true);
  if (entries !== undefined && entries !== null && !isMap(entries) && !(String(entries) === '')) {
    throw new IndexError('index.yaml: entries is not a mapping of chart names');
  }
  return document;
}

function summaryFromDocument(document: Document): IndexSummary {
  const js = document.toJS() as { entries?: Record<string, unknown> | null };
  const summary: IndexSummary = new Map();
  for (const [name, versions] of Object.entries(js.entries ?? {})) {
    if (!Array.isArray(versions)) throw new IndexError(`index.yaml: entries.${name} is not a list`);
    summary.set(
      name,
      versions.map((v) => toPublished((v ?? {}) as Record<string, unknown>)),
    );
  }
  return summary;
}

// ---------------------------------------------------------------------------------------------------------

/** Every chart and version the index lists. An absent index (no branch, no file) is empty. */
export function readIndex(text: string | undefined): IndexSummary {
  if (text === undefined || text.trim() === '') return new Map();
  const layout = scan(text);
  if (!layout) return summaryFromDocument(parseIndexDocument(text));
  const lines = new Lines(text, layout.starts);
  const summary: IndexSummary = new Map();
  for (const chart of layout.charts) {
    summary.set(
      chart.name,
      chart.items.map((item) => readItem(lines, item, SUMMARY_FIELDS)),
    );
  }
  return summary;
}

/** The versions (and digests) of one chart, reading only that chart's part of the index. */
export function chartVersions(text: string | undefined, chart: string): PublishedVersion[] {
  if (text === undefined || text.trim() === '') return [];
  const layout = scan(text);
  if (!layout) return summaryFromDocument(parseIndexDocument(text)).get(chart) ?? [];
  const lines = new Lines(text, layout.starts);
  const block = layout.charts.find((c) => c.name === chart);
  if (!block) return [];
  const wanted = new Set(['version', 'digest']);
  return block.items.map((item) => readItem(lines, item, wanted));
}

/** One entry in helm's own style: keys sorted, sequences not indented, no line folding. */
export function renderEntry(entry: Record<string, unknown>, indent: number): string {
  const sorted = Object.fromEntries(Object.entries(entry).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const yamlText = stringify([sorted], { indentSeq: false, lineWidth: 0, minContentWidth: 0 });
  const pad = ' '.repeat(indent);
  // helm quotes timestamps; a plain one reads back as a YAML 1.1 timestamp in some parsers.
  return yamlText
    .replace(
      /^(- | {2})created: ([^"'\n].*)$/m,
      (_, lead: string, value: string) => `${lead}created: ${JSON.stringify(value)}`,
    )
    .split('\n')
    .filter((line, i, all) => i < all.length - 1 || line !== '')
    .map((line) => (line === '' ? '' : pad + line))
    .join('\n')
    .concat('\n');
}

function quoteKey(name: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) ? name : JSON.stringify(name);
}

export interface MergeResult {
  text: string;
  /** False when the index already had this version with this digest (the text is then unchanged). */
  changed: boolean;
}

function compareForInsert(a: string, b: string): number {
  const va = semver.valid(a);
  const vb = semver.valid(b);
  if (va && vb) return semver.compare(va, vb);
  if (va) return 1;
  if (vb) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkDuplicate(
  chart: string,
  existing: PublishedVersion[],
  version: string,
  digest: string,
): boolean {
  const same = existing.find((v) => v.version === version);
  if (!same) return false;
  if (same.digest === digest) return true;
  throw new IndexError(
    `${chart} ${version} is already in index.yaml with digest ${same.digest ?? '(none)'}, but this package ` +
      `has digest ${digest}; published chart versions are immutable: publish a new version`,
  );
}

/**
 * index.yaml with `entry` (a chart version: name, version, digest, urls, created, ...) added to its chart,
 * in helm's order (newest first), and `generated` set. Every other byte of the index stays as it was.
 * The same version with the same digest is no change; with another digest it is an error.
 */
export function mergeIndex(
  text: string | undefined,
  entry: Record<string, unknown>,
  generated: string,
): MergeResult {
  const chart = String(entry.name);
  const version = String(entry.version);
  const digest = String(entry.digest);
  const generatedLine = `generated: ${JSON.stringify(generated)}`;
  if (text === undefined || text.trim() === '') {
    return {
      text: `apiVersion: v1\nentries:\n  ${quoteKey(chart)}:\n${renderEntry(entry, 2)}${generatedLine}\n`,
      changed: true,
    };
  }
  const layout = scan(text);
  if (!layout) return mergeDocument(text, entry, generated);
  const lines = new Lines(text, layout.starts);
  const edits: { at: number; until: number; text: string }[] = [];
  const block = layout.charts.find((c) => c.name === chart);
  if (block) {
    const existing = block.items.map((item) => readItem(lines, item, new Set(['version', 'digest'])));
    if (checkDuplicate(chart, existing, version, digest)) return { text, changed: false };
    const before = existing.findIndex((v) => compareForInsert(v.version, version) < 0);
    const at = before >= 0 ? lines.start(block.items[before]!.start) : lines.start(block.end);
    edits.push({ at, until: at, text: renderEntry(entry, block.itemIndent) });
  } else {
    const offset = layout.charts[0] ? layout.charts[0].itemIndent - layout.chartIndent : 0;
    const newBlock = `${' '.repeat(layout.chartIndent)}${quoteKey(chart)}:\n${renderEntry(entry, layout.chartIndent + offset)}`;
    const next = layout.charts.find((c) => c.name > chart);
    if (layout.emptyEntries) {
      edits.push({
        at: lines.start(layout.entriesLine),
        until: lines.start(layout.entriesLine + 1),
        text: `entries:\n${newBlock}`,
      });
    } else {
      const at = next ? lines.start(next.keyLine) : lines.start(layout.entriesEnd);
      edits.push({ at, until: at, text: newBlock });
    }
  }
  if (layout.generatedLine >= 0) {
    edits.push({
      at: lines.start(layout.generatedLine),
      until: lines.end(layout.generatedLine),
      text: generatedLine,
    });
  } else {
    const end = text.length;
    edits.push({ at: end, until: end, text: `${text.endsWith('\n') ? '' : '\n'}${generatedLine}\n` });
  }
  // An insertion at the very end of a file without a final newline needs one before it.
  edits.sort((a, b) => a.at - b.at);
  let out = '';
  let position = 0;
  for (const edit of edits) {
    out += text.slice(position, edit.at);
    if (edit.at === text.length && !text.endsWith('\n') && edit.text.startsWith(' ')) out += '\n';
    out += edit.text;
    position = edit.until;
  }
  out += text.slice(position);
  return { text: out, changed: true };
}

function mergeDocument(text: string, entry: Record<string, unknown>, generated: string): MergeResult {
  const document = parseIndexDocument(text);
  const chart = String(entry.name);
  const version = String(entry.version);
  const existing = summaryFromDocument(document).get(chart) ?? [];
  if (checkDuplicate(chart, existing, version, String(entry.digest))) return { text, changed: false };
  const root = document.contents as YAMLMap;
  let entries: unknown = root.get('entries', true);
  if (!isMap(entries)) {
    entries = new YAMLMap();
    root.set('entries', entries);
  }
  const entriesMap = entries as YAMLMap;
  let versions: unknown = entriesMap.get(chart, true);
  if (!isSeq(versions)) {
    versions = new YAMLSeq();
    entriesMap.set(chart, versions);
  }
  const sorted = Object.fromEntries(Object.entries(entry).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const node = document.createNode(sorted);
  const before = existing.findIndex((v) => compareForInsert(v.version, version) < 0);
  const items = (versions as YAMLSeq).items as unknown[];
  items.splice(before >= 0 ? before : items.length, 0, node);
  root.set('generated', generated);
  return { text: document.toString({ lineWidth: 0 }), changed: true };
}
