// The dry run: the package's index.yaml diff printed and the summary written; nothing is published.
import * as core from '@actions/core';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run as exec } from '../../shared/src/exec.js';
import type { BranchState } from '../../shared/src/pages.js';
import { writeSummary } from '../../shared/src/summary.js';
import type { Inputs } from './inputs.js';
import type { OciTarget } from './oci.js';
import { pagesFiles, type PagesFacts } from './pages-files.js';
import { releaseTag, type Release, type ReleaseAsset } from './releases.js';
import { summaryBlocks, type SummaryFacts } from './summary.js';

export interface Existing {
  releases: Release[];
  release: Release | undefined;
  asset: ReleaseAsset | undefined;
  oci: OciTarget | undefined;
}

export function foreignPageNote(branch: string): string {
  return (
    `index.html on ${branch} was not written by this action, so it is left as it is ` +
    '(landing-page: always replaces it with the chart list).'
  );
}

/** Prints the index diff and writes the summary; publishes nothing. */
export async function dryRun(
  inputs: Inputs,
  chart: string,
  pkg: { path: string; version: string },
  branch: BranchState,
  existing: Existing,
  facts: PagesFacts,
  work: string,
  summary: SummaryFacts,
): Promise<void> {
  const tag = releaseTag(chart, pkg.version);
  const fileName = pkg.path.split('/').pop()!;
  const url =
    existing.asset?.browser_download_url ??
    `${inputs.serverUrl}/${inputs.repository}/releases/download/${encodeURIComponent(tag)}/${fileName}`;
  const { before, merged, foreignLandingPage } = await pagesFiles(branch, url, facts);
  if (foreignLandingPage) summary.notes.push(foreignPageNote(inputs.pagesBranch));
  const diff = await indexDiff(work, before ?? '', merged.text);
  core.startGroup('index.yaml changes (dry run: nothing is published)');
  core.info(diff || '(no change)');
  core.endGroup();
  core.setOutput('released', 'false');
  core.setOutput('release-url', existing.release?.html_url ?? '');
  await writeSummary(summaryBlocks({ ...summary, diff }));
}

/** `git diff --no-index` of the two index texts (exit code 1 means "they differ"). */
export async function indexDiff(work: string, before: string, after: string): Promise<string> {
  const dir = mkdtempSync(join(work, 'diff-'));
  writeFileSync(join(dir, 'index.yaml.before'), before);
  writeFileSync(join(dir, 'index.yaml'), after);
  const result = await exec('git', ['diff', '--no-index', '--no-color', 'index.yaml.before', 'index.yaml'], {
    cwd: dir,
    silent: true,
    okCodes: [0, 1],
  });
  return result.stdout;
}
