// The commands OpenNebula's drivers run on the front-end, read from the real remotes (the build the rig
// uses), and the Ubuntu package each comes from. test/docker/dockerfile.test.ts checks that the image
// installs every such package; the rig (test/support/opennebula.ts) hides from its root every command
// whose package the image does not install, so the rig cannot pass where the image would fail.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './tools.js';

/**
 * The driver scripts that run on the front-end for the datastores, transfer managers and marketplaces an
 * OpenNebula CE front-end offers by default (fs image datastores over shared, ssh, qcow2 and local system
 * datastores; http, one, linuxcontainers and s3 marketplaces), and the libraries they source.
 */
export const FRONTEND_DRIVERS = [
  'scripts_common.sh',
  'datastore/libfs.sh',
  'datastore/downloader.sh',
  'datastore/fs',
  'tm/tm_common.sh',
  'tm/shared',
  'tm/ssh',
  'tm/qcow2',
  'market/http',
  'market/one',
  'market/linuxcontainers',
  'market/s3',
];

const KEYWORDS = new Set(
  (
    'if then else elif fi for while until do done case esac in function select time ! [[ ]] { } ' +
    // bash builtins
    'alias bg bind break builtin caller cd command compgen complete continue declare dirs disown echo ' +
    'enable eval exec exit export false fc fg getopts hash help history jobs kill let local logout ' +
    'mapfile popd printf pushd pwd read readarray readonly return set shift shopt source suspend test ' +
    'times trap true type typeset ulimit umask unalias unset wait . : ['
  ).split(/\s+/),
);

function files(root: string, rel: string): string[] {
  const path = join(root, rel);
  if (!statSync(path).isDirectory()) return [rel];
  return readdirSync(path)
    .sort()
    .flatMap((name) => files(root, join(rel, name)));
}

/** Shell function names defined in TEXT (they are not commands). */
function functionsOf(text: string): string[] {
  return [...text.matchAll(/^\s*(?:function\s+([A-Za-z_][\w-]*)|([A-Za-z_][\w-]*)\s*\(\s*\))/gm)].map(
    (m) => (m[1] ?? m[2])!,
  );
}

/** NAME=${NAME:-command ...} definitions of scripts_common.sh: $NAME runs `command`. */
function commandVariables(text: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of text.matchAll(/^([A-Z_0-9]+)=\$\{\1:-([a-z][\w.+-]*)/gm)) found.set(m[1]!, m[2]!);
  return found;
}

/**
 * Every word in command position of the shell scripts under REMOTES' FRONTEND_DRIVERS, with the files it
 * appears in: words that start a line, follow | ; && || ( $( ` or a keyword (then, do, else, exec, sudo),
 * inside strings too (commands the drivers build as text and run on the front-end or a host), and the
 * commands behind scripts_common.sh's variables ($QEMU_IMG). Ruby drivers are not read.
 */
