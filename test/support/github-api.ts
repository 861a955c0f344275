// A GitHub REST stand-in for releases, on the shared HTTP stand-in: list (Link pagination, as GitHub pages
// with /repositories/<id>/releases next links), create (drafts; a second published release of a tag is
// refused), upload at the release's upload_url, delete a draft's asset, publish, and the download URLs. The
// answers have the shapes of GitHub's recorded responses (octokit/fixtures, PyGithub replay data): ids,
// html_url, upload_url templates, draft assets under an "untagged-" download path until publish, asset
// digests. Immutable releases refuse asset changes after publish with GitHub's 422. make_latest is GitHub's
// string enum ("true", "false", "legacy"; anything else, a JSON boolean too, is GitHub's 422 "Invalid
// request"); a newly published release becomes the repository's Latest unless it says "false", as on GitHub.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startStandIn, type ReceivedRequest, type RecordedResponse, type StandIn } from './http-stand-in.js';

export interface StandInAsset {
  id: number;
  name: string;
  data: Buffer;
  contentType: string;
}

export interface StandInRelease {
  id: number;
  tag_name: string;
  name: string;
  body: string;
  draft: boolean;
  immutable: boolean;
  target_commitish: string;
  created_at: string;
  published_at: string | null;
  assets: StandInAsset[];
  untagged: string;
  /** Whether this is the repository's Latest release (GET /repos/{repo}/releases/latest). */
  latest: boolean;
}

export interface GitHubStandIn {
  readonly url: string;
  readonly token: string;
  readonly repository: string;
  readonly releases: StandInRelease[];
  readonly requests: ReceivedRequest[];
  /** Adds a published release with one asset (e.g. an older chart version), returns it. */
  addRelease(
    tag: string,
    asset?: { name: string; data: Buffer },
    options?: { draft?: boolean; latest?: boolean },
  ): StandInRelease;
  /** Download URL of a published asset. */
  downloadUrl(tag: string, name: string): string;
  close(): Promise<void>;
}

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'x-github-media-type': 'github.v3; format=json',
};
const REPOSITORY_ID = 987654321;

export interface GitHubStandInOptions {
  repository?: string;
  token?: string;
  /** Releases become immutable when published (the repository setting). */
  immutableReleases?: boolean;
  /** Page size GitHub uses when the client asks for more (default 100, as GitHub caps per_page). */
  maxPerPage?: number;
}

