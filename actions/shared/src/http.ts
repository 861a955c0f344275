// HTTP with bounded retries. Transient answers (429, 5xx) and network errors are retried with exponential
// backoff and jitter, honouring Retry-After; everything else is returned to the caller, who knows what a
// 404 means for its question. When retries run out the error names the URL and the last status, so a
// failed run says exactly what it could not learn. GitHub's rate-limit answers (403 or 429 with
// x-ratelimit-remaining: 0) are waited out when the reset comes within the policy, else reported as such.
import { Readable } from 'node:stream';
import { fetch as undiciFetch } from 'undici';
import { proxyDispatcher } from './proxy.js';

export { proxyDispatcher };

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

/** fetch(), through the environment's proxy when there is one. */
function send(url: string, init: RequestInit): Promise<Response> {
  const dispatcher = proxyDispatcher();
  if (!dispatcher) return fetch(url, init);
  return undiciFetch(url, { ...(init as object), dispatcher } as Parameters<
    typeof undiciFetch
  >[1]) as unknown as Promise<Response>;
}

const USER_AGENT = 'opennebula-kubernetes-actions (+https://github.com/OpenNebula/one)';

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * For a rate-limited answer, the milliseconds to wait; undefined for any other answer. GitHub's rules: a
 * 403 or 429 with `Retry-After` (the secondary rate limit) waits that long; with `x-ratelimit-remaining: 0`
 * until `x-ratelimit-reset` (epoch seconds), or a minute when no reset is given.
 */
export function rateLimitWaitMs(response: Response, now: number = Date.now()): number | undefined {
  if (response.status !== 403 && response.status !== 429) return undefined;
  const retryAfter = retryAfterMs(response.headers.get('retry-after'), now);
  if (retryAfter !== undefined) return retryAfter;
  if (response.headers.get('x-ratelimit-remaining') !== '0') return undefined;
  const reset = Number(response.headers.get('x-ratelimit-reset'));
  if (!Number.isFinite(reset) || reset <= 0) return 60_000;
  return Math.max(0, reset * 1000 - now);
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

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', abort, { once: true });
  });
}

function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const causeText = cause instanceof Error ? `: ${cause.message}` : '';
    if (error.name === 'TimeoutError') return 'timed out';
    return `${error.message}${causeText}`;
  }
  return String(error);
}

/** A request body, as fetch() takes it. */
export type RequestBody = NonNullable<RequestInit['body']>;

/** What fetchWithRetry takes: RequestInit, with a body that may be made anew for every try. */
export interface RetryRequestInit extends Omit<RequestInit, 'body'> {
  /** A body, or a function returning a fresh one per try (a file stream can be read only once). */
  body?: RequestBody | null | (() => RequestBody);
  /**
   * Retry even though the method is not idempotent. Only for requests that are safe to repeat, such as
   * starting a registry blob upload (a repeat opens a second, unused upload session).
   */
  retryUnsafe?: boolean;
  /** One try only: the caller retries in its own way (a blob upload opens a new upload session). */
  once?: boolean;
  /**
   * For large bodies (blob uploads): no whole-request deadline, which a slow link would hit; instead the
   * request fails when the body has not moved for this long, and the answer gets the policy's timeoutMs
   * once the body is sent.
   */
  stallTimeoutMs?: number;
}

/** Why a request with stallTimeoutMs was aborted: its body stopped moving, or the answer never came. */
export class StallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StallError';
  }
}

