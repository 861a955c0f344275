// Inputs → a typed, validated object. Pure (reads nothing but the two functions it is given), so every
// rule is unit-tested, and every error names the input it is about. Nothing is published before this passes.
import { isAbsolute, resolve } from 'node:path';
import semver from 'semver';
import { parseBaseUrl, parseBoolean } from '../../shared/src/inputs.js';
import { parseImageReference } from '../../shared/src/registry.js';
import { parseSigning, type SigningInputs } from '../../shared/src/signer.js';
import { parseGpg, type GpgInputs } from './chart-signing.js';

export type Bump = 'patch' | 'minor' | 'major';
/** auto: write index.html where the branch has none or ours; always: replace another too; never. */
export type LandingMode = 'auto' | 'always' | 'never';
/** GitHub's make_latest for the chart's release. */
export type MakeLatest = 'true' | 'false' | 'legacy';

export interface Inputs {
  /** Absolute path of the chart directory. */
  chartDir: string;
  /** Empty: keep Chart.yaml's appVersion. */
  appVersion: string;
  /** Explicit version, or undefined to bump. */
  chartVersion: string | undefined;
  bump: Bump;
  pagesBranch: string;
  pagesUrl: string;
  /** owner/name */
  repository: string;
  githubToken: string;
  githubApiUrl: string;
  /** Server URL of the repository (https://github.com), for release links. */
  serverUrl: string;
  gitRemote: string;
  /** oci://host/path without trailing slash, or undefined. */
  ociRegistry: string | undefined;
  helmVersion: string;
  helmDownloadUrl: string;
  dryRun: boolean;
  landingPage: LandingMode;
  makeLatest: MakeLatest;
  /** cosign signature of the OCI chart (when oci-registry is set). */
  signing: SigningInputs;
  /** The GPG key that signs the .prov of the Pages release, or undefined (no .prov). */
  gpg: GpgInputs | undefined;
}

export const DEFAULTS = {
  chart: 'chart/opennebula',
  bump: 'patch',
  'pages-branch': 'gh-pages',
  'helm-version': '4.2.4',
  'helm-download-url': 'https://get.helm.sh',
  'landing-page': 'auto',
  'make-latest': 'false',
  sign: 'auto',
  'transparency-log': 'true',
  'cosign-version': 'v3.1.3',
  'cosign-download-url': 'https://github.com/sigstore/cosign/releases/download',
} as const;

const BUMPS = ['patch', 'minor', 'major'];
const LANDING_MODES = ['auto', 'always', 'never'];
const MAKE_LATEST = ['true', 'false', 'legacy'];

/** One of `allowed` (case-insensitive), else an error naming the input. */
function oneOf(name: string, text: string, allowed: string[]): string {
  const value = text.toLowerCase();
  if (!allowed.includes(value)) throw new Error(`${name}: "${text}" is not one of ${allowed.join(', ')}`);
  return value;
}

/**
 * The helm version to install, without v. Helm 3 dates every file in a chart archive by the clock, so a
 * re-run would package other bytes and be refused as a changed version: Helm 4 is required.
 */
export function parseHelmVersion(text: string): string {
  const version = text.replace(/^v/, '');
  if (semver.valid(version) !== version) {
    throw new Error(`helm-version: "${text}" is not a version (e.g. 4.2.4)`);
  }
  if (semver.major(version) < 4) {
    throw new Error(
      `helm-version: "${text}" is Helm ${semver.major(version)}, which writes the packaging time into every ` +
        'chart archive, so a re-run would package other bytes than the published ones; use Helm 4 (4.0.0 or later)',
    );
  }
  return version;
}
const REPOSITORY_RE = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
/** OpenNebula versions: X.Y.Z or X.Y.Z.W, optionally with a pre-release suffix (7.4.0-rc1). */
const APP_VERSION_RE = /^\d+\.\d+\.\d+(?:\.\d+)?(?:-[0-9A-Za-z.-]+)?$/;

