// Optional enrichment from GitHub: when and where upstream announced a release. Git tags and GitHub
// releases are not a Community release signal (Enterprise-only versions are tagged too), so nothing here
// ever changes the decision; a failure only leaves the summary without a date.
import { fetchWithRetry, type RetryPolicy } from '../../shared/src/http.js';

export interface ReleaseInfo {
  tag: string;
  url: string;
  publishedAt: string | undefined;
}

interface GitHubRelease {
  tag_name?: string;
  html_url?: string;
  published_at?: string | null;
}

/** Single try, short timeout: enrichment must never slow the decision down noticeably. */
export const ENRICHMENT_POLICY: RetryPolicy = {
  attempts: 1,
  baseDelayMs: 0,
  maxDelayMs: 0,
  timeoutMs: 10_000,
  deadlineMs: 10_000,
};

/** Recent releases of `repository` (owner/name), keyed by tag name. */
export async function fetchReleases(
  apiUrl: string,
  repository: string,
  token: string,
): Promise<Map<string, ReleaseInfo>> {
  const headers: Record<string, string> = {
    accept: 'application/vnd.github+json',
    'x-github-api-version': '2022-11-28',
  };
  if (token) headers.authorization = `Bearer ${token}`;
  const url = `${apiUrl.replace(/\/+$/, '')}/repos/${repository}/releases?per_page=100`;
  const response = await fetchWithRetry(url, { headers }, ENRICHMENT_POLICY);
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`GET ${url}: HTTP ${response.status}`);
  }
  const body = (await response.json()) as unknown;
  if (!Array.isArray(body)) throw new Error(`GET ${url}: expected a JSON array of releases`);
  const releases = new Map<string, ReleaseInfo>();
  for (const release of body as GitHubRelease[]) {
    if (!release.tag_name || !release.html_url) continue;
    releases.set(release.tag_name, {
      tag: release.tag_name,
      url: release.html_url,
      publishedAt: release.published_at ?? undefined,
    });
  }
  return releases;
}

/** OpenNebula tags releases as release-X.Y.Z[.W]. */
export function releaseTagFor(version: string): string {
  return `release-${version}`;
}
