// What a publish writes on the Pages branch, computed from the branch as it is: index.yaml with the new
// entry merged in, the landing page (index.html, only where the branch has none, has ours, or the
// landing-page input says so), a first artifacthub-repo.yml, and with a GPG key its public half in pubkey.asc
// (merged with the keys already there). Pure but for reading the branch's files.
import { parse } from 'yaml';
import { readChartYaml } from './chart-yaml.js';
import { mergeIndex, readIndex, type MergeResult } from '../../shared/src/index-yaml.js';
import type { LandingMode } from './inputs.js';
import { landingPageToWrite, renderArtifactHubRepo, renderLandingPage } from './landing.js';
import { mergePublicKey, type PublicKey } from './openpgp.js';
import { PUBLIC_KEY_FILE } from './chart-signing.js';
import type { BranchState } from '../../shared/src/pages.js';

/** The Chart.yaml keys helm copies into an index entry. */
const METADATA_KEYS = [
  'name',
  'home',
  'sources',
  'version',
  'description',
  'keywords',
  'maintainers',
  'icon',
  'apiVersion',
  'condition',
  'tags',
  'appVersion',
  'deprecated',
  'annotations',
  'kubeVersion',
  'dependencies',
  'type',
];

export function indexEntry(
  chartYaml: string,
  digest: string,
  url: string,
  created: string,
): Record<string, unknown> {
  const fields = parse(chartYaml) as Record<string, unknown>;
  const entry: Record<string, unknown> = {};
  for (const key of METADATA_KEYS) {
    if (fields[key] !== undefined && fields[key] !== null) entry[key] = fields[key];
  }
  const meta = readChartYaml(chartYaml);
  entry.version = meta.version;
  if (meta.appVersion !== undefined) entry.appVersion = meta.appVersion;
  entry.urls = [url];
  entry.created = created;
  entry.digest = digest;
  return entry;
}

export interface PagesFacts {
  chart: string;
  /** The packaged Chart.yaml and the package's SHA-256 (hex). */
  chartYaml: string;
  digest: string;
  /** The entry's created time and the index's generated time. */
  created: string;
  pagesUrl: string;
  repoName: string;
  ociRegistry: string | undefined;
  landingPage: LandingMode;
  /** The key the .prov is signed with (gpg-private-key given), published as pubkey.asc. */
  publicKey?: PublicKey;
}

export interface PagesFiles {
  /** index.yaml as the branch has it. */
  before: string | undefined;
  merged: MergeResult;
  /** path → content, only what changes. */
  files: Record<string, string>;
  /** The branch has an index.html this action did not write, and it is left as it is. */
  foreignLandingPage: boolean;
}

/** The files to write for the package downloadable at `url`. */
export async function pagesFiles(state: BranchState, url: string, facts: PagesFacts): Promise<PagesFiles> {
  const before = await state.read('index.yaml');
  const entry = indexEntry(facts.chartYaml, facts.digest, url, facts.created);
  const merged = mergeIndex(before, entry, facts.created);
  const html = renderLandingPage(readIndex(merged.text), {
    pagesUrl: facts.pagesUrl,
    repoName: facts.repoName,
    primaryChart: facts.chart,
    ociRegistry: facts.ociRegistry,
    publicKey: facts.publicKey?.fingerprint,
  });
  const existingHtml = await state.read('index.html');
  const landing = landingPageToWrite(existingHtml, html, facts.landingPage);
  const files: Record<string, string> = {};
  if (merged.changed) files['index.yaml'] = merged.text;
  if (landing !== undefined) files['index.html'] = landing;
  if ((await state.read('artifacthub-repo.yml')) === undefined) {
    files['artifacthub-repo.yml'] = renderArtifactHubRepo(facts.pagesUrl);
  }
  const publicKey = await publicKeyFile(state, facts.publicKey);
  if (publicKey !== undefined) files[PUBLIC_KEY_FILE] = publicKey;
  const foreignLandingPage =
    facts.landingPage === 'auto' &&
    existingHtml !== undefined &&
    existingHtml !== html &&
    landing === undefined;
  return { before, merged, files, foreignLandingPage };
}

/** pubkey.asc with the signing key in it, or undefined when there is no key or the file already is that. */
export async function publicKeyFile(state: BranchState, key: PublicKey | undefined) {
  return key ? mergePublicKey(await state.read(PUBLIC_KEY_FILE), key) : undefined;
}
