// The job summary: what was published where, or for a dry run what would change. Pure (HTML out).
import { code, escapeHtml, link, table } from '../../shared/src/summary.js';

export interface SummaryFacts {
  chart: string;
  version: string;
  appVersion: string | undefined;
  digest: string;
  released: boolean;
  dryRun: boolean;
  releaseUrl: string | undefined;
  indexUrl: string;
  pagesUrl: string;
  ociRef: string | undefined;
  /** Unified diff of index.yaml (dry run). */
  diff?: string;
  notes: string[];
}

const MAX_DIFF = 60_000;

export function summaryBlocks(facts: SummaryFacts): string[] {
  const heading = facts.dryRun
    ? `Dry run: ${facts.chart} ${facts.version} (nothing published)`
    : facts.released
      ? `Published ${facts.chart} ${facts.version}`
      : `${facts.chart} ${facts.version} was already published`;
  const rows = [
    ['Chart version', code(facts.version)],
    ['App version', code(facts.appVersion ?? '')],
    ['Digest', code(`sha256:${facts.digest}`)],
    ['GitHub release', facts.releaseUrl ? link(facts.releaseUrl, facts.releaseUrl) : escapeHtml('—')],
    ['Repository', link(facts.pagesUrl, facts.pagesUrl)],
    ['Index', link(facts.indexUrl, facts.indexUrl)],
    ['OCI', facts.ociRef ? code(facts.ociRef) : escapeHtml('—')],
  ].map(([name, html]) => [name!, { html: html! }]);
  const blocks = [`<h2>${escapeHtml(heading)}</h2>`, table(['', ''], rows)];
  for (const note of facts.notes) blocks.push(`<p>${escapeHtml(note)}</p>`);
  if (facts.diff !== undefined) {
    const diff =
      facts.diff.length > MAX_DIFF ? `${facts.diff.slice(0, MAX_DIFF)}\n… (diff cut short)` : facts.diff;
    blocks.push(`<h3>index.yaml changes</h3>`, `<pre>${escapeHtml(diff || '(no change)')}</pre>`);
  }
  return blocks;
}
