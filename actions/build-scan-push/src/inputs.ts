// Inputs → a typed, validated object. Pure: `get` is core.getInput in the action and a map in tests. Every
// error names the input; nothing runs before all of them are valid.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseBaseUrl, parseBoolean, parseList, unique } from '../../shared/src/inputs.js';
import { parseToolVersion } from '../../shared/src/tool.js';
import { parseSigning, type SigningInputs } from '../../shared/src/signer.js';
import {
  isValidTag,
  parseImageReference,
  parseTaggedReference,
  type ImageReference,
} from '../../shared/src/registry.js';

export const SEVERITIES = ['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const BUILDERS = ['docker', 'podman', 'buildah'] as const;
export type Builder = (typeof BUILDERS)[number];

/** Trivy releases that were published with malicious content: never downloaded. */
export const REFUSED_TRIVY_VERSIONS = ['0.69.4', '0.69.5', '0.69.6'];

export interface Inputs {
  context: string;
  file: string;
  images: ImageReference[];
  tags: string[];
  version: string;
  buildArgs: Array<[string, string]>;
  labels: Array<[string, string]>;
  platforms: string[];
  push: boolean;
  builder: Builder;
  severity: Severity[];
  ignoreUnfixed: boolean;
  trivyignore: string | undefined;
  trivyVersion: string;
  trivyDownloadUrl: string;
  trivyDbRepositories: string[];
  /** Trivy's --timeout for one platform's scan (a Go duration). */
  trivyTimeout: string;
  /** Where Trivy keeps its database (undefined: TRIVY_CACHE_DIR, else <tool cache>/trivy-cache). */
  trivyCacheDir: string | undefined;
  sarifFile: string;
  /** Prefix of each run's automationDetails.id (code scanning category); undefined: see sarif.ts. */
  sarifCategory: string | undefined;
  sbomFile: string;
  cacheFrom: string[];
  cacheTo: string[];
  overwrite: boolean;
  /** Build nothing: sign the digest the version tag already points to (a re-run after a failed signature). */
  signOnly: boolean;
  signing: SigningInputs;
}

const PLATFORM_RE = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;
const KEY_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function keyValues(text: string, inputName: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line.trim() : line.slice(0, eq).trim();
    if (eq < 0 || !KEY_RE.test(key)) {
      throw new Error(`${inputName}: "${line.trim()}" is not KEY=VALUE`);
    }
    pairs.push([key, line.slice(eq + 1)]);
  }
  return pairs;
}

/**
 * The oldest Trivy this action drives: `--db-repository` takes the list of mirrors (tried in order) from
 * 0.56.0 on (aquasecurity/trivy#7603); older releases read one repository, and `--skip-version-check`,
 * `convert` of a `--list-all-pkgs` report and `--input` of an OCI layout behave as used here from then on.
 */
export const MIN_TRIVY_VERSION = '0.56.0';

export function parseTrivyVersion(text: string): string {
  return parseToolVersion(text, {
    input: 'trivy-version',
    tool: 'Trivy',
    example: 'v0.74.0',
    refused: REFUSED_TRIVY_VERSIONS,
    refusedBecause: 'were published with malicious content',
    min: MIN_TRIVY_VERSION,
    minBecause: 'it needs --db-repository with several mirrors',
  });
}

/** A Go duration as Trivy's --timeout takes it: 15m, 1h30m, 900s. */
export function parseTimeout(text: string): string {
  const value = text.trim();
  if (!/^(?:\d+(?:\.\d+)?(?:h|m|s|ms))+$/.test(value) || !/[1-9]/.test(value)) {
    throw new Error(`trivy-timeout: "${text}" is not a duration such as 15m or 1h30m`);
  }
  return value;
}

type Get = (name: string) => string;

function needer(get: Get) {
  return (name: string) => {
    const value = get(name).trim();
    if (value === '') throw new Error(`${name}: must not be empty`);
    return value;
  };
}

/** Comma- or newline-separated, deduplicated, at least one, each accepted by `check`. */
function listOf(get: Get, name: string, what: string, check: (item: string) => void = () => undefined) {
  const items = unique(parseList(get(name)));
  if (items.length === 0) throw new Error(`${name}: at least one ${what} is required`);
  items.forEach(check);
  return items;
}

