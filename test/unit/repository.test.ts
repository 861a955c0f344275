import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseListing, parsePackages } from '../../actions/detect-opennebula-release/src/repository.js';
import { LISTING_HTML } from '../support/opennebula-repo.js';
import { REPO_ROOT } from '../support/tools.js';

const URL = 'https://downloads.example/repo/';

describe('parseListing', () => {
  it('finds every series directory in an nginx autoindex page, and nothing else', () => {
    const { series } = parseListing(LISTING_HTML, URL);
    expect(series.sort()).toEqual(
      ['5.12', '6.0', '6.10', '6.2', '6.4', '6.6', '6.8', '6.99', '7.0', '7.2', '7.4'].sort(),
    );
  });

  it('reads an Apache-style table listing with sort links and absolute links', () => {
    const html = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
<html><head><title>Index of /repo</title></head><body><h1>Index of /repo</h1>
<table><tr><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th></tr>
<tr><td><a href="/">Parent Directory</a></td></tr>
<tr><td><a href="7.4/">7.4/</a></td><td>2026-07-15 10:31</td></tr>
<tr><td><a href="./8.0/">8.0/</a></td><td>2027-01-10 10:31</td></tr>
<tr><td><a href="7.4.0/">7.4.0/</a></td></tr>
<tr><td><a href="https://opennebula.io/7.6/">elsewhere</a></td></tr>
</table></body></html>`;
    expect(parseListing(html, URL).series).toEqual(['7.4', '8.0']);
  });

  it('rejects a page with no entries, naming the input', () => {
    expect(() => parseListing('<html><body>Service Unavailable</body></html>', URL)).toThrow(
      /^repository-url: https:\/\/downloads.example\/repo\/ is not a directory listing/,
    );
  });

  it('rejects a listing without series directories', () => {
    expect(() =>
      parseListing('<pre><a href="../">../</a><a href="repo.key">repo.key</a></pre>', URL),
    ).toThrow(/has entries but no series directory/);
  });
});

describe('parsePackages', () => {
  const text = readFileSync(join(REPO_ROOT, 'test/fixtures/packages/opennebula-7.4-amd64.Packages'), 'utf8');

  it('reads every stanza with its Debian and upstream version', () => {
    const entries = parsePackages(text, 'Packages');
    expect(entries.map((e) => e.name)).toEqual([
      'opennebula',
      'opennebula-tools',
      'opennebula-fireedge',
      'opennebula-guacd',
      'opennebula-flow',
      'opennebula-gate',
      'opennebula-form',
      'docker-machine-opennebula',
      'opennebula-libs',
    ]);
    expect(entries[0]).toMatchObject({ packageVersion: '7.4.0-1', architecture: 'amd64' });
    expect(entries[0]?.version?.text).toBe('7.4.0');
    expect(entries.find((e) => e.name === 'opennebula-libs')?.version?.text).toBe('7.4.0');
  });

  it('does not mistake continuation lines or descriptions for fields', () => {
    const entries = parsePackages(text.replace(/\n/g, '\r\n'), 'Packages');
    expect(entries).toHaveLength(9);
    expect(entries.every((e) => !e.name.includes(' '))).toBe(true);
  });

  it('accepts an empty index (a series with nothing published yet)', () => {
    expect(parsePackages('', 'Packages')).toEqual([]);
  });

  it('rejects text that is not a Packages index, naming the URL', () => {
    expect(() => parsePackages('<html>Not Found</html>', 'https://x/Packages')).toThrow(
      /^https:\/\/x\/Packages is not a Debian Packages index/,
    );
  });
});

describe('parseListing: pinned directories and malformed links', () => {
  it('lists pinned X.Y.Z and X.Y.Z.W directories beside the series', () => {
    const html =
      '<pre><a href="7.0/">7.0/</a> <a href="7.0.0/">7.0.0/</a> <a href="6.10.0.1/">x</a> <a href="7.0.0-rc/">x</a></pre>';
    expect(parseListing(html, 'https://repo/')).toEqual({ series: ['7.0'], pinned: ['7.0.0', '6.10.0.1'] });
  });
  it('names the URL and the link instead of throwing a bare URIError', () => {
    expect(() =>
      parseListing('<pre><a href="7.4/">7.4/</a><a href="%E0%A4%A/">bad</a></pre>', 'https://repo/'),
    ).toThrow('repository-url: the listing at https://repo/ has a malformed link "%E0%A4%A/"');
  });
});
