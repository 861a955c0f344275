// Wiring only: inputs → helm → version → package → checks → release, OCI, Pages → outputs and summary.
// Every conflict is found before anything is published, so a failing run publishes nothing.
import * as core from '@actions/core';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runMain } from '../../shared/src/action.js';
import { run as exec } from '../../shared/src/exec.js';
import { GitHubClient } from '../../shared/src/github-api.js';
import { writeSummary } from '../../shared/src/summary.js';
import { readChartYaml } from './chart-yaml.js';
import { Helm, installHelm, sourceDateEpoch, stageChart } from './helm.js';
import { chartVersions, mergeIndex, readIndex, type PublishedVersion } from './index-yaml.js';
import { parseInputs, type Inputs } from './inputs.js';
import { renderArtifactHubRepo, renderLandingPage, repoNameFor } from './landing.js';
import { highestVersion, nextVersion } from './next-version.js';
import { ociTarget, publishedLayer, pushChart } from './oci.js';
import { PagesRepository, type Change } from './pages.js';
import {
  assetSha256,
  findRelease,
  listReleases,
  publishRelease,
  releaseTag,
  type Release,
} from './releases.js';
import { summaryBlocks } from './summary.js';

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

interface Packaged {
  version: string;
  path: string;
  digest: string;
  chartYaml: string;
}

export function run(): Promise<void> {
  return runMain(main);
}

async function main(): Promise<void> {
  const inputs = parseInputs((name) => core.getInput(name), process.env);
  if (inputs.githubToken) {
    core.setSecret(inputs.githubToken);
    core.setSecret(PagesRepository.authorizationValue(inputs.githubToken));
  }
  if (!existsSync(join(inputs.chartDir, 'Chart.yaml'))) {
    throw new Error(`chart: ${inputs.chartDir} has no Chart.yaml`);
  }
  const meta = readChartYaml(
    readFileSync(join(inputs.chartDir, 'Chart.yaml'), 'utf8'),
    `chart: ${inputs.chartDir}/Chart.yaml`,
  );
  const appVersion = inputs.appVersion || meta.appVersion;
  const temp = process.env.RUNNER_TEMP || tmpdir();
  mkdirSync(temp, { recursive: true });
  const work = mkdtempSync(join(temp, 'helm-release-'));
  const packages = join(temp, 'helm-release-packages');
  const pages = new PagesRepository(
    {
      remote: inputs.gitRemote,
      branch: inputs.pagesBranch,
      serverUrl: inputs.serverUrl,
      token: inputs.githubToken,
    },
    work,
  );
  try {
    await publish(inputs, meta.name, appVersion, work, packages, pages);
  } finally {
    pages.close();
    rmSync(work, { recursive: true, force: true });
  }
}

