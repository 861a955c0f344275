// The job summary of a decision: words for each series' status, and the HTML, built with the shared summary
// helpers (everything escaped). Kept out of decide(), which only decides.
import { code, escapeHtml, link, table } from '../../shared/src/summary.js';
import type { Decision, SeriesRow } from './decide.js';
import type { ReleaseInfo } from './github.js';

const STATUS_WORDS: Record<SeriesRow['status'], string> = {
  new: 'new, not yet built',
  forced: 'rebuild (forced)',
  'up-to-date': 'up to date',
  'not-available': 'not available yet',
};

/** What a series row says, e.g. "new, not yet built — the version outputs". */
export function statusText(row: SeriesRow): string {
  const words = STATUS_WORDS[row.status];
  return row.target ? `${words} (version, tags, is-new)` : words;
}

export function summaryBlocks(
  decision: Decision,
  images: string[],
  release: ReleaseInfo | undefined,
  /** What the registries would not show (see visibilityNotes). */
  registryNotes: readonly string[] = [],
  chartNote = '',
): string[] {
  const rows = decision.rows.map((row) => [
    row.series,
    row.newest ?? '—',
    row.newest === undefined ? '—' : row.published ? 'yes' : 'no',
    statusText(row),
  ]);
  const blocks = [
    '<h2>OpenNebula Community release</h2>',
    table(['Series', 'Newest CE version', 'Published', 'Status'], rows),
    `<p><strong>Decision:</strong> ${escapeHtml(decision.reason)}</p>`,
    `<p>Version ${code(decision.version)} (package ${code(decision.packageVersion)}, from ` +
      `${code(`${decision.repositoryDir}/`)}), tags ${decision.tags.map((tag) => code(tag)).join(' ')}; ` +
      `images: ${images.map((image) => code(image)).join(', ')}.</p>`,
  ];
  if (decision.newVersions.length > 0) {
    blocks.push(
      `<p>To build (new-versions): ${decision.newVersions.map((entry) => code(entry.version)).join(', ')}.</p>`,
    );
  }
  for (const note of registryNotes) {
    blocks.push(`<p><strong>Registry access:</strong> ${escapeHtml(note)}</p>`);
  }
  if (chartNote) blocks.push(`<p><strong>Chart:</strong> ${escapeHtml(chartNote)}</p>`);
  if (release) {
    const date = release.publishedAt ? ` on ${release.publishedAt.slice(0, 10)}` : '';
    blocks.push(`<p>Upstream release: ${link(release.tag, release.url)}${date}.</p>`);
  }
  return blocks;
}
