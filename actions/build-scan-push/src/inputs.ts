// Inputs → a typed, validated object. Pure: `get` is core.getInput in the action and a map in tests. Every
// error names the input; nothing runs before all of them are valid.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseBaseUrl, parseBoolean, parseList, unique } from '../../shared/src/inputs.js';
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
  sarifFile: string;
  sbomFile: string;
  cacheFrom: string[];
  cacheTo: string[];
  overwrite: boolean;
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

export function parseTrivyVersion(text: string): string {
  const match = /^v?(\d+\.\d+\.\d+)$/.exec(text.trim());
  if (!match) throw new Error(`trivy-version: "${text}" is not a version such as v0.74.0`);
  const version = match[1]!;
  if (REFUSED_TRIVY_VERSIONS.includes(version)) {
    throw new Error(
      `trivy-version: ${version} is refused: Trivy ${REFUSED_TRIVY_VERSIONS.join(', ')} were published with ` +
        'malicious content; use another release',
    );
  }
  return version;
}

/**
 * Parses the inputs. Defaults live in action.yml only (the runner passes them), so an empty value here is
 * an error that names the input, not a second default.
 */
export function parseInputs(get: (name: string) => string, cwd: string = process.cwd()): Inputs {
  const need = (name: string) => {
    const value = get(name).trim();
    if (value === '') throw new Error(`${name}: must not be empty`);
    return value;
  };
  const context = need('context');
  if (!existsSync(resolve(cwd, context))) throw new Error(`context: ${context} does not exist`);
  const file = get('file') || join(context, 'Dockerfile');
  if (!existsSync(resolve(cwd, file))) throw new Error(`file: ${file} does not exist`);

  const imageNames = unique(parseList(get('images')));
  if (imageNames.length === 0) throw new Error('images: at least one image name is required');
  const images = imageNames.map((name) => {
    if (name !== name.toLowerCase()) throw new Error(`images: "${name}" must be lowercase`);
    return parseImageReference(name, 'images');
  });

  const tags = unique(parseList(get('tags')));
  if (tags.length === 0) throw new Error('tags: at least one tag is required');
  for (const tag of tags) if (!isValidTag(tag)) throw new Error(`tags: "${tag}" is not a valid tag`);

  const platforms = unique(parseList(need('platforms')));
  if (platforms.length === 0) throw new Error('platforms: at least one platform is required');
  for (const platform of platforms) {
    if (!PLATFORM_RE.test(platform)) throw new Error(`platforms: "${platform}" is not os/arch[/variant]`);
  }

  const builder = need('builder');
  if (!(BUILDERS as readonly string[]).includes(builder)) {
    throw new Error(`builder: "${builder}" is not one of ${BUILDERS.join(', ')}`);
  }

  const severity = unique(parseList(need('severity').toUpperCase()));
  if (severity.length === 0) throw new Error('severity: at least one severity is required');
  for (const word of severity) {
    if (!(SEVERITIES as readonly string[]).includes(word)) {
      throw new Error(`severity: "${word}" is not one of ${SEVERITIES.join(', ')}`);
    }
  }

  let trivyignore: string | undefined = get('trivyignore') || undefined;
  if (trivyignore && !existsSync(resolve(cwd, trivyignore))) {
    throw new Error(`trivyignore: ${trivyignore} does not exist`);
  }
  if (!trivyignore && existsSync(resolve(cwd, context, '.trivyignore')))
    trivyignore = join(context, '.trivyignore');

  const dbRepositories = unique(parseList(need('trivy-db-repositories')));
  for (const repository of dbRepositories) parseTaggedReference(repository, 'trivy-db-repositories');

  const version = get('version').trim();
  if (version && !/^[0-9A-Za-z][0-9A-Za-z._+-]*$/.test(version)) {
    throw new Error(`version: "${version}" is not a version`);
  }

  return {
    context,
    file,
    images,
    tags,
    version,
    buildArgs: keyValues(get('build-args'), 'build-args'),
    labels: keyValues(get('labels'), 'labels'),
    platforms,
    push: parseBoolean(need('push'), 'push'),
    builder: builder as Builder,
    severity: severity as Severity[],
    ignoreUnfixed: parseBoolean(need('ignore-unfixed'), 'ignore-unfixed'),
    trivyignore,
    trivyVersion: parseTrivyVersion(need('trivy-version')),
    trivyDownloadUrl: parseBaseUrl(need('trivy-download-url'), 'trivy-download-url'),
    trivyDbRepositories: dbRepositories,
    sarifFile: need('sarif-file'),
    sbomFile: need('sbom-file'),
    cacheFrom: get('cache-from')
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean),
    cacheTo: get('cache-to')
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean),
    overwrite: parseBoolean(need('overwrite'), 'overwrite'),
  };
}
