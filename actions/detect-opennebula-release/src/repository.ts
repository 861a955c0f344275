// The OpenNebula apt repository, the only trustworthy signal that a Community release is installable.
// <repository-url>/ is an HTML directory listing of series (7.4/) and pinned versions (7.4.0/);
// <repository-url>/<X.Y>/<distribution>/dists/stable/opennebula/binary-<arch>/Packages lists what apt
// can install from that series.
import { load } from 'cheerio/slim';
import { HttpError, fetchWithRetry, type RetryPolicy } from '../../shared/src/http.js';
import {
  parseSeries,
  parseVersion,
  upstreamOfPackageVersion,
  type OneVersion,
} from '../../shared/src/opennebula.js';

export interface Listing {
  /** Series directories (X.Y), as written in the listing. */
  series: string[];
  /** Pinned version directories (X.Y.Z or X.Y.Z.W), each holding exactly one release. */
  pinned: string[];
}

/** Reads the series directories from the repository's HTML index. */
export function parseListing(html: string, url: string): Listing {
  const $ = load(html);
  const names = new Set<string>();
  const pinned = new Set<string>();
  let entries = 0;
  $('a[href]').each((_, element) => {
    const href = $(element).attr('href') ?? '';
    // Entries are relative directory links; absolute links, sorting links and the parent are not entries.
    if (/^[a-z]+:/i.test(href) || href.startsWith('/') || href.startsWith('?') || href.startsWith('..'))
      return;
    entries += 1;
    let name: string;
    try {
      name = decodeURIComponent(href).replace(/^\.\//, '').replace(/\/$/, '');
    } catch {
      throw new Error(`repository-url: the listing at ${url} has a malformed link "${href}"`);
    }
    if (parseSeries(name)) names.add(name);
    else if (parseVersion(name)?.text === name) pinned.add(name);
  });
  if (entries === 0) {
    throw new Error(`repository-url: ${url} is not a directory listing (no entries found in its HTML)`);
  }
  if (names.size === 0) {
    throw new Error(`repository-url: the listing at ${url} has entries but no series directory such as 7.4/`);
  }
  return { series: [...names], pinned: [...pinned] };
}

export interface PackageEntry {
  name: string;
  /** Debian version, e.g. 7.4.0-1. */
  packageVersion: string;
  /** Upstream version inside it, when it is an OpenNebula version number. */
  version: OneVersion | undefined;
  architecture: string;
}

/** Parses a Debian Packages index (RFC 822-style stanzas separated by blank lines). */
export function parsePackages(text: string, url: string): PackageEntry[] {
  const entries: PackageEntry[] = [];
  for (const stanza of text.split(/\r?\n[ \t]*\r?\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split(/\r?\n/)) {
      if (line === '' || line.startsWith(' ') || line.startsWith('\t') || line.startsWith('#')) continue;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      fields.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    const name = fields.get('package');
    const packageVersion = fields.get('version');
    if (!name || !packageVersion) continue;
    entries.push({
      name,
      packageVersion,
      version: upstreamOfPackageVersion(packageVersion),
      architecture: fields.get('architecture') ?? '',
    });
  }
  if (entries.length === 0 && text.trim() !== '') {
    throw new Error(`${url} is not a Debian Packages index: no stanza with Package: and Version: fields`);
  }
  return entries;
}

/** The Packages index of a repository directory (a series, 7.4, or a pinned version, 7.0.0). */
export function packagesUrl(
  repositoryUrl: string,
  directory: string,
  distribution: string,
  arch: string,
): string {
  return `${repositoryUrl}/${directory}/${distribution}/dists/stable/opennebula/binary-${arch}/Packages`;
}

export async function fetchListing(repositoryUrl: string, policy?: RetryPolicy): Promise<Listing> {
  const url = `${repositoryUrl}/`;
  const response = await fetchWithRetry(url, {}, policy);
  if (!response.ok) {
    await response.body?.cancel();
    throw new HttpError(`repository-url: GET ${url} failed: HTTP ${response.status}`, url, response.status);
  }
  return parseListing(await response.text(), url);
}

/**
 * The Packages index of one series and architecture, or undefined when it does not exist (yet): a new
 * series directory is missing or half-populated for a while after a release.
 */
export async function fetchPackages(url: string, policy?: RetryPolicy): Promise<PackageEntry[] | undefined> {
  const response = await fetchWithRetry(url, {}, policy);
  if (response.status === 404 || response.status === 410) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new HttpError(`GET ${url} failed: HTTP ${response.status}`, url, response.status);
  }
  return parsePackages(await response.text(), url);
}
