// The shared GitHub REST client helm-release uses: lists read to their last page through Link headers (and
// no further than their origin), errors that carry GitHub's own message and validation codes.
import { afterEach, describe, expect, it } from 'vitest';
import { GitHubApiError, GitHubClient } from '../../actions/shared/src/github-api.js';
import { startStandIn, type RecordedResponse, type StandIn } from '../support/http-stand-in.js';

const POLICY = { attempts: 1, baseDelayMs: 0, maxDelayMs: 0, timeoutMs: 5000, deadlineMs: 5000 };
let stand: StandIn | undefined;
afterEach(async () => {
  await stand?.close();
  stand = undefined;
});

describe('GitHubClient', () => {
  it('follows rel="next" to the last page, sending the token only as a header', async () => {
    stand = await startStandIn();
    const page =
      (items: number[], next?: string) =>
      (_: unknown, base: string): RecordedResponse => ({
        headers: next
          ? { link: `<${base}${next}>; rel="next", <${base}/last>; rel="last"` }
          : ({} as Record<string, string>),
        body: JSON.stringify(items.map((id) => ({ id }))),
      });
    stand.route('/repos/o/r/releases', page([1, 2], '/repositories/9/releases?page=2'));
    stand.route('/repositories/9/releases', (request, base) =>
      request.url.includes('page=2')
        ? page([3], '/repositories/9/releases?page=3')(request, base)
        : page([4])(request, base),
    );
    stand.route('/repositories/9/releases?page=3', page([4]));
    const client = new GitHubClient(stand.url, 'secret-token', POLICY);
    const items = await client.list<{ id: number }>('/repos/o/r/releases?per_page=100');
    expect(items.map((item) => item.id)).toEqual([1, 2, 3, 4]);
    expect(stand.requests.every((r) => r.headers.authorization === 'Bearer secret-token')).toBe(true);
    expect(stand.requests.every((r) => !r.url.includes('secret-token'))).toBe(true);
    expect(stand.requests[0]?.headers['x-github-api-version']).toBe('2022-11-28');
  });

  it('refuses to follow a next page on another origin', async () => {
    stand = await startStandIn();
    stand.route('/list', {
      headers: { link: '<https://elsewhere.example/list?page=2>; rel="next"' },
      body: '[]',
    });
    const client = new GitHubClient(stand.url, 't', POLICY);
    await expect(client.list('/list')).rejects.toThrow(/next page is on another origin/);
  });

  it("names the request, the status, GitHub's message and the validation codes", async () => {
    stand = await startStandIn();
    stand.route('/repos/o/r/releases', {
      status: 422,
      body: JSON.stringify({
        message: 'Validation Failed',
        errors: [{ resource: 'Release', code: 'already_exists', field: 'tag_name' }],
      }),
    });
    const client = new GitHubClient(stand.url, 't', POLICY);
    const error = await client
      .json('/repos/o/r/releases', { method: 'POST', body: '{}' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitHubApiError);
    expect((error as GitHubApiError).message).toMatch(
      /^POST .*\/repos\/o\/r\/releases failed: HTTP 422 \(Validation Failed: already_exists\)/,
    );
    expect((error as GitHubApiError).codes).toEqual(['already_exists']);
  });

  it('rejects a list answer that is not an array', async () => {
    stand = await startStandIn();
    stand.route('/list', { body: '{"message":"nope"}' });
    await expect(new GitHubClient(stand.url, 't', POLICY).list('/list')).rejects.toThrow(
      /expected a JSON array/,
    );
  });
});

describe('the GitHub releases stand-in', () => {
  it('types make_latest as GitHub does: a string "true", "false" or "legacy"', async () => {
    const { startGitHubApi } = await import('../support/github-api.js');
    const github = await startGitHubApi();
    try {
      const create = (body: Record<string, unknown>) =>
        fetch(`${github.url}/repos/${github.repository}/releases`, {
          method: 'POST',
          headers: { authorization: `Bearer ${github.token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const boolean = await create({ tag_name: 'a', make_latest: false });
      expect(boolean.status).toBe(422);
      expect(((await boolean.json()) as { message: string }).message).toMatch(
        /make_latest', false is not a string/,
      );
      expect((await create({ tag_name: 'b', make_latest: 'no' })).status).toBe(422);
      expect((await create({ tag_name: 'c', make_latest: 'false' })).status).toBe(201);
      expect(github.releases.map((r) => [r.tag_name, r.latest])).toEqual([['c', false]]);
      expect((await create({ tag_name: 'd' })).status).toBe(201);
      expect(github.releases.map((r) => [r.tag_name, r.latest])).toEqual([
        ['c', false],
        ['d', true],
      ]);
    } finally {
      await github.close();
    }
  });
});
