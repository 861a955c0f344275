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
  /** The chart repository's name in the commands users run (helm repo add <name>). */
  repoName: string;
  /** The GPG key the .prov is signed with, published on the Pages site. */
  publicKey?: { url: string; fingerprint: string };
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
  if (facts.publicKey && !facts.dryRun) {
    blocks.push(
      '<h3>Verify before installing</h3>',
      `<p>The provenance file is signed with the GPG key ${code(facts.publicKey.fingerprint)}, published at ` +
        `${link(facts.publicKey.url, facts.publicKey.url)} (compare its fingerprint: ` +
        `${code('gpg --show-keys')}):</p>`,
      `<pre>${escapeHtml(chartVerifyCommands(facts).join('\n'))}</pre>`,
    );
  }
  if (facts.diff !== undefined) {
    const diff =
      facts.diff.length > MAX_DIFF ? `${facts.diff.slice(0, MAX_DIFF)}\n… (diff cut short)` : facts.diff;
    blocks.push(`<h3>index.yaml changes</h3>`, `<pre>${escapeHtml(diff || '(no change)')}</pre>`);
  }
  return blocks;
}

/** What a user runs to verify the chart's .prov with the published key before installing it. */
export function chartVerifyCommands(facts: SummaryFacts): string[] {
  const keyring = `${facts.repoName}.gpg`;
  const verify = `--version ${facts.version} --verify --keyring ${keyring}`;
  return [
    `curl -fsSL ${facts.publicKey?.url ?? ''} | gpg --dearmor > ${keyring}`,
    `helm repo add ${facts.repoName} ${facts.pagesUrl}`,
    `helm pull ${facts.repoName}/${facts.chart} ${verify}`,
    `helm install ${facts.chart} ${facts.repoName}/${facts.chart} ${verify}`,
  ];
}
