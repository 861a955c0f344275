// GitHub REST calls from an action: the token in the Authorization header only (never in a URL or a log),
// the API version pinned, transient answers retried by fetchWithRetry, and list endpoints read to the end by
// following Link rel="next" (same origin, bounded), so nothing past the first page is ever missed.
import { HttpError, fetchWithRetry, type RetryPolicy, type RetryRequestInit } from './http.js';
import { nextLink } from './registry.js';

/** At most this many pages of a list are read (10,000 items at 100 a page). */
export const MAX_LIST_PAGES = 100;

export class GitHubApiError extends HttpError {
  constructor(
    message: string,
    url: string,
    status: number | undefined,
    /** The `errors[].code` values of a 422 answer (e.g. already_exists). */
    readonly codes: string[] = [],
  ) {
    super(message, url, status);
    this.name = 'GitHubApiError';
  }
}

export class GitHubClient {
  constructor(
    /** e.g. https://api.github.com (no trailing slash needed). */
    readonly apiUrl: string,
    private readonly token: string,
    private readonly policy?: RetryPolicy,
  ) {}

  /** An absolute URL for an API path ("/repos/o/r/releases"), or the URL itself when already absolute. */
  url(path: string): string {
    if (/^https?:\/\//i.test(path)) return path;
    return `${this.apiUrl.replace(/\/+$/, '')}${path}`;
  }

  private headers(extra?: RetryRequestInit['headers']): Headers {
    const headers = new Headers(extra);
    if (!headers.has('accept')) headers.set('accept', 'application/vnd.github+json');
    headers.set('x-github-api-version', '2022-11-28');
    if (this.token) headers.set('authorization', `Bearer ${this.token}`);
    return headers;
  }

  /** The raw response, whatever its status. */
  async request(path: string, init: RetryRequestInit = {}): Promise<Response> {
    return fetchWithRetry(this.url(path), { ...init, headers: this.headers(init.headers) }, this.policy);
  }

  /** A 2xx answer's JSON body; anything else throws a GitHubApiError naming the request and GitHub's message. */
  async json<T>(path: string, init: RetryRequestInit = {}): Promise<T> {
    const response = await this.request(path, init);
    if (!response.ok) return this.fail(response, init.method ?? 'GET');
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async fail(response: Response, method: string): Promise<never> {
    const text = await response.text().catch(() => '');
    let message = text.slice(0, 300).trim();
    let codes: string[] = [];
    try {
      const body = JSON.parse(text) as { message?: string; errors?: { code?: string; message?: string }[] };
      codes = (body.errors ?? []).map((e) => e.code ?? '').filter(Boolean);
      const details = (body.errors ?? []).map((e) => e.message ?? e.code).filter(Boolean);
      message = [body.message, ...details].filter(Boolean).join(': ');
    } catch {
      // not JSON: keep the text
    }
    const url = response.url || 'GitHub API';
    throw new GitHubApiError(
      `${method.toUpperCase()} ${url} failed: HTTP ${response.status}${message ? ` (${message})` : ''}`,
      url,
      response.status,
      codes,
    );
  }

  /** Every item of a list endpoint, following Link rel="next" to the last page. */
  async list<T>(path: string): Promise<T[]> {
    const first = this.url(path);
    const origin = new URL(first).origin;
    const items: T[] = [];
    const seen = new Set<string>();
    let url: string | undefined = first;
    while (url) {
      if (seen.size >= MAX_LIST_PAGES) {
        throw new GitHubApiError(`more than ${MAX_LIST_PAGES} pages at ${first}; stopping`, url, undefined);
      }
      seen.add(url);
      const response = await this.request(url);
      if (!response.ok) return this.fail(response, 'GET');
      const body = (await response.json()) as unknown;
      if (!Array.isArray(body)) throw new GitHubApiError(`GET ${url}: expected a JSON array`, url, 200);
      items.push(...(body as T[]));
      const next = nextLink(response.headers.get('link'), url);
      if (next === undefined || seen.has(next)) break;
      if (new URL(next).origin !== origin) {
        throw new GitHubApiError(`GET ${url}: the next page is on another origin (${next})`, next, 200);
      }
      url = next;
    }
    return items;
  }
}
