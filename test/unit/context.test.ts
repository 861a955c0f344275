import { describe, expect, it } from 'vitest';
import { parseInputs } from '../../actions/detect-opennebula-release/src/context.js';
import { registryLogins } from '../../actions/detect-opennebula-release/src/registries.js';
import { parseBaseUrl, parseBoolean, parseList } from '../../actions/shared/src/inputs.js';
import { parseImageReference } from '../../actions/shared/src/registry.js';
import { REQUIRED_PACKAGES } from '../support/opennebula-repo.js';

const parse = (values: Record<string, string>) => parseInputs((name) => values[name] ?? '');
const base = { image: 'ghcr.io/owner/opennebula' };

describe('shared input helpers', () => {
  it('splits comma and newline lists', () => {
    expect(parseList(' a, b\n\nc ,\n')).toEqual(['a', 'b', 'c']);
  });
  it('parses booleans strictly', () => {
    expect(parseBoolean('TRUE', 'force')).toBe(true);
    expect(parseBoolean('', 'force')).toBe(false);
    expect(() => parseBoolean('yes', 'force')).toThrow('force: "yes" is not a boolean (use true or false)');
  });
  it('normalises base URLs and rejects others', () => {
    expect(parseBaseUrl('https://x.example/repo/', 'repository-url')).toBe('https://x.example/repo');
    expect(() => parseBaseUrl('ftp://x/', 'repository-url')).toThrow(
      /^repository-url: "ftp:\/\/x\/" must be an http/,
    );
    expect(() => parseBaseUrl('not a url', 'repository-url')).toThrow(
      /^repository-url: "not a url" is not a URL/,
    );
  });
});

describe('parseInputs', () => {
  it('applies the documented defaults', () => {
    const inputs = parse(base);
    expect(inputs).toMatchObject({
      repositoryUrl: 'https://downloads.opennebula.io/repo',
      distribution: 'Ubuntu/24.04',
      architectures: ['amd64'],
      requiredPackages: REQUIRED_PACKAGES,
      series: undefined,
      version: undefined,
      force: false,
      credentials: undefined,
      upstreamRepository: 'OpenNebula/one',
    });
    expect(inputs.minVersion.text).toBe('7.0.0');
    expect(inputs.images[0]).toMatchObject({ registry: 'ghcr.io', repository: 'owner/opennebula' });
  });

  it('reads lists, a series and an explicit hotfix version', () => {
    const inputs = parse({
      ...base,
      architectures: 'amd64\narm64, amd64',
      series: '6.10',
      version: '6.10.0.1',
      'min-version': '6.10.0',
    });
    expect(inputs.architectures).toEqual(['amd64', 'arm64']);
    expect(inputs.series).toBe('6.10');
    expect(inputs.version?.text).toBe('6.10.0.1');
  });

  it.each([
    [{ 'min-version': '7.0' }, /^min-version: "7.0" is not an OpenNebula version/],
    [{ version: 'latest' }, /^version: "latest" is not an OpenNebula version/],
    [{ version: '7.3.85' }, /^version: 7.3.85 is a development build/],
    [{ series: '7' }, /^series: "7" is not a series/],
    [{ series: '6.99' }, /^series: 6.99 is a pre-release series/],
    [{ distribution: 'ubuntu-24.04' }, /^distribution: "ubuntu-24.04" is not of the form/],
    [{ architectures: ' , ' }, /^architectures: at least one/],
    [{ architectures: 'amd64, ARM 64' }, /^architectures: "ARM 64"/],
    [{ 'required-packages': 'opennebula, Bad_Name' }, /^required-packages: "Bad_Name"/],
    [{ force: 'maybe' }, /^force: "maybe" is not a boolean/],
    [{ 'repository-url': 'downloads.opennebula.io/repo' }, /^repository-url: /],
    [{ 'upstream-repository': 'one' }, /^upstream-repository: "one"/],
    [{ 'registry-username': 'bot' }, /^registry-username and registry-password: set both or neither/],
  ])('rejects %j with a message naming the input', (values, message) => {
    expect(() => parse({ ...base, ...values })).toThrow(message);
  });

  it('requires at least one image, and valid image names', () => {
    expect(() => parse({})).toThrow(/^image: at least one image name is required/);
    expect(() => parse({ image: 'ghcr.io/owner/opennebula:7.4.0' })).toThrow(
      /^image: "ghcr.io\/owner\/opennebula:7.4.0" must be an image name without tag/,
    );
    expect(() => parse({ image: 'ghcr.io/Owner/OpenNebula' })).toThrow(
      /^image: .* is not a valid image name/,
    );
  });
});

describe('registryLogins (which credentials each registry gets)', () => {
  const hub = { username: 'hub-user', password: 'hub-password' };
  const gh = { username: 'gh-user', password: 'ghs_token' };
  const images = (...names: string[]) => names.map((name) => parseImageReference(name));
  const stored: Record<string, typeof gh> = {
    'ghcr.io': gh,
    'docker.io': { username: 'other', password: 'x' },
  };
  const asked: string[] = [];
  const lookup = (host: string) => {
    asked.push(host);
    return stored[host];
  };

  it("gives the inputs to the first image's registry and its host only, the Docker config's to the rest", () => {
    asked.length = 0;
    const logins = registryLogins(
      images('docker.io/me/one', 'ghcr.io/me/one', 'docker.io/me/two', 'quay.io/me/one'),
      hub,
      lookup,
      '/home/runner/.docker/config.json',
    );
    expect(logins.map((login) => login.credentials)).toEqual([hub, gh, hub, undefined]);
    expect(asked).toEqual(['ghcr.io', 'quay.io']);
    expect(logins[0]!.hint).toBe('registry-username and registry-password');
    expect(logins[1]!.hint).toMatch(
      /Docker config's login for ghcr\.io in \/home\/runner\/\.docker\/config\.json/,
    );
    expect(logins[3]!.hint).toMatch(/docker\/login-action login to quay\.io .*are for docker\.io/);
  });

  it('reads every registry from the Docker config when the inputs are empty', () => {
    const logins = registryLogins(
      images('docker.io/me/one', 'ghcr.io/me/one'),
      undefined,
      lookup,
      'config.json',
    );
    expect(logins.map((login) => login.credentials)).toEqual([stored['docker.io'], gh]);
  });
});
