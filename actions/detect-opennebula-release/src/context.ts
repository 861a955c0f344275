// Inputs → a typed, validated object. Pure: `get` is core.getInput in the action and a map in tests.
import { parseBaseUrl, parseBoolean, parseList, unique } from '../../shared/src/inputs.js';
import { parseImageReference, type Credentials, type ImageReference } from '../../shared/src/registry.js';
import {
  isPreRelease,
  isPreReleaseSeries,
  parseSeries,
  requireVersion,
  type OneVersion,
} from '../../shared/src/opennebula.js';

export interface Inputs {
  repositoryUrl: string;
  distribution: string;
  architectures: string[];
  requiredPackages: string[];
  minVersion: OneVersion;
  series: string | undefined;
  version: OneVersion | undefined;
  force: boolean;
  images: ImageReference[];
  credentials: Credentials | undefined;
  githubToken: string;
  upstreamRepository: string;
  /** The Helm repository index on the Pages branch, or undefined when the chart-name input is empty. */
  chartIndex: ChartIndexInputs | undefined;
}

export interface ChartIndexInputs {
  chart: string;
  pagesBranch: string;
  /** Empty: <GITHUB_SERVER_URL>/<GITHUB_REPOSITORY>.git, authenticated with github-token. */
  gitRemote: string;
}

export const DEFAULTS = {
  'repository-url': 'https://downloads.opennebula.io/repo',
  distribution: 'Ubuntu/24.04',
  architectures: 'amd64',
  'required-packages':
    'opennebula, opennebula-tools, opennebula-fireedge, opennebula-guacd, opennebula-flow, opennebula-gate',
  'min-version': '7.0.0',
  'upstream-repository': 'OpenNebula/one',
} as const;

const DEBIAN_PACKAGE_RE = /^[a-z0-9][a-z0-9+.-]+$/;
const ARCH_RE = /^[a-z0-9]+$/;
const DISTRIBUTION_RE = /^[A-Za-z][A-Za-z0-9_-]*\/[0-9][0-9.]*$/;
const GITHUB_REPOSITORY_RE = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const CHART_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const BRANCH_RE = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]+(?<![./])$/;

/** The chart-name, index-branch and git-remote inputs: where detect reads whether the chart is published. */
export function parseChartIndex(get: (name: string) => string): ChartIndexInputs | undefined {
  const chart = get('chart-name');
  if (!chart) return undefined;
  if (!CHART_NAME_RE.test(chart)) throw new Error(`chart-name: "${chart}" is not a Helm chart name`);
  const pagesBranch = get('index-branch') || 'gh-pages';
  if (!BRANCH_RE.test(pagesBranch)) throw new Error(`index-branch: "${pagesBranch}" is not a branch name`);
  return { chart, pagesBranch, gitRemote: get('git-remote') };
}

export function parseInputs(get: (name: string) => string): Inputs {
  const valueOf = (name: keyof typeof DEFAULTS) => get(name) || DEFAULTS[name];

  const distribution = valueOf('distribution');
  if (!DISTRIBUTION_RE.test(distribution)) {
    throw new Error(`distribution: "${distribution}" is not of the form Name/Version (e.g. Ubuntu/24.04)`);
  }

  const architectures = unique(parseList(valueOf('architectures')));
  if (architectures.length === 0) throw new Error('architectures: at least one architecture is required');
  for (const arch of architectures) {
    if (!ARCH_RE.test(arch)) throw new Error(`architectures: "${arch}" is not a Debian architecture name`);
  }

  const requiredPackages = unique(parseList(valueOf('required-packages')));
  if (requiredPackages.length === 0) throw new Error('required-packages: at least one package is required');
  for (const name of requiredPackages) {
    if (!DEBIAN_PACKAGE_RE.test(name))
      throw new Error(`required-packages: "${name}" is not a Debian package name`);
  }

  const minVersion = requireVersion(valueOf('min-version'), 'min-version');

  const seriesText = get('series');
  let series: string | undefined;
  if (seriesText) {
    const parsed = parseSeries(seriesText);
    if (!parsed) throw new Error(`series: "${seriesText}" is not a series (expected X.Y, e.g. 7.4)`);
    if (isPreReleaseSeries(parsed)) throw new Error(`series: ${parsed.text} is a pre-release series`);
    series = parsed.text;
  }

  const versionText = get('version');
  const version = versionText ? requireVersion(versionText, 'version') : undefined;
  if (version && isPreRelease(version)) {
    throw new Error(
      `version: ${version.text} is a development build (patch >= 80 or an X.99 series), not a release`,
    );
  }

  const imageList = unique(parseList(get('image')));
  if (imageList.length === 0) {
    throw new Error('image: at least one image name is required to look up what is already published');
  }
  const images = imageList.map((name) => parseImageReference(name, 'image'));

  const username = get('registry-username');
  const password = get('registry-password');
  if (Boolean(username) !== Boolean(password)) {
    throw new Error('registry-username and registry-password: set both or neither');
  }

  const upstreamRepository = valueOf('upstream-repository');
  if (!GITHUB_REPOSITORY_RE.test(upstreamRepository)) {
    throw new Error(`upstream-repository: "${upstreamRepository}" is not of the form owner/name`);
  }

  return {
    repositoryUrl: parseBaseUrl(valueOf('repository-url'), 'repository-url'),
    distribution,
    architectures,
    requiredPackages,
    minVersion,
    series,
    version,
    force: parseBoolean(get('force'), 'force'),
    images,
    credentials: username ? { username, password } : undefined,
    githubToken: get('github-token'),
    upstreamRepository,
    chartIndex: parseChartIndex(get),
  };
}