/** A branch name git accepts (git check-ref-format rules, the common subset). */
export function isValidBranch(name: string): boolean {
  return (
    name.length > 0 &&
    ![...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f) &&
    !/[\s~^:?*[\\]/.test(name) &&
    !name.startsWith('-') &&
    !name.startsWith('/') &&
    !name.endsWith('/') &&
    !name.endsWith('.') &&
    !name.endsWith('.lock') &&
    !name.includes('..') &&
    !name.includes('//') &&
    !name.includes('@{') &&
    name !== '@'
  );
}

/** https://<owner>.github.io/<repo>, or https://<owner>.github.io for the <owner>.github.io repository. */
export function defaultPagesUrl(repository: string): string {
  const [owner = '', name = ''] = repository.split('/');
  const host = `${owner.toLowerCase()}.github.io`;
  return name.toLowerCase() === host ? `https://${host}` : `https://${host}/${name}`;
}

export function parseOciRegistry(text: string): string | undefined {
  const value = text.trim().replace(/\/+$/, '');
  if (!value) return undefined;
  if (!value.startsWith('oci://')) {
    throw new Error(`oci-registry: "${text}" must start with oci:// (e.g. oci://ghcr.io/owner/charts)`);
  }
  const rest = value.slice('oci://'.length);
  if (!rest.includes('/')) {
    throw new Error(
      `oci-registry: "${text}" needs a registry host and a path (e.g. oci://ghcr.io/owner/charts)`,
    );
  }
  parseImageReference(`${rest}/chart`, 'oci-registry');
  return value;
}

export function parseInputs(
  get: (name: string) => string,
  env: Record<string, string | undefined> = {},
): Inputs {
  const input = (name: string) => get(name).trim();
  const chart = input('chart') || DEFAULTS.chart;
  const workspace = env.GITHUB_WORKSPACE || process.cwd();
  const chartDir = isAbsolute(chart) ? chart : resolve(workspace, chart);

  const appVersion = input('app-version');
  if (appVersion && !APP_VERSION_RE.test(appVersion)) {
    throw new Error(`app-version: "${appVersion}" is not a version (e.g. 7.4.0 or 6.10.0.1)`);
  }
  const explicit = input('chart-version');
  let chartVersion: string | undefined;
  if (explicit) {
    if (semver.valid(explicit) !== explicit) {
      throw new Error(`chart-version: "${explicit}" is not a semantic version (e.g. 1.2.3)`);
    }
    chartVersion = explicit;
  }
  const bump = oneOf('bump', input('bump') || DEFAULTS.bump, BUMPS);
  const pagesBranch = input('pages-branch') || DEFAULTS['pages-branch'];
  if (!isValidBranch(pagesBranch))
    throw new Error(`pages-branch: "${pagesBranch}" is not a valid branch name`);

  const repository = input('repository') || env.GITHUB_REPOSITORY || '';
  if (!REPOSITORY_RE.test(repository)) {
    throw new Error(`repository: "${repository}" is not owner/name`);
  }
  const pagesUrl = parseBaseUrl(input('pages-url') || defaultPagesUrl(repository), 'pages-url');
  const dryRun = parseBoolean(get('dry-run'), 'dry-run');
  const githubToken = input('github-token');
  if (!githubToken && !dryRun) {
    throw new Error('github-token: empty; a token with contents: write is needed to publish the release');
  }
  const githubApiUrl = parseBaseUrl(
    input('github-api-url') || env.GITHUB_API_URL || 'https://api.github.com',
    'github-api-url',
  );
  const serverUrl = parseBaseUrl(env.GITHUB_SERVER_URL || 'https://github.com', 'GITHUB_SERVER_URL');
  const gitRemote = input('git-remote') || `${serverUrl}/${repository}.git`;
  const ociRegistry = parseOciRegistry(get('oci-registry'));

  const helmVersion = parseHelmVersion(input('helm-version') || DEFAULTS['helm-version']);
  const helmDownloadUrl = parseBaseUrl(
    input('helm-download-url') || DEFAULTS['helm-download-url'],
    'helm-download-url',
  );
  return {
    chartDir,
    appVersion,
    chartVersion,
    bump: bump as Bump,
    pagesBranch,
    pagesUrl,
    repository,
    githubToken,
    githubApiUrl,
    serverUrl,
    gitRemote,
    ociRegistry,
    helmVersion,
    helmDownloadUrl,
    dryRun,
    landingPage: oneOf(
      'landing-page',
      input('landing-page') || DEFAULTS['landing-page'],
      LANDING_MODES,
    ) as LandingMode,
    makeLatest: oneOf(
      'make-latest',
      input('make-latest') || DEFAULTS['make-latest'],
      MAKE_LATEST,
    ) as MakeLatest,
    signing: parseSigning((name) => input(name) || (DEFAULTS as Record<string, string>)[name] || '', env),
    gpg: parseGpg(get),
  };
}
