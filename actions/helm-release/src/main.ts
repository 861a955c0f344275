// The entry, as its list of steps: inputs → helm → the Pages branch → package → conflicts → (dry run: the
// diff) → release, OCI, Pages → outputs and summary. Every conflict is found before anything is published,
// so a failing run publishes nothing; each step is a function over the facts the earlier ones found.
import * as core from '@actions/core';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMain } from '../../shared/src/action.js';
import { GitHubClient } from '../../shared/src/github-api.js';
import { writeSummary } from '../../shared/src/summary.js';
import { readChartYaml } from './chart-yaml.js';
import { Helm, installHelm } from './helm.js';
import { chartVersions, type PublishedVersion } from '../../shared/src/index-yaml.js';
import { parseInputs, type Inputs } from './inputs.js';
import { repoNameFor } from './landing.js';
import { highestVersion, nextVersion } from './next-version.js';
import { ociTarget, publishedLayer, pushChart, type OciTarget } from './oci.js';
import { pagesFiles, publicKeyFile, type PagesFacts } from './pages-files.js';
import { PagesRepository, type BranchState } from '../../shared/src/pages.js';
import { assetSha256, findRelease, listReleases, publishRelease, releaseTag } from './releases.js';
import { buildDependencies, sourceDateEpoch, stageChart } from './staging.js';
import { chooseSigner, guardSecrets } from '../../shared/src/signer.js';
import { PUBLIC_KEY_FILE, guardGpg, packageSignArgs, signOciChart } from './chart-signing.js';
import { summaryBlocks, type SummaryFacts } from './summary.js';
import { dryRun, foreignPageNote, type Existing } from './dry-run.js';

interface Chart {
  name: string;
  /** Chart.yaml's version (the floor of the next version). */
  version: string;
  appVersion: string | undefined;
}

interface Packaged {
  version: string;
  path: string;
  digest: string;
  chartYaml: string;
  /** The .prov beside the package (gpg-private-key given), else undefined. */
  prov: string | undefined;
}

const log = (message: string) => core.info(message);

export function run(): Promise<void> {
  return runMain(main);
}

async function main(): Promise<void> {
  const inputs = parseInputs((name) => core.getInput(name), process.env);
  guardSecrets(inputs.signing, process.env);
  guardGpg(inputs.gpg, process.env);
  if (inputs.githubToken) {
    core.setSecret(inputs.githubToken);
    core.setSecret(PagesRepository.authorizationValue(inputs.githubToken));
  }
  const chart = readChart(inputs);
  const temp = process.env.RUNNER_TEMP || tmpdir();
  mkdirSync(temp, { recursive: true });
  const work = mkdtempSync(join(temp, 'helm-release-'));
  const target = {
    remote: inputs.gitRemote,
    branch: inputs.pagesBranch,
    serverUrl: inputs.serverUrl,
    token: inputs.githubToken,
  };
  const pages = new PagesRepository(target, work);
  try {
    await publish(inputs, chart, work, join(temp, 'helm-release-packages'), pages);
  } finally {
    pages.close();
    rmSync(work, { recursive: true, force: true });
  }
}

async function publish(
  inputs: Inputs,
  chart: Chart,
  work: string,
  packages: string,
  pages: PagesRepository,
): Promise<void> {
  const helm = await setUpHelm(inputs, work);
  const branch = await readBranch(inputs, pages);
  const published = chartVersions(await branch.read('index.yaml'), chart.name);
  core.info(`${chart.name}: ${published.length} versions in index.yaml`);
  const notes: string[] = [];
  const epoch = await sourceDateEpoch(inputs.chartDir);
  const packageAt = async (version: string, lint: boolean) =>
    packageChart(helm, inputs, chart, version, lint, epoch, work, packages);
  const pkg = await core.group('Lint and package', () =>
    choosePackage(packageAt, inputs, chart, published, notes),
  );
  core.info(`${chart.name} ${pkg.version}: ${pkg.path} (sha256:${pkg.digest})`);
  const client = new GitHubClient(inputs.githubApiUrl, inputs.githubToken);
  const existing = await findExisting(inputs, client, chart.name, pkg, published);
  const facts: PagesFacts = {
    chart: chart.name,
    chartYaml: pkg.chartYaml,
    digest: pkg.digest,
    created: new Date().toISOString(),
    pagesUrl: inputs.pagesUrl,
    repoName: repoNameFor(inputs.repository),
    ociRegistry: inputs.ociRegistry,
    landingPage: inputs.landingPage,
    publicKey: inputs.gpg?.publicKey,
  };
  await publicKeyFile(branch, facts.publicKey); // a pubkey.asc that holds no public key: refused, now
  const summary = summaryFacts(inputs, chart, pkg, existing, notes);
  setPackageOutputs(pkg, summary);
  if (inputs.dryRun) return dryRun(inputs, chart.name, pkg, branch, existing, facts, work, summary);

  const outcome = await core.group(`GitHub release ${releaseTag(chart.name, pkg.version)}`, () =>
    publishRelease(client, releaseRequest(inputs, chart, pkg), existing.releases, log),
  );
  const oci = existing.oci;
  const pushed = oci
    ? await core.group(`Push ${oci.ref}`, () => pushChart(helm, oci, pkg.version, pkg.path, pkg.digest, log))
    : false;
  const commit = await core.group(`Publish index.yaml on ${inputs.pagesBranch}`, () =>
    publishPages(pages, outcome.asset.browser_download_url, facts, `${chart.name} ${pkg.version}`, notes),
  );
  const signError = oci ? await signChart(inputs, oci, pkg.version, summary.notes) : undefined;
  const released = outcome.published || pushed || commit !== undefined;
  core.setOutput('released', released ? 'true' : 'false');
  core.setOutput('release-url', outcome.release.html_url);
  await writeSummary(summaryBlocks({ ...summary, released, releaseUrl: outcome.release.html_url }));
  if (signError) throw signError; // after the summary, which says how to sign again and verify
}

