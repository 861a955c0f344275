// The pure core of helm-release: inputs, next version, Chart.yaml edits, index merge, landing page.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readChartYaml, setChartVersions } from '../../actions/helm-release/src/chart-yaml.js';
import { chartVersions, IndexError, mergeIndex, readIndex } from '../../actions/shared/src/index-yaml.js';
import {
  DEFAULTS,
  defaultPagesUrl,
  isValidBranch,
  parseInputs,
} from '../../actions/helm-release/src/inputs.js';
import { renderLandingPage } from '../../actions/helm-release/src/landing.js';
import { highestVersion, nextVersion } from '../../actions/helm-release/src/next-version.js';
import { isRejectedPush, retryDelay } from '../../actions/shared/src/pages.js';
import { REPO_ROOT } from '../support/tools.js';

const FIXTURES = join(REPO_ROOT, 'test/fixtures/helm-release');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

function inputs(values: Record<string, string>) {
  const all: Record<string, string> = { repository: 'Owner/charts-repo', 'github-token': 't', ...values };
  return parseInputs((name) => all[name] ?? '', { GITHUB_WORKSPACE: '/w' });
}

describe('inputs', () => {
  it('applies the defaults', () => {
    const parsed = inputs({});
    expect(parsed.chartDir).toBe('/w/chart/opennebula');
    expect(parsed.bump).toBe('patch');
    expect(parsed.pagesBranch).toBe('gh-pages');
    expect(parsed.pagesUrl).toBe('https://owner.github.io/charts-repo');
    expect(parsed.gitRemote).toBe('https://github.com/Owner/charts-repo.git');
    expect(parsed.helmVersion).toBe('4.2.4');
    expect(parsed.dryRun).toBe(false);
  });

  it.each([
    [{ 'chart-version': '1.2' }, /^chart-version: "1.2" is not a semantic version/],
    [{ 'chart-version': 'v1.2.3' }, /^chart-version:/],
    [{ bump: 'huge' }, /^bump: "huge" is not one of patch, minor, major/],
    [{ 'app-version': 'seven' }, /^app-version: "seven" is not a version/],
    [{ 'pages-branch': 'a..b' }, /^pages-branch:/],
    [{ 'pages-url': 'ftp://x' }, /^pages-url:/],
    [{ repository: 'nope' }, /^repository: "nope" is not owner\/name/],
    [{ 'github-token': '' }, /^github-token: empty/],
    [{ 'oci-registry': 'ghcr.io/o/charts' }, /^oci-registry: .* must start with oci:\/\//],
    [{ 'oci-registry': 'oci://ghcr.io' }, /^oci-registry:/],
    [{ 'helm-version': 'latest' }, /^helm-version: "latest" is not a version/],
    [{ 'helm-download-url': 'nope' }, /^helm-download-url:/],
    [{ 'dry-run': 'maybe' }, /^dry-run:/],
  ])('rejects %o naming the input', (values, message) => {
    expect(() => inputs(values)).toThrow(message);
  });

  it('accepts OpenNebula four-part app versions, v-prefixed helm versions and a dry run without a token', () => {
    const parsed = inputs({
      'app-version': '6.10.0.1',
      'helm-version': 'v4.2.4',
      'dry-run': 'true',
      'github-token': '',
    });
    expect(parsed.appVersion).toBe('6.10.0.1');
    expect(parsed.helmVersion).toBe('4.2.4');
    expect(parsed.dryRun).toBe(true);
  });

  it('has the defaults action.yml declares (one source of truth)', () => {
    const action = parse(readFileSync(join(REPO_ROOT, 'actions/helm-release/action.yml'), 'utf8')) as {
      inputs: Record<string, { default?: string }>;
    };
    for (const [name, value] of Object.entries(DEFAULTS))
      expect(action.inputs[name]?.default, name).toBe(value);
    const names = Object.keys(action.inputs).sort();
    expect(names).toEqual(
      [
        'chart',
        'app-version',
        'chart-version',
        'bump',
        'pages-branch',
        'pages-url',
        'repository',
        'github-token',
        'github-api-url',
        'git-remote',
        'oci-registry',
        'helm-version',
        'helm-download-url',
        'dry-run',
        'landing-page',
        'make-latest',
        'gpg-private-key',
        'gpg-key-name',
        'gpg-passphrase',
        'sign',
        'cosign-key',
        'cosign-password',
        'transparency-log',
        'cosign-version',
        'cosign-download-url',
      ].sort(),
    );
  });

  it('derives Pages URLs and checks branch names', () => {
    expect(defaultPagesUrl('Org/Org.github.io')).toBe('https://org.github.io');
    expect(isValidBranch('gh-pages')).toBe(true);
    expect(isValidBranch('refs/x.lock')).toBe(false);
    expect(isValidBranch('-x')).toBe(false);
  });
});

describe('next version', () => {
  it('bumps the highest of the index and Chart.yaml', () => {
    expect(nextVersion(['0.1.0', '0.3.1', '0.2.9'], '0.1.0', 'patch')).toBe('0.3.2');
    expect(nextVersion(['0.1.0'], '0.4.0', 'minor')).toBe('0.5.0');
    expect(nextVersion([], '0.1.0', 'major')).toBe('1.0.0');
    expect(nextVersion(['1.0.0-rc.1'], '0.1.0', 'patch')).toBe('1.0.0');
    expect(highestVersion(['junk', '0.10.0', '0.9.0'])).toBe('0.10.0');
  });
  it('refuses a Chart.yaml version that is not semver when nothing is published', () => {
    expect(() => nextVersion([], 'one', 'patch')).toThrow(/Chart.yaml: version "one"/);
  });
});

describe('Chart.yaml', () => {
  const text = fixture('Chart.yaml');
  it('sets version and appVersion keeping comments, order and the image annotation in step', () => {
    const edited = setChartVersions(text, '0.2.0', '7.6.0');
    expect(edited).toContain('# The chart');
    expect(edited).toContain('version: 0.2.0');
    expect(edited).toContain('appVersion: "7.6.0"');
    expect(edited).toContain('image: docker.io/example/opennebula:7.6.0');
    expect(edited).toContain('image: docker.io/library/mariadb:11.8.9');
    const keys = Object.keys(parse(edited) as object);
    expect(keys).toEqual(Object.keys(parse(text) as object));
    expect(edited.split('\n').length).toBe(text.split('\n').length);
  });
  it('reads versions as written', () => {
    const meta = readChartYaml('name: x\nversion: 1.10.0\nappVersion: 7.10\n');
    expect(meta.appVersion).toBe('7.10');
    expect(() => readChartYaml('version: 1.0.0\n')).toThrow(/has no name/);
  });
  it('keeps a number-like appVersion a string', () => {
    const edited = setChartVersions('name: x\nversion: 0.1.0\nappVersion: 7.4.0\n', '0.1.1', '7.10');
    expect((parse(edited) as { appVersion: unknown }).appVersion).toBe('7.10');
  });
});

const entry = (name: string, version: string, digest = `d-${name}-${version}`) => ({
  apiVersion: 'v2',
  name,
  version,
  appVersion: '7.4.0',
  description: `the ${name} chart`,
  urls: [`https://example.org/${name}-${version}.tgz`],
  created: '2026-01-02T03:04:05.000Z',
  digest,
});

describe('index merge', () => {
  const real = fixture('index-two-charts.yaml');

  it('creates an index from nothing', () => {
    const { text } = mergeIndex(undefined, entry('a', '0.1.0'), '2026-01-01T00:00:00Z');
    const parsed = parse(text) as { entries: Record<string, { version: string; created: string }[]> };
    expect(parsed.entries.a?.[0]?.version).toBe('0.1.0');
    expect(text).toContain('created: "2026-01-02T03:04:05.000Z"');
    expect(text).toContain('generated: "2026-01-01T00:00:00Z"');
  });

  it('keeps every existing byte, adds the entry in version order and updates generated', () => {
    const { text, changed } = mergeIndex(real, entry('opennebula', '0.2.5'), '2026-05-05T00:00:00Z');
    expect(changed).toBe(true);
    const before = parse(real) as { entries: Record<string, Record<string, unknown>[]> };
    const after = parse(text) as { entries: Record<string, Record<string, unknown>[]> };
    expect(after.entries.opennebula?.map((e) => e.version)).toEqual(['0.3.0', '0.2.5', '0.2.0', '0.1.0']);
    expect(after.entries.other).toEqual(before.entries.other);
    for (const e of before.entries.opennebula ?? []) {
      expect(after.entries.opennebula).toContainEqual(e);
    }
    // Only lines were added, and the generated line changed.
    const removed = real.split('\n').filter((line) => !text.split('\n').includes(line));
    expect(removed).toEqual([expect.stringMatching(/^generated:/)]);
    // The unquoted appVersion 1.10 stays as written.
    expect(text).toContain('appVersion: 1.10\n');
  });

  it('adds a new chart in name order, and a version older than all at the end', () => {
    const added = mergeIndex(real, entry('middle', '1.0.0'), 'g').text;
    expect(Object.keys((parse(added) as { entries: object }).entries)).toEqual([
      'middle',
      'opennebula',
      'other',
    ]);
    const oldest = mergeIndex(real, entry('opennebula', '0.0.1'), 'g').text;
    const versions = (parse(oldest) as { entries: { opennebula: { version: string }[] } }).entries.opennebula;
    expect(versions.map((v) => v.version)).toEqual(['0.3.0', '0.2.0', '0.1.0', '0.0.1']);
  });

  it('is no change for the same version and digest, and an error naming both digests otherwise', () => {
    const same = mergeIndex(real, entry('opennebula', '0.2.0', 'b'.repeat(64)), 'g');
    expect(same).toEqual({ text: real, changed: false });
    expect(() => mergeIndex(real, entry('opennebula', '0.2.0', 'c'.repeat(64)), 'g')).toThrow(
      new RegExp(`digest ${'b'.repeat(64)}, but this package has digest ${'c'.repeat(64)}`),
    );
    expect(() => mergeIndex(real, entry('opennebula', '0.2.0', 'c'.repeat(64)), 'g')).toThrow(IndexError);
  });

  it('handles an empty entries mapping, a JSON index and a file without a final newline', () => {
    const empty = mergeIndex('apiVersion: v1\nentries: {}\ngenerated: "x"\n', entry('a', '1.0.0'), 'g').text;
    expect((parse(empty) as { entries: { a: unknown[] } }).entries.a).toHaveLength(1);
    const json = JSON.stringify({ apiVersion: 'v1', entries: { a: [entry('a', '1.0.0')] } });
    const merged = parse(mergeIndex(json, entry('a', '1.1.0'), 'g').text) as {
      entries: { a: { version: string }[] };
    };
    expect(merged.entries.a.map((e) => e.version)).toEqual(['1.1.0', '1.0.0']);
    const bare = mergeIndex(
      'apiVersion: v1\nentries:\n  a:\n  - name: a\n    version: 1.0.0',
      entry('a', '2.0.0'),
      'g',
    );
    expect((parse(bare.text) as { entries: { a: unknown[] } }).entries.a).toHaveLength(2);
  });

  it('splices into other block layouts too: indented sequences, comments, quoted chart names', () => {
    const text = [
      '# kept',
      'apiVersion: v1',
      'entries:',
      '    "b-chart":',
      '      - name: b-chart',
      '        version: 2.0.0 # a comment',
      '        digest: x',
      '',
      '      # between entries',
      '      - name: b-chart',
      '        version: 1.0.0',
      'generated: 2020-01-01T00:00:00Z',
      '',
    ].join('\n');
    const merged = mergeIndex(text, entry('b-chart', '1.5.0'), 'g').text;
    const lines = merged.split('\n');
    for (const line of text.split('\n').filter((l) => !l.startsWith('generated')))
      expect(lines).toContain(line);
    const parsed = parse(merged) as { entries: Record<string, { version: string }[]> };
    expect(parsed.entries['b-chart']?.map((e) => e.version)).toEqual(['2.0.0', '1.5.0', '1.0.0']);
    expect(chartVersions(text, 'b-chart').map((v) => v.version)).toEqual(['2.0.0', '1.0.0']);
    const added = parse(mergeIndex(text, entry('a', '1.0.0'), 'g').text) as { entries: object };
    expect(Object.keys(added.entries)).toEqual(['a', 'b-chart']);
  });

  it('refuses an index that is not YAML rather than starting an empty one', () => {
    expect(() => mergeIndex('entries: [unclosed\n', entry('a', '1.0.0'), 'g')).toThrow(/not valid YAML/);
  });

  it('reads versions, digests and fields, as written', () => {
    const versions = chartVersions(real, 'opennebula');
    expect(versions.map((v) => v.version)).toEqual(['0.3.0', '0.2.0', '0.1.0']);
    expect(versions[1]?.digest).toBe('b'.repeat(64));
    const summary = readIndex(real);
    expect(summary.get('other')?.[0]).toMatchObject({ version: '1.0.0', appVersion: '1.10' });
    expect(summary.get('opennebula')?.[0]?.description).toBe(
      'OpenNebula control plane, with a description long enough to be folded by helm onto two lines',
    );
  });
});

describe('landing page', () => {
  it('lists every version with commands for the pages URL, escaping what the index says', () => {
    const summary = readIndex(fixture('index-two-charts.yaml'));
    const html = renderLandingPage(summary, {
      pagesUrl: 'https://owner.github.io/charts',
      repoName: 'charts',
      primaryChart: 'opennebula',
    });
    expect(html).toContain('helm repo add charts https://owner.github.io/charts');
    expect(html).toContain('helm install opennebula charts/opennebula --version 0.3.0');
    for (const v of ['0.3.0', '0.2.0', '0.1.0', '1.0.0']) expect(html).toContain(`>${v}<`);
    const hostile = renderLandingPage(
      new Map([['x', [{ version: '1.0.0', description: '<script>x</script>' }]]]),
      {
        pagesUrl: 'https://o.github.io/r',
        repoName: 'r',
      },
    );
    expect(hostile).not.toContain('<script>');
    expect(hostile).toContain('&#60;script&#62;');
    expect(html.indexOf('id="opennebula"')).toBeLessThan(html.indexOf('id="other"'));
  });

  it('says how to verify with pubkey.asc when the charts are signed, and only then', () => {
    const summary = readIndex(fixture('index-two-charts.yaml'));
    const options = {
      pagesUrl: 'https://owner.github.io/charts',
      repoName: 'charts',
      primaryChart: 'opennebula',
    };
    const signed = renderLandingPage(summary, {
      ...options,
      publicKey: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01',
    });
    expect(signed).toContain('<a href="pubkey.asc">pubkey.asc</a>');
    expect(signed).toContain('ABCDEF0123456789ABCDEF0123456789ABCDEF01');
    expect(signed).toContain(
      'curl -fsSL https://owner.github.io/charts/pubkey.asc | gpg --dearmor &#62; charts.gpg',
    );
    expect(signed).toContain('helm install opennebula charts/opennebula --verify --keyring charts.gpg');
    expect(renderLandingPage(summary, options)).not.toContain('pubkey.asc');
  });
});

describe('push retries', () => {
  it('recognises rejected pushes and waits with bounded jitter', () => {
    expect(isRejectedPush('! [rejected]        HEAD -> gh-pages (fetch first)')).toBe(true);
    expect(isRejectedPush(' ! [remote rejected] x -> gh-pages (pre-receive hook declined)')).toBe(true);
    expect(isRejectedPush('fatal: could not read Username')).toBe(false);
    const options = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(retryDelay(0, { ...options, random: () => 0 })).toBe(50);
    expect(retryDelay(0, { ...options, random: () => 1 })).toBe(100);
    expect(retryDelay(10, { ...options, random: () => 1 })).toBe(1000);
  });
});