export async function startGitHubApi(options: GitHubStandInOptions = {}): Promise<GitHubStandIn> {
  const repository = options.repository ?? 'example-org/charts';
  const token =
    options.token ?? `ghs_${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 36)}`;
  const releases: StandInRelease[] = [];
  let nextId = 1000;
  const stand: StandIn = await startStandIn();
  const base = () => stand.url;
  // Uploads go to their own host, as uploads.github.com is not api.github.com; it keeps the bytes exact.
  type UploadHandler = (request: ReceivedRequest, data: Buffer) => RecordedResponse;
  const uploadHandlers = new Map<string, UploadHandler>();
  const uploads = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const data = Buffer.concat(chunks);
      const request: ReceivedRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body: `<${data.length} bytes>`,
        receivedAt: Date.now(),
      };
      stand.requests.push(request);
      const handler = uploadHandlers.get((req.url ?? '/').split('?')[0] ?? '/');
      const answer = handler ? handler(request, data) : { status: 404, body: 'no such upload path' };
      request.answeredAt = Date.now();
      res.writeHead(answer.status ?? 200, answer.headers ?? {});
      res.end(answer.body);
    });
  });
  uploads.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => uploads.listen(0, '127.0.0.1', resolve));
  const uploadBase = `http://127.0.0.1:${(uploads.address() as AddressInfo).port}`;

  const json = (status: number, body: unknown, headers: Record<string, string> = {}): RecordedResponse => ({
    status,
    headers: { ...JSON_HEADERS, ...headers },
    body: JSON.stringify(body),
  });
  const validation = (resource: string, code: string, field: string) =>
    json(422, {
      message: 'Validation Failed',
      errors: [{ resource, code, field }],
      documentation_url: 'https://docs.github.com/rest/releases/releases#create-a-release',
      status: '422',
    });
  const MAKE_LATEST = ['true', 'false', 'legacy'];
  /** GitHub's schema check of make_latest: a string from the enum, or absent. */
  const invalidMakeLatest = (value: unknown): RecordedResponse | undefined => {
    if (value === undefined || (typeof value === 'string' && MAKE_LATEST.includes(value))) return undefined;
    const shown = JSON.stringify(value);
    const problem =
      typeof value === 'string'
        ? `${shown} is not a member of ${JSON.stringify(MAKE_LATEST)}`
        : `${shown} is not a string`;
    return json(422, {
      message: `Invalid request.\n\nFor 'properties/make_latest', ${problem}.`,
      documentation_url: 'https://docs.github.com/rest/releases/releases#create-a-release',
      status: '422',
    });
  };
  /** A release just published: Latest unless make_latest says "false" ("legacy": the newest published). */
  const published = (release: StandInRelease, makeLatest: string | undefined) => {
    const value = makeLatest ?? 'true';
    if (value === 'false') return;
    const chosen =
      value === 'true'
        ? release
        : [...releases].filter((r) => !r.draft).sort((a, b) => b.created_at.localeCompare(a.created_at))[0];
    for (const r of releases) r.latest = r === chosen;
  };
  const authorized = (request: ReceivedRequest) => {
    const header = request.headers.authorization ?? '';
    return header === `Bearer ${token}` || header === `token ${token}`;
  };
  const unauthorized = json(401, {
    message: 'Bad credentials',
    documentation_url: 'https://docs.github.com/rest',
    status: '401',
  });

  const downloadPath = (release: StandInRelease, name: string) =>
    `/download/${repository}/releases/download/${release.draft ? release.untagged : release.tag_name}/${name}`;
  const assetJson = (release: StandInRelease, asset: StandInAsset) => ({
    url: `${base()}/repos/${repository}/releases/assets/${asset.id}`,
    id: asset.id,
    node_id: `RA_${asset.id}`,
    name: asset.name,
    label: '',
    uploader: { login: 'github-actions[bot]', id: 41898282, type: 'Bot', site_admin: false },
    content_type: asset.contentType,
    state: 'uploaded',
    size: asset.data.length,
    digest: `sha256:${createHash('sha256').update(asset.data).digest('hex')}`,
    download_count: 0,
    created_at: release.created_at,
    updated_at: release.created_at,
    browser_download_url: `${base()}${downloadPath(release, asset.name)}`,
  });
  const releaseJson = (release: StandInRelease) => ({
    url: `${base()}/repos/${repository}/releases/${release.id}`,
    assets_url: `${base()}/repos/${repository}/releases/${release.id}/assets`,
    upload_url: `${uploadBase}/repos/${repository}/releases/${release.id}/assets{?name,label}`,
    html_url: `${base()}/html/${repository}/releases/tag/${release.draft ? release.untagged : release.tag_name}`,
    id: release.id,
    author: { login: 'github-actions[bot]', id: 41898282, type: 'Bot', site_admin: false },
    node_id: `RE_${release.id}`,
    tag_name: release.tag_name,
    target_commitish: release.target_commitish,
    name: release.name,
    draft: release.draft,
    immutable: release.immutable,
    prerelease: false,
    created_at: release.created_at,
    published_at: release.published_at,
    assets: release.assets.map((asset) => assetJson(release, asset)),
    tarball_url: `${base()}/repos/${repository}/tarball/${release.tag_name}`,
    zipball_url: `${base()}/repos/${repository}/zipball/${release.tag_name}`,
    body: release.body,
  });

  const register = (release: StandInRelease) => {
    stand.route(`/repos/${repository}/releases/${release.id}`, (request) => {
      if (!authorized(request)) return unauthorized;
      if (request.method === 'GET') return json(200, releaseJson(release));
      if (request.method !== 'PATCH') return json(405, { message: 'Method not allowed' });
      const patch = JSON.parse(request.body || '{}') as {
        draft?: boolean;
        tag_name?: string;
        make_latest?: unknown;
      };
      const invalid = invalidMakeLatest(patch.make_latest);
      if (invalid) return invalid;
      if (patch.draft === false && release.draft) {
        if (releases.some((r) => r !== release && !r.draft && r.tag_name === release.tag_name)) {
          return validation('Release', 'already_exists', 'tag_name');
        }
        release.draft = false;
        release.published_at = new Date().toISOString();
        release.immutable = Boolean(options.immutableReleases);
        published(release, patch.make_latest as string | undefined);
      } else if (patch.draft === true && !release.draft && release.immutable) {
        return json(422, { message: 'Cannot modify an immutable release.', status: '422' });
      }
      return json(200, releaseJson(release));
    });
    uploadHandlers.set(`/repos/${repository}/releases/${release.id}/assets`, (request, data) => {
      if (!authorized(request)) return unauthorized;
      if (request.method !== 'POST') return json(405, { message: 'Method not allowed' });
      if (!release.draft && release.immutable) {
        return json(422, { message: 'Cannot upload assets to an immutable release.', status: '422' });
      }
      const name = new URL(request.url, base()).searchParams.get('name') ?? '';
      if (!name)
        return json(422, { message: 'Validation Failed', errors: [{ field: 'name', code: 'missing' }] });
      if (release.assets.some((a) => a.name === name))
        return validation('ReleaseAsset', 'already_exists', 'name');
      const asset: StandInAsset = {
        id: nextId++,
        name,
        data,
        contentType: String(request.headers['content-type'] ?? 'application/octet-stream'),
      };
      release.assets.push(asset);
      registerAsset(release, asset);
      return json(201, assetJson(release, asset));
    });
  };
  const registerAsset = (release: StandInRelease, asset: StandInAsset) => {
    stand.route(`/repos/${repository}/releases/assets/${asset.id}`, (request) => {
      if (!authorized(request)) return unauthorized;
      if (!release.assets.includes(asset)) return json(404, { message: 'Not Found' });
      if (request.method === 'DELETE') {
        if (!release.draft && release.immutable) {
          return json(422, { message: 'Cannot delete assets of an immutable release.', status: '422' });
        }
        release.assets.splice(release.assets.indexOf(asset), 1);
        return { status: 204 };
      }
      if (request.headers.accept === 'application/octet-stream') {
        return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: asset.data };
      }
      return json(200, assetJson(release, asset));
    });
    const serve = () =>
      release.assets.includes(asset)
        ? { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: asset.data }
        : { status: 404 };
    stand.route(`/download/${repository}/releases/download/${release.untagged}/${asset.name}`, (request) =>
      release.draft && authorized(request) ? serve() : { status: 404 },
    );
    stand.route(`/download/${repository}/releases/download/${release.tag_name}/${asset.name}`, () =>
      release.draft ? { status: 404 } : serve(),
    );
  };

  const listPage = (request: ReceivedRequest): RecordedResponse => {
    if (!authorized(request)) return unauthorized;
    const params = new URL(request.url, base()).searchParams;
    const perPage = Math.min(Number(params.get('per_page') ?? 30) || 30, options.maxPerPage ?? 100);
    const page = Math.max(1, Number(params.get('page') ?? 1) || 1);
    // GitHub lists newest first.
    const all = [...releases].reverse();
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const slice = all.slice((page - 1) * perPage, page * perPage);
    const link = (p: number) =>
      `<${base()}/repositories/${REPOSITORY_ID}/releases?per_page=${perPage}&page=${p}>`;
    const links: string[] = [];
    if (page < last) links.push(`${link(page + 1)}; rel="next"`, `${link(last)}; rel="last"`);
    if (page > 1) links.push(`${link(1)}; rel="first"`, `${link(page - 1)}; rel="prev"`);
    return json(200, slice.map(releaseJson), links.length ? { link: links.join(', ') } : {});
  };
  stand.route(`/repositories/${REPOSITORY_ID}/releases`, listPage);
  stand.route(`/repos/${repository}/releases`, (request) => {
    if (request.method === 'GET') return listPage(request);
    if (!authorized(request)) return unauthorized;
    const body = JSON.parse(request.body || '{}') as {
      tag_name?: string;
      name?: string;
      body?: string;
      draft?: boolean;
      target_commitish?: string;
      make_latest?: unknown;
    };
    const invalid = invalidMakeLatest(body.make_latest);
    if (invalid) return invalid;
    if (!body.tag_name) return validation('Release', 'missing_field', 'tag_name');
    if (!body.draft && releases.some((r) => !r.draft && r.tag_name === body.tag_name)) {
      return validation('Release', 'already_exists', 'tag_name');
    }
    const release = create(
      body.tag_name,
      body.name ?? '',
      body.body ?? '',
      Boolean(body.draft),
      body.target_commitish,
    );
    if (!release.draft) published(release, body.make_latest as string | undefined);
    return json(201, releaseJson(release));
  });
  stand.route(`/repos/${repository}/releases/latest`, (request) => {
    if (!authorized(request)) return unauthorized;
    const latest = releases.find((r) => r.latest);
    return latest ? json(200, releaseJson(latest)) : json(404, { message: 'Not Found', status: '404' });
  });

  const create = (
    tag: string,
    name: string,
    body: string,
    draft: boolean,
    target?: string,
  ): StandInRelease => {
    const id = nextId++;
    const release: StandInRelease = {
      id,
      tag_name: tag,
      name,
      body,
      draft,
      immutable: !draft && Boolean(options.immutableReleases),
      target_commitish: target ?? 'main',
      created_at: new Date().toISOString(),
      published_at: draft ? null : new Date().toISOString(),
      assets: [],
      untagged: `untagged-${createHash('sha1').update(String(id)).digest('hex').slice(0, 20)}`,
      latest: false,
    };
    releases.push(release);
    register(release);
    return release;
  };

  return {
    url: stand.url,
    token,
    repository,
    releases,
    requests: stand.requests,
    addRelease(tag, asset, addOptions = {}) {
      const release = create(tag, tag, '', Boolean(addOptions.draft));
      if (addOptions.latest) for (const r of releases) r.latest = r === release;
      if (asset) {
        const added: StandInAsset = {
          id: nextId++,
          name: asset.name,
          data: asset.data,
          contentType: 'application/gzip',
        };
        release.assets.push(added);
        registerAsset(release, added);
      }
      return release;
    },
    downloadUrl: (tag, name) => `${stand.url}/download/${repository}/releases/download/${tag}/${name}`,
    close: async () => {
      uploads.closeAllConnections();
      await new Promise<void>((resolve) => uploads.close(() => resolve()));
      await stand.close();
    },
  };
}