function oneOfWords<T extends string>(name: string, word: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(word)) {
    throw new Error(`${name}: "${word}" is not one of ${allowed.join(', ')}`);
  }
  return word as T;
}

function parseImages(get: Get): ImageReference[] {
  return listOf(get, 'images', 'image name').map((name) => {
    if (name !== name.toLowerCase()) throw new Error(`images: "${name}" must be lowercase`);
    return parseImageReference(name, 'images');
  });
}

function parseTrivyignore(get: Get, cwd: string, context: string): string | undefined {
  const given = get('trivyignore');
  if (given && !existsSync(resolve(cwd, given))) throw new Error(`trivyignore: ${given} does not exist`);
  if (given) return given;
  return existsSync(resolve(cwd, context, '.trivyignore')) ? join(context, '.trivyignore') : undefined;
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

/** The build's inputs: what is built, from where, for which platforms and under which names. */
function parseBuild(get: Get, cwd: string) {
  const need = needer(get);
  const context = need('context');
  if (!existsSync(resolve(cwd, context))) throw new Error(`context: ${context} does not exist`);
  const file = get('file') || join(context, 'Dockerfile');
  if (!existsSync(resolve(cwd, file))) throw new Error(`file: ${file} does not exist`);
  const tags = listOf(get, 'tags', 'tag', (tag) => {
    if (!isValidTag(tag)) throw new Error(`tags: "${tag}" is not a valid tag`);
  });
  const platforms = listOf(need, 'platforms', 'platform', (platform) => {
    if (!PLATFORM_RE.test(platform)) throw new Error(`platforms: "${platform}" is not os/arch[/variant]`);
  });
  const version = get('version').trim();
  if (version && !/^[0-9A-Za-z][0-9A-Za-z._+-]*$/.test(version)) {
    throw new Error(`version: "${version}" is not a version`);
  }
  return {
    context,
    file,
    images: parseImages(get),
    tags,
    version,
    buildArgs: keyValues(get('build-args'), 'build-args'),
    labels: keyValues(get('labels'), 'labels'),
    platforms,
    push: parseBoolean(need('push'), 'push'),
    builder: oneOfWords('builder', need('builder'), BUILDERS),
    cacheFrom: lines(get('cache-from')),
    cacheTo: lines(get('cache-to')),
    overwrite: parseBoolean(need('overwrite'), 'overwrite'),
    signOnly: parseBoolean(need('sign-only'), 'sign-only'),
  };
}

/** The scan's inputs: which Trivy, which database, what fails the gate, where the reports go. */
function parseScan(get: Get, cwd: string, context: string) {
  const need = needer(get);
  const severity = listOf((name) => need(name).toUpperCase(), 'severity', 'severity');
  return {
    severity: severity.map((word) => oneOfWords('severity', word, SEVERITIES)),
    ignoreUnfixed: parseBoolean(need('ignore-unfixed'), 'ignore-unfixed'),
    trivyignore: parseTrivyignore(get, cwd, context),
    trivyVersion: parseTrivyVersion(need('trivy-version')),
    trivyDownloadUrl: parseBaseUrl(need('trivy-download-url'), 'trivy-download-url'),
    trivyDbRepositories: listOf(need, 'trivy-db-repositories', 'repository', (repository) => {
      parseTaggedReference(repository, 'trivy-db-repositories');
    }),
    trivyTimeout: parseTimeout(need('trivy-timeout')),
    trivyCacheDir: get('trivy-cache-dir').trim() || undefined,
    sarifFile: need('sarif-file'),
    sarifCategory: get('sarif-category').trim() || undefined,
    sbomFile: need('sbom-file'),
  };
}

/**
 * Parses the inputs. Defaults live in action.yml only (the runner passes them), so an empty value here is
 * an error that names the input, not a second default.
 */
export function parseInputs(
  get: Get,
  cwd: string = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): Inputs {
  const build = parseBuild(get, cwd);
  return { ...build, ...parseScan(get, cwd, build.context), signing: parseSigning(get, env) };
}
