// `builder: docker` writes an OCI archive (`--output type=oci`), which buildx's default `docker` driver
// refuses unless Docker's containerd image store is on ("OCI exporter is not supported for the docker
// driver"); ubuntu-24.04 runners have Docker without it. Before building, this asks buildx which builder it
// would use: one that can write OCI is used as it is; otherwise a docker-container builder of our own is
// used, created when missing. When none can be had, the run stops before building, naming the fix.
import * as core from '@actions/core';
import { run as exec } from '../../shared/src/exec.js';
import { parseBuildxInspect, usesContainerdStore } from './build.js';

/** The builder this action creates (and reuses) when the current one cannot write an OCI archive. */
export const OWN_BUILDER = 'build-scan-push';

const SETUP_HINT = 'add docker/setup-buildx-action before this step (it sets up a docker-container builder)';

async function inspect(env: Record<string, string>, name?: string) {
  const args = ['buildx', 'inspect', ...(name ? [name] : [])];
  const result = await exec('docker', args, { env, silent: true }).catch((error: Error) => error);
  return result instanceof Error ? result : parseBuildxInspect(result.stdout);
}

/** The --builder to pass to `docker buildx build` (undefined: the current one will do). */
export async function dockerBuilder(env: Record<string, string>): Promise<string | undefined> {
  const current = await inspect(env);
  if (current instanceof Error || current === undefined) {
    const why = current instanceof Error ? current.message : 'its answer names no builder';
    throw new Error(`builder: docker buildx is not usable (docker buildx inspect: ${why}); ${SETUP_HINT}`);
  }
  if (current.driver !== 'docker') return undefined;
  const info = await exec('docker', ['info', '--format', '{{json .DriverStatus}}'], { env, silent: true });
  if (usesContainerdStore(info.stdout)) return undefined;
  const own = await inspect(env, OWN_BUILDER);
  if (!(own instanceof Error) && own?.driver === 'docker-container') {
    core.info(`buildx builder "${current.name}" uses the docker driver; building with "${OWN_BUILDER}"`);
    return OWN_BUILDER;
  }
  core.info(
    `buildx builder "${current.name}" uses the docker driver, which cannot write an OCI archive without ` +
      `the containerd image store; creating the docker-container builder "${OWN_BUILDER}"`,
  );
  const created = await exec(
    'docker',
    ['buildx', 'create', '--name', OWN_BUILDER, '--driver', 'docker-container', '--bootstrap'],
    { env, silent: true },
  ).catch((error: Error) => error);
  if (created instanceof Error) {
    throw new Error(
      `builder: buildx builder "${current.name}" uses the docker driver, which cannot write the OCI ` +
        `archive this action scans and pushes, and creating a docker-container builder failed ` +
        `(${created.message}); ${SETUP_HINT}, or turn on Docker's containerd image store`,
    );
  }
  return OWN_BUILDER;
}
