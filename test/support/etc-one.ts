// Roots laid out as the image is: OpenNebula's pristine files at /usr/share/opennebula-container/etc-one
// (what the Dockerfile copies from the packages), /etc/one empty (the chart's emptyDir) or persisted from an
// earlier run, and the overrides directory an operator mounts. For `configure --root` tests.
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './tools.js';
import { makeRoot, VNM_CONF, type ConfigTree } from './entrypoint.js';

export const PRISTINE = 'usr/share/opennebula-container/etc-one';
/** Files every 7.x package installs under /etc/one besides the trees' (auth drivers). */
const PACKAGED = join(REPO_ROOT, 'test/fixtures/opennebula-etc/packaged');

/** Puts TREE's files (and the packaged auth drivers) in ROOT's pristine copy, replacing any earlier one. */
export function installPristine(root: string, tree: ConfigTree): void {
  const pristine = join(root, PRISTINE);
  rmSync(pristine, { recursive: true, force: true });
  mkdirSync(dirname(pristine), { recursive: true });
  cpSync(tree.etc, pristine, { recursive: true });
  cpSync(PACKAGED, pristine, { recursive: true });
  // The packages install it with the drivers (remotes/etc/vnm), not in /etc/one.
  rmSync(join(pristine, 'OpenNebulaNetwork.conf'), { force: true });
}

/** A root as the image starts: the pristine copy, an empty /etc/one, the drivers' network configuration. */
export function seededRoot(tree: ConfigTree): string {
  const root = makeRoot(tree);
  rmSync(join(root, 'etc/one'), { recursive: true });
  mkdirSync(join(root, 'etc/one'));
  installPristine(root, tree);
  if (!existsSync(join(root, VNM_CONF))) mkdirSync(dirname(join(root, VNM_CONF)), { recursive: true });
  return root;
}

export interface Overrides {
  /** files/<path>: whole files. */
  files?: Record<string, string>;
  /** edits/<path>: the edit file's text. */
  edits?: Record<string, string>;
}

/** Writes an overrides directory (replacing what was there) and returns its path. */
export function writeOverrides(dir: string, overrides: Overrides): string {
  rmSync(dir, { recursive: true, force: true });
  for (const [kind, entries] of [
    ['files', overrides.files],
    ['edits', overrides.edits],
  ] as const) {
    for (const [path, text] of Object.entries(entries ?? {})) {
      mkdirSync(dirname(join(dir, kind, path)), { recursive: true });
      writeFileSync(join(dir, kind, path), text);
    }
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Every file under ROOT/etc/one (relative path → content), the step's own bookkeeping included. */
export function etcSnapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const base = join(root, 'etc/one');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[path.slice(base.length + 1)] = readFileSync(path, 'utf8');
    }
  };
  walk(base);
  return out;
}