export function driverCommands(remotes: string): Map<string, string[]> {
  const scripts = FRONTEND_DRIVERS.flatMap((rel) => files(remotes, rel)).filter(
    (rel) =>
      /^#!.*\b(ba)?sh\b|^# shellcheck|^#!\/bin\/sh/.test(
        readFileSync(join(remotes, rel), 'utf8').slice(0, 200),
      ) || rel.endsWith('.sh'),
  );
  const texts = new Map(scripts.map((rel) => [rel, readFileSync(join(remotes, rel), 'utf8')]));
  const variables = commandVariables(readFileSync(join(remotes, 'scripts_common.sh'), 'utf8'));
  const functions = new Set([...texts.values()].flatMap(functionsOf));
  const found = new Map<string, string[]>();
  const add = (command: string, rel: string) => {
    if (KEYWORDS.has(command) || functions.has(command)) return;
    const seen = found.get(command) ?? [];
    if (!seen.includes(rel)) seen.push(rel);
    found.set(command, seen);
  };
  const position =
    /(?:^|\|\|?|;|&&|&\s|[(`]|\$\(|\b(?:then|do|else|exec|sudo(?: -n)?|xargs(?: -\w+)*|nice|timeout \d+|!)\s)\s*(?:[A-Za-z_]\w*=\S*\s+)*(\$\{?[A-Z_0-9]+\}?|[a-z][\w.+-]*)(?=\s|$|;|\)|`|\||")/g;
  for (const [rel, text] of texts) {
    for (const raw of text.split('\n')) {
      const line = raw
        .replace(/(^|\s)#.*$/, '$1')
        .replace(/'[^']*'/g, "''")
        .replace(/\\"/g, '"');
      for (const m of line.matchAll(position)) {
        const word = m[1]!;
        const variable = /^\$\{?([A-Z_0-9]+)\}?$/.exec(word)?.[1];
        if (variable) {
          const command = variables.get(variable);
          if (command) add(command, rel);
        } else {
          add(word, rel);
        }
      }
    }
  }
  return found;
}

/** Where a command comes from in the image. */
export interface CommandSource {
  /** The Ubuntu 24.04 package that ships it. */
  package: string;
  /**
   * Why the image has the package without naming it in docker/Dockerfile's install list: part of the
   * ubuntu:24.04 base image, or a dependency of a package the Dockerfile installs. Absent: the Dockerfile
   * must install it.
   */
  via?: string;
  /** The command's path in the package (the rig hides it when the image lacks the package). */
  path: string;
}

const BASE = 'the ubuntu:24.04 base image';
const coreutils = (name: string): [string, CommandSource] => [
  name,
  { package: 'coreutils', via: BASE, path: `/usr/bin/${name}` },
];

/** Every command the front-end's drivers run there, and its package. */
export const FRONTEND_COMMANDS = new Map<string, CommandSource>([
  ...[
    'base64',
    'basename',
    'cat',
    'cp',
    'cut',
    'date',
    'df',
    'dirname',
    'du',
    'expr',
    'fold',
    'head',
    'ln',
    'ls',
    'md5sum',
    'mkdir',
    'mktemp',
    'mv',
    'readlink',
    'realpath',
    'rm',
    'rmdir',
    'sleep',
    'sort',
    'stat',
    'tail',
    'tee',
    'timeout',
    'touch',
    'tr',
    'unlink',
    'wc',
    'yes',
  ].map(coreutils),
  ['awk', { package: 'mawk', via: BASE, path: '/usr/bin/awk' }],
  ['bash', { package: 'bash', via: BASE, path: '/usr/bin/bash' }],
  ['find', { package: 'findutils', via: BASE, path: '/usr/bin/find' }],
  ['xargs', { package: 'findutils', via: BASE, path: '/usr/bin/xargs' }],
  ['grep', { package: 'grep', via: BASE, path: '/usr/bin/grep' }],
  ['sed', { package: 'sed', via: BASE, path: '/usr/bin/sed' }],
  ['gzip', { package: 'gzip', via: BASE, path: '/usr/bin/gzip' }],
  ['tar', { package: 'tar', via: BASE, path: '/usr/bin/tar' }],
  ['fallocate', { package: 'util-linux', via: BASE, path: '/usr/bin/fallocate' }],
  ['findmnt', { package: 'util-linux', via: BASE, path: '/usr/bin/findmnt' }],
  ['flock', { package: 'util-linux', via: BASE, path: '/usr/bin/flock' }],
  ['getopt', { package: 'util-linux', via: BASE, path: '/usr/bin/getopt' }],
  ['mount', { package: 'mount', via: BASE, path: '/usr/bin/mount' }],
  ['umount', { package: 'mount', via: BASE, path: '/usr/bin/umount' }],
  ['ruby', { package: 'ruby', via: 'a dependency of opennebula', path: '/usr/bin/ruby' }],
  ['openssl', { package: 'openssl', via: 'a dependency of ca-certificates', path: '/usr/bin/openssl' }],
  ['onedatastore', { package: 'opennebula-tools', path: '/usr/bin/onedatastore' }],
  ['onehost', { package: 'opennebula-tools', path: '/usr/bin/onehost' }],
  ['onevm', { package: 'opennebula-tools', path: '/usr/bin/onevm' }],
  ['ssh', { package: 'openssh-client', path: '/usr/bin/ssh' }],
  // What the packages only recommend (the image installs with --no-install-recommends).
  ['curl', { package: 'curl', path: '/usr/bin/curl' }],
  ['qemu-img', { package: 'qemu-utils', path: '/usr/bin/qemu-img' }],
  ['jq', { package: 'jq', path: '/usr/bin/jq' }],
  ['file', { package: 'file', path: '/usr/bin/file' }],
  ['bunzip2', { package: 'bzip2', path: '/usr/bin/bunzip2' }],
  ['xz', { package: 'xz-utils', path: '/usr/bin/xz' }],
  ['xorriso', { package: 'xorriso', path: '/usr/bin/xorriso' }],
  ['nc', { package: 'netcat-openbsd', path: '/usr/bin/nc' }],
]);

/**
 * Words in command position that the front-end does not run: commands the drivers send to the hypervisors
 * (live snapshots, iSCSI targets), and words the reader takes for commands (case labels, sed and HTTP
 * header text).
 */
export const NOT_FRONTEND_COMMANDS = new Map<string, string>([
  ['virsh', 'runs on the KVM host (live snapshots)'],
  ['xmllint', 'runs on the KVM host, on virsh output (tm snap_delete)'],
  ['lxc-freeze', 'runs on the LXC host (live snapshots)'],
  ['lxc-unfreeze', 'runs on the LXC host (live snapshots)'],
  ['rsync', 'runs on the host (tm/ssh recovery snapshots); rsync:// URLs use the rsync backup datastore'],
  ['sudo', 'runs on the host ($SUDO for LVM and iSCSI commands)'],
  ['strings', 'runs on the iSCSI target host (tgtadm output)'],
  ...['block', 'block_cdrom', 'block_size', 'cdrom', 'iscsi', 'list', 'rsa', 'no', 'value'].map(
    (word): [string, string] => [word, 'a case label or option value, not a command'],
  ),
  ...['convert', 'rebase', 'resize', 'info', 'creating', 'puts', 'd', 's', 'host'].map(
    (word): [string, string] => [word, 'a qemu-img subcommand, Ruby code or text in a message'],
  ),
  ...['x-amz-content-sha256', 'x-amz-date'].map((word): [string, string] => [
    word,
    "an S3 signature's header list",
  ]),
]);

/** The Dockerfile's RUN instructions' text, continuation lines joined. */
function dockerfileRuns(): string {
  return readFileSync(join(REPO_ROOT, 'docker/Dockerfile'), 'utf8')
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
}

/** The packages docker/Dockerfile installs (its `packages` array and apt-get install lists), minus purged. */
export function imagePackages(text = dockerfileRuns()): Set<string> {
  const words = (list: string) => list.split(/\s+/).filter((word) => /^[a-z0-9][a-z0-9.+-]+$/.test(word));
  const installed = new Set([
    ...[...text.matchAll(/apt-get install -y --no-install-recommends([^;]*);/g)].flatMap((m) => words(m[1]!)),
    ...[...text.matchAll(/packages=\(([^)]*)\)/g)].flatMap((m) => words(m[1]!)),
  ]);
  for (const m of text.matchAll(/apt-get purge -y --auto-remove([^;]*);/g)) {
    for (const word of words(m[1]!)) installed.delete(word);
  }
  return installed;
}

/** The front-end commands the image does not have (their package is neither installed nor implied). */
export function commandsTheImageLacks(packages = imagePackages()): CommandSource[] {
  return [...FRONTEND_COMMANDS.values()].filter((source) => !source.via && !packages.has(source.package));
}