async function publish(
  inputs: Inputs,
  chart: string,
  appVersion: string | undefined,
  work: string,
  packages: string,
  pages: PagesRepository,
): Promise<void> {
  const helmBinary = await core.group(`Install helm ${inputs.helmVersion}`, () =>
    installHelm(inputs.helmVersion, inputs.helmDownloadUrl),
  );
  const helm = new Helm(helmBinary, {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? work,
    HELM_CACHE_HOME: join(work, 'helm', 'cache'),
    HELM_CONFIG_HOME: join(work, 'helm', 'config'),
    HELM_DATA_HOME: join(work, 'helm', 'data'),
  });
  const epoch = await sourceDateEpoch(inputs.chartDir);
  const chartYamlVersion = readChartYaml(readFileSync(join(inputs.chartDir, 'Chart.yaml'), 'utf8')).version;

  await pages.init();
  const branch = await core.group(`Read ${inputs.pagesBranch} from ${inputs.gitRemote}`, async () => {
    const state = await pages.fetch();
    core.info(
      state.tip ? `${inputs.pagesBranch} is at ${state.tip}` : `${inputs.pagesBranch} does not exist yet`,
    );
    return state;
  });
  const indexBefore = await branch.read('index.yaml');
  const published = chartVersions(indexBefore, chart);
  core.info(`${chart}: ${published.length} versions in index.yaml`);

  const packageAt = async (version: string, lint: boolean): Promise<Packaged> => {
    const staged = stageChart(inputs.chartDir, chart, version, appVersion, epoch, work);
    try {
      if (lint) await helm.lint(staged.dir);
      const { path, digest } = await helm.package(staged.dir, packages);
      return { version, path, digest, chartYaml: readFileSync(join(staged.dir, 'Chart.yaml'), 'utf8') };
    } finally {
      staged.cleanup();
    }
  };

  const notes: string[] = [];
  const pkg = await core.group('Lint and package', async () => {
    if (inputs.chartVersion) return packageAt(inputs.chartVersion, true);
    // A re-run of a publish: the highest published version packages to the same bytes. Nothing new.
    const highest = highestVersion(published.map((v) => v.version));
    if (highest) {
      const again = await packageAt(highest, true);
      if (published.find((v) => v.version === highest)?.digest === again.digest) {
        notes.push(`${chart} ${highest} is this chart exactly; no new version is needed.`);
        return again;
      }
      rmSync(again.path, { force: true });
    }
    const version = nextVersion(
      published.map((v) => v.version),
      chartYamlVersion,
      inputs.bump,
    );
    return packageAt(version, !highest);
  });
  core.info(`${chart} ${pkg.version}: ${pkg.path} (sha256:${pkg.digest})`);
  const tag = releaseTag(chart, pkg.version);
  const fileName = pkg.path.split('/').pop()!;

  // Every conflict, before anything is published.
  const existing: PublishedVersion | undefined = published.find((v) => v.version === pkg.version);
  if (existing && existing.digest !== pkg.digest) {
    throw new Error(
      `${chart} ${pkg.version} is already in index.yaml with digest ${existing.digest ?? '(none)'}, but this ` +
        `package has digest ${pkg.digest}; published chart versions are immutable: publish a new version`,
    );
  }
  const client = new GitHubClient(inputs.githubApiUrl, inputs.githubToken);
  let releases: Release[] = [];
  if (inputs.githubToken) {
    releases = await core.group(`List the releases of ${inputs.repository}`, async () => {
      const all = await listReleases(client, inputs.repository);
      core.info(`${all.length} releases`);
      return all;
    });
  }
  const found = findRelease(releases, tag).published;
  const foundAsset = found?.assets.find((a) => a.name === fileName);
  if (foundAsset) {
    const theirs = await assetSha256(client, foundAsset);
    if (theirs !== pkg.digest) {
      throw new Error(
        `release ${tag} already has ${fileName} with digest sha256:${theirs}, but this package has ` +
          `sha256:${pkg.digest}; published chart versions are immutable: publish a new chart version`,
      );
    }
  }
  const oci = inputs.ociRegistry ? ociTarget(inputs.ociRegistry, chart, pkg.version) : undefined;
  if (oci) {
    const layer = await publishedLayer(oci, pkg.version);
    if (layer && layer !== `sha256:${pkg.digest}`) {
      throw new Error(
        `${oci.ref} is already in the registry with chart digest ${layer}, but this package has ` +
          `sha256:${pkg.digest}; published chart versions are immutable`,
      );
    }
  }

  const created = new Date().toISOString();
  const generated = created;
  const repoName = repoNameFor(inputs.repository);
  const pagesFiles = async (state: Parameters<Change>[0], url: string) => {
    const before = await state.read('index.yaml');
    const merged = mergeIndex(before, indexEntry(pkg.chartYaml, pkg.digest, url, created), generated);
    const html = renderLandingPage(readIndex(merged.text), {
      pagesUrl: inputs.pagesUrl,
      repoName,
      primaryChart: chart,
      ociRegistry: inputs.ociRegistry,
    });
    const files: Record<string, string> = {};
    if (merged.changed) files['index.yaml'] = merged.text;
    if ((await state.read('index.html')) !== html) files['index.html'] = html;
    if ((await state.read('artifacthub-repo.yml')) === undefined) {
      files['artifacthub-repo.yml'] = renderArtifactHubRepo(inputs.pagesUrl);
    }
    return { before, merged, files };
  };

  const indexUrl = `${inputs.pagesUrl}/index.yaml`;
  core.setOutput('chart-version', pkg.version);
  core.setOutput('package', pkg.path);
  core.setOutput('digest', pkg.digest);
  core.setOutput('index-url', indexUrl);
  core.setOutput('oci-ref', oci?.ref ?? '');

  if (inputs.dryRun) {
    const url =
      foundAsset?.browser_download_url ??
      `${inputs.serverUrl}/${inputs.repository}/releases/download/${encodeURIComponent(tag)}/${fileName}`;
    const { before, merged } = await pagesFiles(branch, url);
    const diff = await indexDiff(work, before ?? '', merged.text);
    core.startGroup('index.yaml changes (dry run: nothing is published)');
    core.info(diff || '(no change)');
    core.endGroup();
    core.setOutput('released', 'false');
    core.setOutput('release-url', found?.html_url ?? '');
    await writeSummary(
      summaryBlocks({
        chart,
        version: pkg.version,
        appVersion,
        digest: pkg.digest,
        released: false,
        dryRun: true,
        releaseUrl: found?.html_url,
        indexUrl,
        pagesUrl: inputs.pagesUrl,
        ociRef: oci?.ref,
        diff,
        notes,
      }),
    );
    return;
  }

  const outcome = await core.group(`GitHub release ${tag}`, () =>
    publishRelease(
      client,
      {
        repository: inputs.repository,
        tag,
        packagePath: pkg.path,
        digest: pkg.digest,
        targetCommitish: process.env.GITHUB_SHA,
        name: `${chart} ${pkg.version}`,
        body: `Helm chart ${chart} ${pkg.version}${appVersion ? ` (app version ${appVersion})` : ''}.\n\nsha256:${pkg.digest}`,
      },
      releases,
      (message) => core.info(message),
    ),
  );
  let pushed = false;
  if (oci) {
    pushed = await core.group(`Push ${oci.ref}`, () =>
      pushChart(helm, oci, pkg.version, pkg.path, pkg.digest, (message) => core.info(message)),
    );
  }
  const commit = await core.group(`Publish index.yaml on ${inputs.pagesBranch}`, () =>
    pages.publish(
      async (state) => {
        const { files } = await pagesFiles(state, outcome.asset.browser_download_url);
        if (Object.keys(files).length === 0) return undefined;
        return { files, message: `Publish ${chart} ${pkg.version}` };
      },
      undefined,
      (message) => core.info(message),
    ),
  );
  core.info(
    commit
      ? `${inputs.pagesBranch} is now at ${commit}`
      : `${inputs.pagesBranch} already lists ${chart} ${pkg.version}`,
  );
  const released = outcome.published || pushed || commit !== undefined;
  core.setOutput('released', released ? 'true' : 'false');
  core.setOutput('release-url', outcome.release.html_url);
  await writeSummary(
    summaryBlocks({
      chart,
      version: pkg.version,
      appVersion,
      digest: pkg.digest,
      released,
      dryRun: false,
      releaseUrl: outcome.release.html_url,
      indexUrl,
      pagesUrl: inputs.pagesUrl,
      ociRef: oci?.ref,
      notes,
    }),
  );
}

/** `git diff --no-index` of the two index texts (exit code 1 means "they differ"). */
async function indexDiff(work: string, before: string, after: string): Promise<string> {
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
