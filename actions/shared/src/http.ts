// HTTP with bounded retries. Transient answers (429, 5xx) and network errors are retried with exponential
// backoff and jitter, honouring Retry-After; everything else is returned to the caller, who knows what a
// 404 means for its question. When retries run out the error names the URL and the last status, so a
// failed run says exactly what it could not learn.

export interface RetryPolicy {
  /** Total tries, the first included. */
  attempts: number;
  /** First backoff delay; doubled on every retry. */
  baseDelayMs: number;
  /** No single wait is longer than this, whatever Retry-After asks. */
  maxDelayMs: number;
  /** Per-request timeout. */
  timeoutMs: number;
  /** No retry starts after this much time has passed since the first try. */
  deadlineMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
  timeoutMs: 30_000,
  deadlineMs: 60_000,
};

export class HttpError extends Error {
  constructor(
    message: string,
    readonly url: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const USER_AGENT = 'opennebula-kubernetes-actions (+https://github.com/OpenNebula/one)';

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** Milliseconds a Retry-After header asks for (delta-seconds or an HTTP date), or undefined. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export function backoffMs(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponential = policy.baseDelayMs * 2 ** retry;
  // Full jitter on the upper half keeps concurrent clients apart without ever waiting less than half.
  const jittered = exponential / 2 + (random() * exponential) / 2;
  return Math.min(policy.maxDelayMs, jittered);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const causeText = cause instanceof Error ? `: ${cause.message}` : '';
    if (error.name === 'TimeoutError') return 'timed out';
    return `${error.message}${causeText}`;
  }
  return String(error);
}

/**
 * fetch() with the retry policy. Resolves with the first non-transient response (2xx, 3xx, 4xx other than
 * 429); rejects with an HttpError when every try failed or the deadline passed.
 */
export async function fetchWithRetry(
  url: string,
  init: RequestInit = {},
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<Response> {
  const started = Date.now();
  const method = init.method ?? 'GET';
  let lastProblem = '';
  let lastStatus: number | undefined;
  for (let attempt = 0; attempt < policy.attempts; attempt += 1) {
    let wait: number;
    try {
      const headers = new Headers(init.headers);
      if (!headers.has('user-agent')) headers.set('user-agent', USER_AGENT);
      const response = await fetch(url, { ...init, headers, signal: AbortSignal.timeout(policy.timeoutMs) });
      if (!isRetryableStatus(response.status)) return response;
      lastStatus = response.status;
      lastProblem = `HTTP ${response.status} ${response.statusText}`.trim();
      const asked = retryAfterMs(response.headers.get('retry-after'));
      await response.body?.cancel();
      wait = asked ?? backoffMs(attempt, policy);
      if (asked !== undefined && asked > policy.maxDelayMs) {
        throw new HttpError(
          `${method} ${url} failed: ${lastProblem}, and Retry-After asks for ${Math.ceil(asked / 1000)}s, ` +
            `more than the ${policy.maxDelayMs / 1000}s this run waits`,
          url,
          lastStatus,
        );
      }
    } catch (error) {
      if (error instanceof HttpError) throw error;
      lastStatus = undefined;
      lastProblem = describeNetworkError(error);
      wait = backoffMs(attempt, policy);
    }
    const isLast = attempt === policy.attempts - 1;
    if (isLast || Date.now() - started + wait > policy.deadlineMs) break;
    await sleep(wait);
  }
  throw new HttpError(
    `${method} ${url} failed after retries: ${lastProblem || 'no response'}`,
    url,
    lastStatus,
  );
}

/** fetchWithRetry that also requires a 2xx and returns the body as text. */
export async function fetchText(url: string, init: RequestInit = {}, policy?: RetryPolicy): Promise<string> {
  const response = await fetchWithRetry(url, init, policy);
  if (!response.ok) {
    await response.body?.cancel();
    const method = init.method ?? 'GET';
    const problem = `HTTP ${response.status} ${response.statusText}`.trim();
    throw new HttpError(`${method} ${url} failed: ${problem}`, url, response.status);
  }
  return response.text();
}
