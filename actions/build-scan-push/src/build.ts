// The one build: the context becomes an OCI image layout on disk (an index with one image per platform),
// with whichever builder the runner has. Argument lists are pure functions (unit-tested for all three
// builders); run() executes them. Credentials never appear in arguments: builders read the Docker config
// file (REGISTRY_AUTH_FILE points buildah and podman at it).
import { existsSync, readFileSync } from 'node:fs';
import type { Builder } from './inputs.js';

export interface BuildPlan {
  builder: Builder;
  context: string;
  file: string;
  platforms: string[];
  buildArgs: Array<[string, string]>;
  labels: Array<[string, string]>;
  cacheFrom: string[];
  cacheTo: string[];
  /** SOURCE_DATE_EPOCH, when the environment sets it: timestamps in the image come from it. */
  sourceDateEpoch: number | undefined;
  /** Where the OCI layout (directory) ends up. */
  layoutDir: string;
  /** A name for the builder's local manifest list (buildah, podman). */
  listName: string;
  /** docker: the OCI archive to write before it is unpacked into layoutDir. */
  archive: string;
  /** docker: the buildx builder to use (undefined: the current one, which can write an OCI archive). */
  dockerBuilder?: string | undefined;
}

export interface Command {
  command: string;
  args: string[];
}

function common(plan: BuildPlan): string[] {
  const args: string[] = ['--file', plan.file, '--platform', plan.platforms.join(',')];
  for (const [key, value] of plan.buildArgs) args.push('--build-arg', `${key}=${value}`);
  for (const [key, value] of plan.labels) args.push('--label', `${key}=${value}`);
  for (const source of plan.cacheFrom) args.push('--cache-from', source);
  for (const target of plan.cacheTo) args.push('--cache-to', target);
  return args;
}

/** The commands that build `plan` into an OCI layout at plan.layoutDir, in order. */
export function buildCommands(plan: BuildPlan): Command[] {
  const epoch = plan.sourceDateEpoch;
  switch (plan.builder) {
    case 'docker': {
      const output = `type=oci,dest=${plan.archive},tar=true${epoch !== undefined ? ',rewrite-timestamp=true' : ''}`;
      const args = [
        'buildx',
        'build',
        ...(plan.dockerBuilder ? ['--builder', plan.dockerBuilder] : []),
        ...common(plan),
        '--provenance=false',
        '--sbom=false',
        '--output',
        output,
      ];
      if (epoch !== undefined) args.push('--build-arg', `SOURCE_DATE_EPOCH=${epoch}`);
      return [{ command: 'docker', args: [...args, plan.context] }];
    }
    case 'podman':
    case 'buildah': {
      const build = [
        plan.builder === 'buildah' ? 'build' : 'build',
        '--manifest',
        plan.listName,
        ...common(plan),
      ];
      if (epoch !== undefined) build.push('--timestamp', String(epoch));
      return [
        { command: plan.builder, args: [...build, plan.context] },
        {
          command: plan.builder,
          args: ['manifest', 'push', '--all', '--format', 'oci', plan.listName, `oci:${plan.layoutDir}`],
        },
      ];
    }
  }
}

/** The builder `docker buildx inspect` describes: its name and driver (docker, docker-container, …). */
export function parseBuildxInspect(text: string): { name: string; driver: string } | undefined {
  const name = /^Name:\s+(\S+)/m.exec(text)?.[1];
  const driver = /^Driver:\s+(\S+)/m.exec(text)?.[1];
  return name && driver ? { name, driver } : undefined;
}

/** Whether `docker info --format '{{json .DriverStatus}}'` shows the containerd image store. */
export function usesContainerdStore(driverStatus: string): boolean {
  return /io\.containerd\.snapshotter/.test(driverStatus);
}

/** Commands that remove what the build left in the builder's local storage (best effort). */
export function cleanupCommands(plan: BuildPlan): Command[] {
  if (plan.builder === 'docker') return [];
  return [{ command: plan.builder, args: ['manifest', 'rm', plan.listName] }];
}

/**
 * The base image as the Dockerfile's last FROM names it, with ARG defaults (and build-args) substituted:
 * `ubuntu:24.04@sha256:…` → name docker.io/library/ubuntu:24.04, digest sha256:…. Undefined for scratch or
 * a reference that cannot be resolved statically.
 */
export function baseImage(
  dockerfile: string,
  buildArgs: Array<[string, string]>,
): { name: string; digest: string | undefined } | undefined {
  const args = new Map<string, string>();
  let from: string | undefined;
  const stages = new Set<string>();
  for (const raw of dockerfile.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    const line = raw.trim();
    const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?/i.exec(line);
    if (arg && !args.has(arg[1]!)) args.set(arg[1]!, (arg[2] ?? '').replace(/^"(.*)"$/, '$1'));
    const stage = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (stage) {
      from = stage[1];
      if (stage[2]) stages.add(stage[2].toLowerCase());
    }
  }
  for (const [key, value] of buildArgs) args.set(key, value);
  if (!from) return undefined;
  const resolved = from.replace(
    /\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g,
    (_, name: string) => args.get(name) ?? '',
  );
  if (
    resolved === '' ||
    resolved === 'scratch' ||
    stages.has(resolved.toLowerCase()) ||
    resolved.includes('$')
  ) {
    return undefined;
  }
  const [name, digest] = resolved.split('@');
  let full = name!;
  const first = full.split('/')[0] ?? '';
  if (!full.includes('/') || !(first.includes('.') || first.includes(':') || first === 'localhost')) {
    full = `docker.io/${full.includes('/') ? full : `library/${full}`}`;
  }
  return { name: full, digest };
}

export function readDockerfile(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}
