// The Helm repository index (index.yaml): read what is published and add one entry to it. Pure, text in and
// text out. Every existing entry is kept byte for byte: the new entry is spliced into the text, never
// re-serialised with the rest (a YAML round trip turns an unquoted appVersion 1.10 into 1.1, re-quotes
// timestamps and re-wraps descriptions, and takes seconds and hundreds of MB on a big index). The splice
// needs the block layout helm and chart-releaser write; any other valid YAML (flow style, JSON) goes through
// the yaml package's Document API instead, which keeps every value as written, only slower.
import semver from 'semver';
import { isMap, isSeq, parseDocument, stringify, YAMLMap, YAMLSeq, type Document } from 'yaml';
import { Lines, readItem, scan, SUMMARY_FIELDS, toPublished, type PublishedVersion } from './index-scan.js';

export type { PublishedVersion } from './index-scan.js';

/** chart name → its versions, in index order (newest first as helm writes them). */
export type IndexSummary = Map<string, PublishedVersion[]>;

export class IndexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IndexError';
  }
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
