// The OpenNebula download site as the tests serve it: the recorded-format directory listing in
// test/fixtures/opennebula-repo/index.html plus Packages indexes rendered in Debian's format from a short
// description of which versions each series and architecture carries.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Route } from './http-stand-in.js';
import { REPO_ROOT } from './tools.js';

export const LISTING_HTML = readFileSync(join(REPO_ROOT, 'test/fixtures/opennebula-repo/index.html'), 'utf8');

/** The packages the image installs, which detect-opennebula-release requires by default. */
export const REQUIRED_PACKAGES = [
  'opennebula',
  'opennebula-tools',
  'opennebula-fireedge',
  'opennebula-guacd',
  'opennebula-flow',
  'opennebula-gate',
];

export const CE_PACKAGES = [
  'opennebula',
  'opennebula-common',
  'opennebula-common-onecfg',
  'opennebula-tools',
  'opennebula-rubygems',
  'opennebula-libs',
  'opennebula-fireedge',
  'opennebula-guacd',
  'opennebula-flow',
  'opennebula-gate',
  'opennebula-provision',
  'python3-pyone',
];

/** One architecture's index: the Debian versions it carries, each for every package unless narrowed. */
export type ArchIndex = Array<string | { version: string; packages: string[] }>;

/** series → architecture → index; an absent architecture (or series) answers 404, as a missing directory. */
export type SiteSpec = Record<string, Record<string, ArchIndex>>;

const DESCRIPTIONS: Record<string, string> = {
  opennebula: 'OpenNebula Server and Scheduler (Community Edition)',
  'opennebula-tools': 'OpenNebula command line tools (Community Edition)',
  'opennebula-fireedge': 'OpenNebula web interface FireEdge (Community Edition)',
  'opennebula-guacd': 'Provides Guacamole server for FireEdge to be used in OpenNebula',
  'opennebula-flow': 'OpenNebula Flow server (Community Edition)',
  'opennebula-gate': 'OpenNebula Gate server (Community Edition)',
};

export function packageStanza(name: string, version: string, arch: string): string {
  const hash = (algorithm: string) =>
    createHash(algorithm).update(`${name}_${version}_${arch}`).digest('hex');
  const fileArch = name.startsWith('opennebula-common') || name === 'python3-pyone' ? 'all' : arch;
  return [
    `Package: ${name}`,
    `Architecture: ${fileArch}`,
    `Version: ${version}`,
    'Priority: optional',
    'Section: ruby',
    'Maintainer: OpenNebula Team <contact@opennebula.io>',
    `Installed-Size: ${1000 + (parseInt(hash('md5').slice(0, 4), 16) % 20000)}`,
    name === 'opennebula'
      ? `Depends: opennebula-common (= ${version}), opennebula-tools (= ${version}), opennebula-libs (= ${version}), ruby, sqlite3, mariadb-client | mysql-client`
      : `Depends: opennebula-common (= ${version})`,
    `Filename: pool/opennebula/${name}_${version}_${fileArch}.deb`,
    `Size: ${100000 + (parseInt(hash('sha1').slice(0, 6), 16) % 9000000)}`,
    `MD5sum: ${hash('md5')}`,
    `SHA1: ${hash('sha1')}`,
    `SHA256: ${hash('sha256')}`,
    'Homepage: https://opennebula.io',
    `Description: ${DESCRIPTIONS[name] ?? `OpenNebula package ${name}`}`,
    ' OpenNebula is an open-source cloud computing platform to build and',
    ' manage enterprise clouds.',
    ' .',
    ` This package is part of the ${version.split('-')[0]} release.`,
  ].join('\n');
}

export function packagesIndex(index: ArchIndex, arch: string): string {
  const stanzas: string[] = [];
  for (const entry of index) {
    const { version, packages } =
      typeof entry === 'string' ? { version: entry, packages: CE_PACKAGES } : entry;
    for (const name of packages) stanzas.push(packageStanza(name, version, arch));
  }
  return `${stanzas.join('\n\n')}\n`;
}

export function packagesPath(series: string, arch: string, distribution = 'Ubuntu/24.04'): string {
  return `/${series}/${distribution}/dists/stable/opennebula/binary-${arch}/Packages`;
}

/** Routes for the stand-in, mounted under `prefix` (e.g. /repo). */
export function siteRoutesFor(
  spec: SiteSpec,
  prefix = '/repo',
  listing = LISTING_HTML,
): Record<string, Route> {
  const routes: Record<string, Route> = {
    [`${prefix}/`]: { status: 200, headers: { 'content-type': 'text/html' }, body: listing },
  };
  for (const [series, arches] of Object.entries(spec)) {
    for (const [arch, index] of Object.entries(arches)) {
      routes[`${prefix}${packagesPath(series, arch)}`] = {
        status: 200,
        headers: { 'content-type': 'application/octet-stream' },
        body: packagesIndex(index, arch),
      };
    }
  }
  return routes;
}

/** The site as of late 2026: 7.4.0 is the newest CE release, arm64 packages exist for 7.0 only. */
export const CURRENT_SITE: SiteSpec = {
  '6.10': { amd64: ['6.10.0-1', '6.10.0.1-1'] },
  '6.99': { amd64: ['6.99.90-1'] },
  '7.0': { amd64: ['7.0.0-1', '7.0.1-1'], arm64: ['7.0.0-1', '7.0.1-1'] },
  '7.2': { amd64: ['7.2.0-1'] },
  '7.4': { amd64: ['7.4.0-1'] },
};

/**
 * The matrix entry detect-opennebula-release gives for a series' newest version on a site built here (every
 * version packaged as revision -1, installed from its rolling series directory).
 */
export function matrixEntry(version: string, series: string, tags: string, isNew: boolean) {
  return {
    version,
    series,
    tags,
    'is-new': isNew,
    'package-version': `${version}-1`,
    'repository-dir': series,
  };
}
