// The chart's GitHub release `<chart>-<version>`: created as a draft, the .tgz attached, then published, so
// it works where releases are immutable (assets are frozen at publish). Published chart versions are
// immutable here too: the same version with another digest is an error naming both digests. GitHub marks a
// newly published release "Latest" unless told otherwise, and the chart's release must not take that from
// the project's own releases: make_latest (a string, as GitHub types it) goes with the create and the
// publish, "false" unless the make-latest input says otherwise.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GitHubApiError, type GitHubClient } from '../../shared/src/github-api.js';

export interface ReleaseAsset {
  id: number;
  name: string;
  url: string;
  browser_download_url: string;
  /** "sha256:<hex>" (GitHub has listed it since 2025); older assets lack it. */
  digest?: string | null;
  state?: string;
}

export interface Release {
  id: number;
  tag_name: string;
  html_url: string;
  upload_url: string;
  draft: boolean;
  immutable?: boolean;
  assets: ReleaseAsset[];
}

export interface ReleaseOutcome {
  /** Whether this run created or published anything. */
  published: boolean;
  release: Release;
  asset: ReleaseAsset;
}

export function releaseTag(chart: string, version: string): string {
  return `${chart}-${version}`;
}

/** Every release of the repository, every page. */
export async function listReleases(client: GitHubClient, repository: string): Promise<Release[]> {
  return client.list<Release>(`/repos/${repository}/releases?per_page=100`);
}

export function findRelease(releases: Release[], tag: string): { published?: Release; drafts: Release[] } {
  const matching = releases.filter((r) => r.tag_name === tag);
  return { published: matching.find((r) => !r.draft), drafts: matching.filter((r) => r.draft) };
}

/** The SHA-256 (hex) of an asset: from its digest field, else by downloading it. */
export async function assetSha256(client: GitHubClient, asset: ReleaseAsset): Promise<string> {
  const listed = asset.digest ?? undefined;
  if (listed && /^sha256:[0-9a-f]{64}$/.test(listed)) return listed.slice('sha256:'.length);
  const response = await client.request(asset.url, { headers: { accept: 'application/octet-stream' } });
  if (!response.ok) return client.fail(response, 'GET');
  return createHash('sha256')
    .update(Buffer.from(await response.arrayBuffer()))
    .digest('hex');
}

function conflict(tag: string, name: string, theirs: string, ours: string): Error {
  return new Error(
    `release ${tag} already has ${name} with digest sha256:${theirs}, but this package has sha256:${ours}; ` +
      'published chart versions are immutable: publish a new chart version',
  );
}

export interface PublishRequest {
  repository: string;
  tag: string;
  packagePath: string;
  /** The package's .prov, uploaded beside it as <package>.prov (helm --verify fetches it there). */
  provPath?: string | undefined;
  digest: string;
  targetCommitish: string | undefined;
  name: string;
  body: string;
  /** GitHub's make_latest: "true", "false" or "legacy". */
  makeLatest: 'true' | 'false' | 'legacy';
}

function uploadUrl(release: Release, fileName: string): string {
  const base = release.upload_url.replace(/\{[^}]*\}$/, '');
  return `${base}?name=${encodeURIComponent(fileName)}`;
}

async function upload(
  client: GitHubClient,
  release: Release,
  path: string,
  fileName: string,
): Promise<ReleaseAsset> {
  const data = readFileSync(path);
  const type = fileName.endsWith('.prov') ? 'application/pgp-signature' : 'application/gzip';
  return client.json<ReleaseAsset>(uploadUrl(release, fileName), {
    method: 'POST',
    headers: { 'content-type': type, 'content-length': String(data.length) },
    body: () => new Uint8Array(data),
  });
}

