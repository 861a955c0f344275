import { describe, expect, it } from 'vitest';
import {
  isPlainHttpRegistry,
  nextLink,
  isMissingRepositoryAnswer,
  parseChallenge,
  parseChallenges,
  parseImageReference,
} from '../../actions/shared/src/registry.js';
import { refusalHint } from '../../actions/shared/src/registry-auth.js';

describe('parseImageReference', () => {
  it.each([
    [
      'docker.io/pablodelarco/opennebula',
      'docker.io',
      'pablodelarco/opennebula',
      'https://registry-1.docker.io',
    ],
    ['pablodelarco/opennebula', 'docker.io', 'pablodelarco/opennebula', 'https://registry-1.docker.io'],
    ['mariadb', 'docker.io', 'library/mariadb', 'https://registry-1.docker.io'],
    ['ghcr.io/owner/opennebula', 'ghcr.io', 'owner/opennebula', 'https://ghcr.io'],
    [
      'registry.example.com:8443/team/one/opennebula',
      'registry.example.com:8443',
      'team/one/opennebula',
      'https://registry.example.com:8443',
    ],
    ['localhost:5000/opennebula', 'localhost:5000', 'opennebula', 'http://localhost:5000'],
    ['127.0.0.1:41234/ci/opennebula', '127.0.0.1:41234', 'ci/opennebula', 'http://127.0.0.1:41234'],
  ])('%s', (input, registry, repository, apiBase) => {
    expect(parseImageReference(input)).toMatchObject({ registry, repository, apiBase });
  });

  it('speaks plain HTTP only to loopback', () => {
    expect(isPlainHttpRegistry('127.10.0.3:5000')).toBe(true);
    expect(isPlainHttpRegistry('localhost')).toBe(true);
    expect(isPlainHttpRegistry('10.0.0.1:5000')).toBe(false);
    expect(isPlainHttpRegistry('localhost.example.com')).toBe(false);
  });

  it.each(['ghcr.io/owner/opennebula:latest', 'owner/opennebula@sha256:abc', 'ghcr.io/', 'UPPER/case'])(
    'rejects %s',
    (input) => {
      expect(() => parseImageReference(input, 'image')).toThrow(/^image: /);
    },
  );
});

describe('parseChallenge', () => {
  it('reads Docker Hub and GHCR Bearer challenges', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/mariadb:pull"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/mariadb:pull',
      },
    });
    expect(parseChallenge('Basic realm="test-registry"')).toEqual({
      scheme: 'basic',
      params: { realm: 'test-registry' },
    });
  });
});

describe('nextLink', () => {
  it('resolves the next page against the registry', () => {
    expect(
      nextLink('</v2/org/x/tags/list?last=7.2.0&n=2>; rel="next"', 'https://ghcr.io/v2/org/x/tags/list?n=2'),
    ).toBe('https://ghcr.io/v2/org/x/tags/list?last=7.2.0&n=2');
    expect(nextLink('<https://a/prev>; rel="prev", <https://a/next>; rel=next', 'https://a/')).toBe(
      'https://a/next',
    );
    expect(nextLink(null, 'https://a/')).toBeUndefined();
  });
});

describe('parseChallenges', () => {
  it('splits several challenges and keeps commas and escaped quotes inside quoted values', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://a/token",service="s, t",scope="repository:x:pull", Basic realm="r \\"1\\""',
      ),
    ).toEqual([
      { scheme: 'bearer', params: { realm: 'https://a/token', service: 's, t', scope: 'repository:x:pull' } },
      { scheme: 'basic', params: { realm: 'r "1"' } },
    ]);
    expect(parseChallenges('Basic')).toEqual([{ scheme: 'basic', params: {} }]);
    expect(parseChallenges('')).toEqual([]);
  });
  it('reads an error parameter without quotes', () => {
    expect(parseChallenges('Bearer realm="x",error=insufficient_scope')[0]?.params.error).toBe(
      'insufficient_scope',
    );
  });
});

describe('isMissingRepositoryAnswer', () => {
  it('reads 401/403 bodies as "missing" only once a token was granted', () => {
    const body = '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}';
    expect(isMissingRepositoryAnswer(401, 'Basic realm="r"', body, false)).toBe(false);
    expect(isMissingRepositoryAnswer(401, '', body, true)).toBe(true);
    expect(isMissingRepositoryAnswer(401, 'Bearer realm="r",error="insufficient_scope"', '', true)).toBe(
      true,
    );
    expect(isMissingRepositoryAnswer(401, 'Bearer realm="r"', 'token expired', true)).toBe(false);
    expect(isMissingRepositoryAnswer(404, '', '', false)).toBe(true);
  });
});

describe('refusalHint', () => {
  it('names the permission a GHCR refusal points at', () => {
    const denied = (message: string) => JSON.stringify({ errors: [{ code: 'DENIED', message }] });
    expect(refusalHint(403, denied('permission_denied: write_package'))).toMatch(
      /permissions: packages: write/,
    );
    expect(refusalHint(403, denied('permission_denied: read_package'))).toMatch(/packages: read/);
    expect(refusalHint(403, denied('installation not allowed to Write organization package'))).toMatch(
      /packages: write/,
    );
    expect(refusalHint(404, '')).toBe('');
  });
});