function asStream(body: RequestBody): ReadableStream<Uint8Array> | undefined {
  if (body instanceof ReadableStream) return body as ReadableStream<Uint8Array>;
  if (isNodeStream(body)) return Readable.toWeb(body as unknown as Readable) as ReadableStream<Uint8Array>;
  const bytes = typeof body === 'string' ? Buffer.from(body) : body instanceof Uint8Array ? body : undefined;
  if (!bytes) return undefined;
  let offset = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (offset >= bytes.length) return controller.close();
        controller.enqueue(bytes.subarray(offset, offset + 65_536));
        offset += 65_536;
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * `body` as a stream that aborts the returned signal when no bytes were taken from it for `stallMs`; once
 * it is all sent, the answer has `answerMs`. Timers are unref'd: they never keep the process alive.
 */
export function watchProgress(
  body: RequestBody,
  stallMs: number,
  answerMs: number,
): { body: RequestBody; signal: AbortSignal } {
  const source = asStream(body);
  const controller = new AbortController();
  if (!source) return { body, signal: AbortSignal.timeout(answerMs) };
  let timer: NodeJS.Timeout | undefined;
  const arm = (ms: number, problem: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new StallError(problem)), ms);
    timer.unref();
  };
  const stalled = `stalled: no bytes moved for ${stallMs / 1000}s`;
  arm(stallMs, stalled);
  const reader = source.getReader();
  const watched = new ReadableStream<Uint8Array>(
    {
      async pull(stream) {
        const { value, done } = await reader.read();
        if (done) {
          arm(answerMs, `no answer within ${answerMs / 1000}s after the body was sent`);
          stream.close();
          return;
        }
        arm(stallMs, stalled);
        stream.enqueue(value);
      },
      cancel(reason) {
        clearTimeout(timer);
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return { body: watched, signal: controller.signal };
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/**
 * fetch() with the retry policy. Resolves with the first non-transient response (2xx, 3xx, 4xx other than
 * 429); rejects with an HttpError when every try failed or the deadline passed. Only idempotent methods are
 * retried (see retryUnsafe); the caller's abort signal stops the request and any wait at once.
 */
export async function fetchWithRetry(
  url: string,
  init: RetryRequestInit = {},
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<Response> {
  const started = Date.now();
  const method = (init.method ?? 'GET').toUpperCase();
  const retryable = (IDEMPOTENT_METHODS.has(method) || init.retryUnsafe) && !init.once;
  const attempts = retryable ? policy.attempts : 1;
  const { body, retryUnsafe: _retryUnsafe, once: _once, stallTimeoutMs, signal, ...rest } = init;
  const callerSignal = signal ?? undefined;
  let lastProblem = '';
  let lastStatus: number | undefined;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    callerSignal?.throwIfAborted();
    let wait: number;
    try {
      const headers = new Headers(init.headers);
      if (!headers.has('user-agent')) headers.set('user-agent', USER_AGENT);
      let requestBody = typeof body === 'function' ? body() : body;
      let timeout: AbortSignal;
      if (stallTimeoutMs !== undefined && requestBody !== null && requestBody !== undefined) {
        ({ body: requestBody, signal: timeout } = watchProgress(
          requestBody,
          stallTimeoutMs,
          policy.timeoutMs,
        ));
      } else {
        timeout = AbortSignal.timeout(policy.timeoutMs);
      }
      const combined = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
      const streaming = requestBody instanceof ReadableStream || isNodeStream(requestBody);
      const response = await send(url, {
        ...rest,
        headers,
        body: requestBody,
        signal: combined,
        ...(streaming ? { duplex: 'half' } : {}),
      } as RequestInit);
      const limited = rateLimitWaitMs(response);
      if (!isRetryableStatus(response.status) && limited === undefined) return response;
      lastStatus = response.status;
      lastProblem = `HTTP ${response.status} ${response.statusText}`.trim();
      if (limited !== undefined) {
        const until = new Date(Date.now() + limited).toISOString();
        lastProblem += ` (rate limited until ${until})`;
      }
      const asked = retryAfterMs(response.headers.get('retry-after')) ?? limited;
      await response.body?.cancel();
      wait = asked ?? backoffMs(attempt, policy);
      if (asked !== undefined && asked > policy.maxDelayMs) {
        throw new HttpError(
          `${method} ${url} failed: ${lastProblem}, and waiting for it means ${Math.ceil(asked / 1000)}s, ` +
            `more than the ${policy.maxDelayMs / 1000}s this run waits`,
          url,
          lastStatus,
        );
      }
    } catch (error) {
      if (error instanceof HttpError) throw error;
      if (callerSignal?.aborted) throw callerSignal.reason;
      lastStatus = undefined;
      lastProblem = describeNetworkError(error);
      wait = backoffMs(attempt, policy);
    }
    const isLast = attempt === attempts - 1;
    if (isLast || Date.now() - started + wait > policy.deadlineMs) break;
    await sleep(wait, callerSignal ?? undefined);
  }
  const tries =
    attempts === policy.attempts ? ' after retries' : init.once ? '' : ' (not retried: not idempotent)';
  throw new HttpError(`${method} ${url} failed${tries}: ${lastProblem || 'no response'}`, url, lastStatus);
}

function isNodeStream(body: unknown): boolean {
  return typeof body === 'object' && body !== null && typeof (body as { pipe?: unknown }).pipe === 'function';
}

/** fetchWithRetry that also requires a 2xx and returns the body as text. */
export async function fetchText(
  url: string,
  init: RetryRequestInit = {},
  policy?: RetryPolicy,
): Promise<string> {
  const response = await fetchWithRetry(url, init, policy);
  if (!response.ok) {
    await response.body?.cancel();
    const method = init.method ?? 'GET';
    const problem = `HTTP ${response.status} ${response.statusText}`.trim();
    throw new HttpError(`${method} ${url} failed: ${problem}`, url, response.status);
  }
  return response.text();
}

/** The body of `response` as JSON; an HttpError naming `url` and what was expected when it is not JSON. */
export async function readJson<T>(response: Response, url: string, what: string): Promise<T> {
  const text = await response.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    const type = response.headers.get('content-type') ?? 'no content type';
    throw new HttpError(
      `${url}: expected ${what} as JSON, got ${type}: ${text.slice(0, 120).replace(/\s+/g, ' ').trim()}` +
        ' (a proxy or login page in the way?)',
      url,
      response.status,
    );
  }
}
