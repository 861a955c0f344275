// A `docker` CLI stand-in for the buildx questions build-scan-push asks, answering as Docker 28 with buildx
// 0.2x does (output formats from docker/buildx's `inspect` and `create` commands and Docker's `info`
// template): `docker buildx inspect [name]`, `docker buildx create`, `docker info --format
// '{{json .DriverStatus}}'`, and `docker buildx build`, which refuses `--output type=oci` on a builder with
// the docker driver unless the containerd image store is on, with the real message. A build on another
// builder is done by real buildah (same arguments, the OCI layout packed as the archive buildx writes).
// Without buildx (`withBuildx: false`) it answers as a Docker CLI without the plugin. The script is
// docker-cli.sh beside this file.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './tools.js';

export interface FakeDockerOptions {
  /** The image store: overlay2 (the classic store, ubuntu-24.04 runners) or containerd. */
  store?: 'overlay2' | 'containerd';
  /** The current builder and its driver (default: "default", docker). */
  current?: { name: string; driver: string };
  withBuildx?: boolean;
  /** `docker buildx create` fails as it does when the BuildKit image cannot be pulled. */
  createFails?: boolean;
}

export interface FakeDocker {
  /** Directory to put first on PATH. */
  bin: string;
  /** Every command line it was called with, in order. */
  calls(): string[];
}

/** Writes the stand-in into `dir` (its bin/ goes first on PATH). */
export function fakeDocker(dir: string, options: FakeDockerOptions = {}): FakeDocker {
  const bin = join(dir, 'bin');
  const state = join(bin, 'state');
  mkdirSync(join(state, 'builders'), { recursive: true });
  copyFileSync(join(REPO_ROOT, 'test/support/docker-cli.sh'), join(bin, 'docker'));
  chmodSync(join(bin, 'docker'), 0o755);
  const current = options.current ?? { name: 'default', driver: 'docker' };
  writeFileSync(join(state, 'current'), current.name);
  writeFileSync(join(state, 'builders', current.name), current.driver);
  writeFileSync(join(state, 'store'), options.store ?? 'overlay2');
  if (options.withBuildx !== false) writeFileSync(join(state, 'buildx'), '');
  if (options.createFails) writeFileSync(join(state, 'create-fails'), '');
  return {
    bin,
    calls: () => {
      const file = join(state, 'calls');
      return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
    },
  };
}
