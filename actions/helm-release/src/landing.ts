// The Pages branch's index.html and artifacthub-repo.yml, rendered from index.yaml on every publish: what a
// person finds at the repository URL. Pure: the index summary in, text out; every text from the index goes
// through escapeHtml. No script and nothing fetched from elsewhere (the CSP says so), so it renders offline.
// The page is marked as this action's (a generator meta tag): an index.html someone else wrote on the branch
// (docs, a homepage) is never replaced unless the landing-page input asks for it.
import semver from 'semver';
import { escapeHtml } from '../../shared/src/summary.js';
import type { IndexSummary, PublishedVersion } from '../../shared/src/index-yaml.js';
import type { LandingMode } from './inputs.js';

/** The mark of a page this action wrote. */
export const LANDING_MARKER = '<meta name="generator" content="opennebula-kubernetes helm-release">';
/** Pages written before the mark: the CSP line and the metadata link only this action's page has. */
const UNMARKED_SIGNATURE = [
  `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
  '(<a href="index.yaml">index.yaml</a>, <a href="artifacthub-repo.yml">Artifact Hub metadata</a>).</p>',
];

/** Whether an index.html is one this action wrote (marked, or from before the mark). */
export function isOurLandingPage(html: string): boolean {
  const head = html.slice(0, html.indexOf('</head>') >= 0 ? html.indexOf('</head>') : html.length);
  return head.includes(LANDING_MARKER) || UNMARKED_SIGNATURE.every((line) => html.includes(line));
}

/** The index.html to write given the branch's (undefined: none), or undefined to leave the branch's as it is. */
export function landingPageToWrite(
  existing: string | undefined,
  rendered: string,
  mode: LandingMode,
): string | undefined {
  if (mode === 'never' || existing === rendered) return undefined;
  if (existing === undefined || mode === 'always' || isOurLandingPage(existing)) return rendered;
  return undefined;
}

export interface LandingOptions {
  /** The repository URL users add (https://owner.github.io/repo). */
  pagesUrl: string;
  /** The name for `helm repo add`. */
  repoName: string;
  /** Shown first; the other charts follow by name. */
  primaryChart?: string;
  /** oci://host/path, when charts are pushed there too. */
  ociRegistry?: string;
  /** The fingerprint of the key the charts' .prov files are signed with, published as pubkey.asc. */
  publicKey?: string;
}

/** Versions newest first (semver), invalid ones last in index order. */
export function sortVersions(versions: PublishedVersion[]): PublishedVersion[] {
  return [...versions].sort((a, b) => {
    const va = semver.valid(a.version);
    const vb = semver.valid(b.version);
    if (va && vb) return semver.rcompare(va, vb);
    if (va) return -1;
    if (vb) return 1;
    return 0;
  });
}

/** The newest version that is neither deprecated nor a pre-release, else the newest. */
export function latestVersion(versions: PublishedVersion[]): PublishedVersion | undefined {
  const sorted = sortVersions(versions);
  return (
    sorted.find((v) => !v.deprecated && semver.valid(v.version) && !semver.prerelease(v.version)) ?? sorted[0]
  );
}

/** The date part of an RFC 3339 timestamp, or the text as it is. */
function day(created: string | undefined): string {
  if (!created) return '';
  const match = /^(\d{4}-\d{2}-\d{2})/.exec(created);
  return match ? match[1]! : created;
}

/** A name helm accepts for `helm repo add` / a release: lowercase letters, digits and dashes. */
export function repoNameFor(repository: string): string {
  const name = (repository.split('/')[1] ?? repository).toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  return name.replace(/^-+|-+$/g, '') || 'charts';
}

function chartSection(name: string, versions: PublishedVersion[], options: LandingOptions): string {
  const latest = latestVersion(versions);
  const description = latest?.description ?? '';
  const repoName = options.repoName;
  const commands = [
    `helm repo add ${repoName} ${options.pagesUrl}`,
    'helm repo update',
    `helm install ${name} ${repoName}/${name}${latest ? ` --version ${latest.version}` : ''}`,
  ];
  const oci = options.ociRegistry
    ? `<p>Also in an OCI registry:</p>\n<pre><code>${escapeHtml(
        `helm install ${name} ${options.ociRegistry}/${name}${latest ? ` --version ${latest.version}` : ''}`,
      )}</code></pre>\n`
    : '';
  const rows = sortVersions(versions)
    .map((v) => {
      const url = v.urls?.find((u) => /^https?:\/\//i.test(u));
      const version = url
        ? `<a href="${escapeHtml(url)}">${escapeHtml(v.version)}</a>`
        : escapeHtml(v.version);
      const note = v.deprecated ? ' <span class="note">deprecated</span>' : '';
      return (
        `<tr><td>${version}${note}</td><td>${escapeHtml(v.appVersion ?? '')}</td>` +
        `<td><time datetime="${escapeHtml(v.created ?? '')}">${escapeHtml(day(v.created))}</time></td></tr>`
      );
    })
    .join('\n');
  return `<section id="${escapeHtml(name)}">
<h2>${escapeHtml(name)}</h2>
<p class="description">${escapeHtml(description)}</p>
<pre><code>${escapeHtml(commands.join('\n'))}</code></pre>
${oci}<table>
<thead><tr><th>Chart version</th><th>App version</th><th>Published</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</section>`;
}

export function renderLandingPage(index: IndexSummary, options: LandingOptions): string {
  const names = [...index.keys()].sort((a, b) => {
    if (a === options.primaryChart) return -1;
    if (b === options.primaryChart) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  const title =
    options.primaryChart && index.has(options.primaryChart) ? options.primaryChart : options.repoName;
  const sections = names.map((name) => chartSection(name, index.get(name) ?? [], options)).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
${LANDING_MARKER}
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(title)} Helm chart repository</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1b1f24; }
pre { background: #f3f4f6; padding: 0.75rem 1rem; overflow-x: auto; border-radius: 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.3rem 0.8rem 0.3rem 0; border-bottom: 1px solid #e5e7eb; }
.note { color: #9a3412; font-size: 0.85em; }
</style>
</head>
<body>
<h1>${escapeHtml(title)} Helm chart repository</h1>
<p>Helm repository at <code>${escapeHtml(options.pagesUrl)}</code>
(<a href="index.yaml">index.yaml</a>, <a href="artifacthub-repo.yml">Artifact Hub metadata</a>).</p>
${verifySection(options, title === options.primaryChart ? title : 'CHART')}${sections}
</body>
</html>
`;
}