/** The cosign signature of the OCI chart, or a note saying why there is none; a failure is returned. */
async function signChart(
  inputs: Inputs,
  oci: OciTarget,
  version: string,
  notes: string[],
): Promise<Error | undefined> {
  const signer = await chooseSigner(inputs.signing, process.env);
  if (typeof signer === 'string') {
    core.setOutput('oci-signature', '');
    notes.push(`${oci.ref}: ${signer}.`);
    return undefined;
  }
  const cosign = { version: inputs.signing.cosignVersion, downloadUrl: inputs.signing.cosignDownloadUrl };
  const { signature, verify, error } = await signOciChart(oci, version, signer, cosign);
  core.setOutput('oci-signature', signature ?? '');
  notes.push(
    error ? `Signing failed: ${error.message}` : `${oci.ref} is signed (${signature}).`,
    `Verify the OCI chart with: ${verify.join('; ')}`,
  );
  return error;
}

function readChart(inputs: Inputs): Chart {
  const path = join(inputs.chartDir, 'Chart.yaml');
  if (!existsSync(path)) throw new Error(`chart: ${inputs.chartDir} has no Chart.yaml`);
  const meta = readChartYaml(readFileSync(path, 'utf8'), `chart: ${inputs.chartDir}/Chart.yaml`);
  return { name: meta.name, version: meta.version, appVersion: inputs.appVersion || meta.appVersion };
}

async function setUpHelm(inputs: Inputs, work: string): Promise<Helm> {
  return core.group(`Install helm ${inputs.helmVersion}`, async () => {
    const helm = new Helm(await installHelm(inputs.helmVersion, inputs.helmDownloadUrl), {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? work,
      HELM_CACHE_HOME: join(work, 'helm', 'cache'),
      HELM_CONFIG_HOME: join(work, 'helm', 'config'),
      HELM_DATA_HOME: join(work, 'helm', 'data'),
    });
    await helm.checkVersion(inputs.helmVersion);
    return helm;
  });
}

async function readBranch(inputs: Inputs, pages: PagesRepository): Promise<BranchState> {
  await pages.init();
  return core.group(`Read ${inputs.pagesBranch} from ${inputs.gitRemote}`, async () => {
    const state = await pages.fetch();
    core.info(
      state.tip ? `${inputs.pagesBranch} is at ${state.tip}` : `${inputs.pagesBranch} does not exist yet`,
    );
    return state;
  });
}

/** Stages, builds missing dependencies, lints (when asked) and packages one version. */
async function packageChart(
  helm: Helm,
  inputs: Inputs,
  chart: Chart,
  version: string,
  lint: boolean,
  epoch: number,
  work: string,
  packages: string,
): Promise<Packaged> {
  const staged = stageChart(inputs.chartDir, chart.name, version, chart.appVersion, epoch, work);
  let sign: ReturnType<typeof packageSignArgs> | undefined;
  try {
    const built = await buildDependencies(helm, inputs.chartDir, staged, epoch);
    if (built.length > 0) core.info(`Built the dependencies charts/ did not hold: ${built.join(', ')}`);
    if (lint) await helm.lint(staged.dir);
    sign = inputs.gpg ? packageSignArgs(inputs.gpg, work) : undefined;
    const { path, digest, prov } = await helm.package(staged.dir, packages, sign);
    return { version, path, digest, prov, chartYaml: readFileSync(join(staged.dir, 'Chart.yaml'), 'utf8') };
  } finally {
    sign?.remove();
    staged.cleanup();
  }
}

/** The explicit version; else the highest published one when it packages to the same bytes; else the next. */
async function choosePackage(
  packageAt: (version: string, lint: boolean) => Promise<Packaged>,
  inputs: Inputs,
  chart: Chart,
  published: PublishedVersion[],
  notes: string[],
): Promise<Packaged> {
  if (inputs.chartVersion) return packageAt(inputs.chartVersion, true);
  const versions = published.map((v) => v.version);
  const highest = highestVersion(versions);
  if (highest) {
    const again = await packageAt(highest, true);
    if (published.find((v) => v.version === highest)?.digest === again.digest) {
      notes.push(`${chart.name} ${highest} is this chart exactly; no new version is needed.`);
      return again;
    }
    rmSync(again.path, { force: true });
  }
  return packageAt(nextVersion(versions, chart.version, inputs.bump), !highest);
}

