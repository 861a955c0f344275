// Runs the image's entrypoint (docker/rootfs/usr/local/bin/opennebula-entrypoint) against a directory
// tree instead of a container's root: an OpenNebula config tree for 7.0, 7.2 or 7.4 copied from
// test/fixtures/opennebula-etc (or from ../shared/upstream when that reference copy is present).
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REPO_ROOT, runCommand, type CommandResult } from './tools.js';

export const ENTRYPOINT = join(REPO_ROOT, 'docker/rootfs/usr/local/bin/opennebula-entrypoint');
export const ENTRYPOINT_LIB = join(REPO_ROOT, 'docker/rootfs/usr/local/lib/opennebula-container');
const FIXTURES = join(REPO_ROOT, 'test/fixtures/opennebula-etc');
const SHARED_UPSTREAM = resolve(REPO_ROOT, '..', 'shared', 'upstream');

export interface ConfigTree {
  /** Label for test names, e.g. "fixture 7.4" or "upstream 7.4.0". */
  label: string;
  /** The OpenNebula version the files belong to. */
  version: string;
  /** Directory holding oned.conf and friends. */
  etc: string;
}

/** Our own fixture trees, plus OpenNebula's real files when ../shared/upstream exists. */
export function configTrees(): ConfigTree[] {
  const trees: ConfigTree[] = ['7.0', '7.2', '7.4'].map((series) => ({
    label: `fixture ${series}`,
    version: `${series}.0`,
    etc: join(FIXTURES, series),
  }));
  if (existsSync(SHARED_UPSTREAM)) {
    for (const name of readdirSync(SHARED_UPSTREAM).sort()) {
      const match = /^opennebula-(\d+\.\d+\.\d+)$/.exec(name);
      if (match)
        trees.push({
          label: `upstream ${match[1]}`,
          version: match[1]!,
          etc: join(SHARED_UPSTREAM, name, 'etc'),
        });
    }
  }
  return trees;
}

/** Where the packages install OpenNebulaNetwork.conf: with the drivers, on the volume. */
export const VNM_CONF = 'var/lib/one/remotes/etc/vnm/OpenNebulaNetwork.conf';

/**
 * A fresh root directory for one test in the packaged layout: `etc/one` copied from the tree (writable),
 * except OpenNebulaNetwork.conf, which the packages install under /var/lib/one/remotes/etc/vnm.
 */
export function makeRoot(tree: ConfigTree): string {
  const root = mkdtempSync(join(tmpdir(), 'one-root-'));
  // Traversable by oneadmin (uid 9869), as a container's root is: run as root, the roles start helpers as it.
  chmodSync(root, 0o755);
  mkdirSync(join(root, 'etc'), { recursive: true });
  cpSync(tree.etc, join(root, 'etc', 'one'), { recursive: true });
  for (const file of readdirSync(join(root, 'etc', 'one'))) chmodSync(join(root, 'etc', 'one', file), 0o644);
  const network = join(root, 'etc', 'one', 'OpenNebulaNetwork.conf');
  if (existsSync(network)) {
    mkdirSync(join(root, VNM_CONF, '..'), { recursive: true });
    renameSync(network, join(root, VNM_CONF));
  }
  return root;
}

export function removeRoot(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

export type EntrypointRun = CommandResult;

/** Runs the entrypoint with a clean environment: only PATH, the library location and `env`. */
export function runEntrypoint(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<EntrypointRun> {
  return runCommand('bash', [ENTRYPOINT, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', OPENNEBULA_CONTAINER_LIB: ENTRYPOINT_LIB, ...env },
    timeoutMs,
  });
}

/**
 * A stand-in for OpenNebula's `onedb` (not installable here): answers `onedb version` with the exit
 * code in FAKE_ONEDB_VERSION_RC, records every call in FAKE_ONEDB_LOG, and for `upgrade` writes the
 * --backup file it is given. Returns the directory to put first on PATH.
 */
export function fakeOnedb(dir: string): string {
  const bin = join(dir, 'fake-bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, 'onedb'),
    [
      '#!/bin/bash',
      'echo "onedb $*" >> "$FAKE_ONEDB_LOG"',
      'case $1 in',
      '  version) echo "Shared: 7.4.0"; exit "${FAKE_ONEDB_VERSION_RC:-0}" ;;',
      '  upgrade) while [ $# -gt 0 ]; do if [ "$1" = --backup ]; then echo "-- dump" > "$2"; fi; shift; done; exit "${FAKE_ONEDB_UPGRADE_RC:-0}" ;;',
      'esac',
      'exit 0',
    ].join('\n'),
    { mode: 0o755 },
  );
  return bin;
}

/** The environment of `init` on ROOT with the onedb stand-in (its calls logged to ROOT/onedb.log), no key Secret. */
export function initEnv(root: string): Record<string, string> {
  return {
    ONE_ROOT: root,
    ONE_VERSION: '7.4.0',
    PATH: `${fakeOnedb(root)}:${process.env.PATH}`,
    FAKE_ONEDB_LOG: join(root, 'onedb.log'),
    ONE_SSH_KEY_DIR: join(root, 'no-secret'),
    DB_WAIT_TIMEOUT: '3',
  };
}