/** How to verify the charts' .prov with the published key (helm reads binary keyrings), when they are signed. */
function verifySection(options: LandingOptions, chart: string): string {
  if (!options.publicKey) return '';
  const keyring = `${options.repoName}.gpg`;
  const commands = [
    `curl -fsSL ${options.pagesUrl}/pubkey.asc | gpg --dearmor > ${keyring}`,
    `helm install ${chart} ${options.repoName}/${chart} --verify --keyring ${keyring}`,
  ];
  return `<p>Every package has a provenance file signed with the GPG key <a href="pubkey.asc">pubkey.asc</a>
(fingerprint <code>${escapeHtml(options.publicKey)}</code>); verify before installing:</p>
<pre><code>${escapeHtml(commands.join('\n'))}</code></pre>
`;
}

/**
 * A first artifacthub-repo.yml (Artifact Hub's repository metadata). Only written when the branch has none:
 * the maintainers add the repositoryID Artifact Hub gives them there, and it must never be overwritten.
 */
export function renderArtifactHubRepo(pagesUrl: string): string {
  return `# Artifact Hub repository metadata for ${pagesUrl}
# (https://artifacthub.io/docs/topics/repositories/helm-charts/). Add the repositoryID Artifact Hub shows
# for this repository, and owners (name, email), to claim it; the release action keeps this file as edited.
owners: []
`;
}