const immutable = 'published chart versions are immutable';

/** Every conflict with what is published (index, release asset, OCI layer), before anything is published. */
async function findExisting(
  inputs: Inputs,
  client: GitHubClient,
  chart: string,
  pkg: Packaged,
  published: PublishedVersion[],
): Promise<Existing> {
  const indexed = published.find((v) => v.version === pkg.version);
  if (indexed && indexed.digest !== pkg.digest) {
    throw new Error(
      `${chart} ${pkg.version} is already in index.yaml with digest ${indexed.digest ?? '(none)'}, but this ` +
        `package has digest ${pkg.digest}; ${immutable}: publish a new version`,
    );
  }
  const releases = inputs.githubToken
    ? await core.group(`List the releases of ${inputs.repository}`, async () => {
        const all = await listReleases(client, inputs.repository);
        core.info(`${all.length} releases`);
        return all;
      })
    : [];
  const tag = releaseTag(chart, pkg.version);
  const release = findRelease(releases, tag).published;
  const fileName = pkg.path.split('/').pop()!;
  const asset = release?.assets.find((a) => a.name === fileName);
  const theirs = asset ? await assetSha256(client, asset) : pkg.digest;
  if (theirs !== pkg.digest) {
    throw new Error(
      `release ${tag} already has ${fileName} with digest sha256:${theirs}, but this package has ` +
        `sha256:${pkg.digest}; ${immutable}: publish a new chart version`,
    );
  }
  const oci = inputs.ociRegistry ? ociTarget(inputs.ociRegistry, chart, pkg.version) : undefined;
  const layer = oci ? await publishedLayer(oci, pkg.version) : undefined;
  if (oci && layer && layer !== `sha256:${pkg.digest}`) {
    throw new Error(
      `${oci.ref} is already in the registry with chart digest ${layer}, but this package has ` +
        `sha256:${pkg.digest}; ${immutable}`,
    );
  }
  return { releases, release, asset, oci };
}

function summaryFacts(
  inputs: Inputs,
  chart: Chart,
  pkg: Packaged,
  existing: Existing,
  notes: string[],
): SummaryFacts {
  return {
    chart: chart.name,
    version: pkg.version,
    appVersion: chart.appVersion,
    digest: pkg.digest,
    released: false,
    dryRun: inputs.dryRun,
    releaseUrl: existing.release?.html_url,
    indexUrl: `${inputs.pagesUrl}/index.yaml`,
    pagesUrl: inputs.pagesUrl,
    ociRef: existing.oci?.ref,
    repoName: repoNameFor(inputs.repository),
    publicKey: inputs.gpg && {
      url: `${inputs.pagesUrl}/${PUBLIC_KEY_FILE}`,
      fingerprint: inputs.gpg.publicKey.fingerprint,
    },
    notes,
  };
}

function setPackageOutputs(pkg: Packaged, summary: SummaryFacts): void {
  core.setOutput('provenance-file', pkg.prov ?? '');
  core.setOutput('chart-version', pkg.version);
  core.setOutput('package', pkg.path);
  core.setOutput('digest', pkg.digest);
  core.setOutput('index-url', summary.indexUrl);
  core.setOutput('oci-ref', summary.ociRef ?? '');
  core.setOutput('public-key-url', summary.publicKey?.url ?? '');
}

function releaseRequest(inputs: Inputs, chart: Chart, pkg: Packaged) {
  const app = chart.appVersion ? ` (app version ${chart.appVersion})` : '';
  return {
    repository: inputs.repository,
    tag: releaseTag(chart.name, pkg.version),
    packagePath: pkg.path,
    provPath: pkg.prov,
    digest: pkg.digest,
    targetCommitish: process.env.GITHUB_SHA,
    name: `${chart.name} ${pkg.version}`,
    body: `Helm chart ${chart.name} ${pkg.version}${app}.\n\nsha256:${pkg.digest}`,
    makeLatest: inputs.makeLatest,
  };
}

/** Pushes the Pages files for the package at `url`; returns the commit, or undefined when nothing changed. */
async function publishPages(
  pages: PagesRepository,
  url: string,
  facts: PagesFacts,
  what: string,
  notes: string[],
): Promise<string | undefined> {
  let foreign = false;
  const commit = await pages.publish(
    async (state) => {
      const { files, foreignLandingPage } = await pagesFiles(state, url, facts);
      foreign = foreignLandingPage;
      if (Object.keys(files).length === 0) return undefined;
      return { files, message: `Publish ${what}` };
    },
    undefined,
    log,
  );
  const branch = pages.branch;
  if (foreign) {
    notes.push(foreignPageNote(branch));
    core.info(foreignPageNote(branch));
  }
  core.info(commit ? `${branch} is now at ${commit}` : `${branch} already lists ${what}`);
  return commit;
}