/** The package (replacing a stale one: a draft is not published yet) and its .prov, on the draft. */
async function attachToDraft(
  client: GitHubClient,
  draft: Release,
  request: PublishRequest,
  fileName: string,
): Promise<void> {
  const existing = draft.assets.find((a) => a.name === fileName);
  if (existing) {
    const theirs = await assetSha256(client, existing);
    if (theirs !== request.digest) {
      // A draft is not published yet: its stale asset is replaced.
      const response = await client.request(existing.url, { method: 'DELETE' });
      if (!response.ok && response.status !== 404) await client.fail(response, 'DELETE');
      await upload(client, draft, request.packagePath, fileName);
    }
  } else {
    await upload(client, draft, request.packagePath, fileName);
  }
  if (!request.provPath) return;
  // A draft's .prov (from an interrupted run) is replaced: it must be of the package now attached.
  const prov = draft.assets.find((a) => a.name === `${fileName}.prov`);
  if (prov) {
    const response = await client.request(prov.url, { method: 'DELETE' });
    if (!response.ok && response.status !== 404) await client.fail(response, 'DELETE');
  }
  await upload(client, draft, request.provPath, `${fileName}.prov`);
}

/** The .prov of a published release's package, when it lacks one and can still take assets. */
async function attachProv(
  client: GitHubClient,
  release: Release,
  request: PublishRequest,
  fileName: string,
  log: (message: string) => void,
): Promise<void> {
  if (!request.provPath || release.assets.some((a) => a.name === `${fileName}.prov`)) return;
  if (release.immutable) {
    log(`Release ${request.tag} is immutable without ${fileName}.prov; it cannot be attached any more`);
    return;
  }
  await upload(client, release, request.provPath, `${fileName}.prov`);
  log(`Attached ${fileName}.prov to the release ${request.tag}`);
}

/**
 * Makes sure the release exists, published, with this exact package attached. An already published release
 * with the same digest is left alone (published: false).
 */
export async function publishRelease(
  client: GitHubClient,
  request: PublishRequest,
  releases: Release[],
  log: (message: string) => void,
): Promise<ReleaseOutcome> {
  const fileName = request.packagePath.split('/').pop()!;
  const { published, drafts } = findRelease(releases, request.tag);
  if (published) {
    const asset = published.assets.find((a) => a.name === fileName);
    if (asset) {
      const theirs = await assetSha256(client, asset);
      if (theirs !== request.digest) throw conflict(request.tag, fileName, theirs, request.digest);
      log(`Release ${request.tag} is already published with this package (sha256:${theirs})`);
      await attachProv(client, published, request, fileName, log);
      return { published: false, release: published, asset };
    }
    if (published.immutable) {
      throw new Error(
        `release ${request.tag} is published and immutable without ${fileName}; it cannot be attached any more: ` +
          'publish a new chart version',
      );
    }
    log(`Release ${request.tag} is published without ${fileName}; attaching it`);
    const attached = await upload(client, published, request.packagePath, fileName);
    await attachProv(client, published, request, fileName, log);
    return { published: true, release: published, asset: attached };
  }

  // A draft left by an interrupted run is finished rather than duplicated.
  let draft = drafts[0];
  if (draft) {
    log(`Finishing the draft release ${request.tag} left by an earlier run`);
  } else {
    draft = await client.json<Release>(`/repos/${request.repository}/releases`, {
      method: 'POST',
      body: JSON.stringify({
        tag_name: request.tag,
        name: request.name,
        body: request.body,
        draft: true,
        make_latest: request.makeLatest,
        ...(request.targetCommitish ? { target_commitish: request.targetCommitish } : {}),
      }),
      headers: { 'content-type': 'application/json' },
    });
    log(`Created the draft release ${request.tag}`);
  }
  await attachToDraft(client, draft, request, fileName);
  let release: Release;
  try {
    release = await client.json<Release>(`/repos/${request.repository}/releases/${draft.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ draft: false, tag_name: request.tag, make_latest: request.makeLatest }),
      headers: { 'content-type': 'application/json' },
    });
  } catch (error) {
    if (error instanceof GitHubApiError && error.codes.includes('already_exists')) {
      throw new Error(
        `release ${request.tag}: another release with this tag was published meanwhile (${error.message})`,
        { cause: error },
      );
    }
    throw error;
  }
  const asset = release.assets.find((a) => a.name === fileName);
  if (!asset) throw new Error(`release ${request.tag} was published without ${fileName}`);
  log(`Published the release ${request.tag}: ${release.html_url}`);
  return { published: true, release, asset };
}
