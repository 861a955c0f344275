import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backoffMs,
  fetchText,
  fetchWithRetry,
  retryAfterMs,
  type RetryPolicy,
} from '../../actions/shared/src/http.js';
import { sequentialDepth, startStandIn, type StandIn } from '../support/http-stand-in.js';

const FAST: RetryPolicy = {
  attempts: 4,
  baseDelayMs: 10,
  maxDelayMs: 2_000,
  timeoutMs: 2_000,
  deadlineMs: 10_000,
};

describe('retry arithmetic', () => {
  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs('Wed, 21 Oct 2026 07:28:05 GMT', Date.parse('Wed, 21 Oct 2026 07:28:00 GMT'))).toBe(
      5000,
    );
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });

  it('backs off exponentially, within half and all of each step, capped', () => {
    const policy = { ...FAST, baseDelayMs: 100, maxDelayMs: 500 };
    expect(backoffMs(0, policy, () => 0)).toBe(50);
    expect(backoffMs(0, policy, () => 1)).toBe(100);
    expect(backoffMs(2, policy, () => 1)).toBe(400);
    expect(backoffMs(5, policy, () => 1)).toBe(500);
  });
});

describe('fetchWithRetry against a local server', () => {
  let server: StandIn;
  beforeAll(async () => {
    server = await startStandIn();
  });
  afterAll(async () => server.close());

  const hits = (path: string) => server.requests.filter((r) => r.url === path).length;

  it('retries 503 and 429 until an answer comes', async () => {
    server.route('/flaky', [
      { status: 503 },
      { status: 429, headers: { 'retry-after': '0' } },
      { status: 200, body: 'ok' },
    ]);
    expect(await fetchText(`${server.url}/flaky`, {}, FAST)).toBe('ok');
    expect(hits('/flaky')).toBe(3);
  });

  it('returns 404 at once: not transient, the caller decides what it means', async () => {
    const response = await fetchWithRetry(`${server.url}/absent`, {}, FAST);
    expect(response.status).toBe(404);
    expect(hits('/absent')).toBe(1);
  });

  it('gives up after the configured attempts, naming URL and status', async () => {
    server.route('/down', { status: 502 });
    await expect(fetchWithRetry(`${server.url}/down`, {}, FAST)).rejects.toThrow(
      `GET ${server.url}/down failed after retries: HTTP 502 Bad Gateway`,
    );
    expect(hits('/down')).toBe(4);
  });

  it('honours Retry-After and refuses waits longer than the policy allows', async () => {
    server.route('/slow-down', [
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 200, body: 'later' },
    ]);
    const started = Date.now();
    expect(await fetchText(`${server.url}/slow-down`, {}, FAST)).toBe('later');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);

    server.route('/go-away', { status: 503, headers: { 'retry-after': '3600' } });
    await expect(fetchWithRetry(`${server.url}/go-away`, {}, FAST)).rejects.toThrow(
      /Retry-After asks for 3600s/,
    );
  });

  it('retries network errors and reports them', async () => {
    const closed = await startStandIn();
    const url = `${closed.url}/gone`;
    await closed.close();
    await expect(fetchWithRetry(url, {}, { ...FAST, attempts: 2 })).rejects.toThrow(
      new RegExp(`^GET ${url} failed after retries: fetch failed: .*ECONNREFUSED`),
    );
  });

  it('stops at the deadline instead of running past it', async () => {
    server.route('/always-busy', { status: 503 });
    const started = Date.now();
    await expect(
      fetchWithRetry(
        `${server.url}/always-busy`,
        {},
        { ...FAST, attempts: 50, baseDelayMs: 100, deadlineMs: 400 },
      ),
    ).rejects.toThrow(/HTTP 503/);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('times out a request that never answers', async () => {
    const hanging = await startStandIn({ latencyMs: 5_000 });
    try {
      await expect(
        fetchWithRetry(`${hanging.url}/x`, {}, { ...FAST, attempts: 1, timeoutMs: 200 }),
      ).rejects.toThrow(/failed after retries: timed out/);
    } finally {
      await hanging.close();
    }
  });
});

describe('sequentialDepth (the stand-in measure of round trips)', () => {
  const at = (receivedAt: number, answeredAt: number) =>
    ({ method: 'GET', url: '/', headers: {}, body: '', receivedAt, answeredAt }) as const;
  it('counts chains, not requests', () => {
    expect(sequentialDepth([])).toBe(0);
    expect(sequentialDepth([at(0, 10), at(1, 11), at(2, 12)])).toBe(1);
    expect(sequentialDepth([at(0, 10), at(11, 20), at(12, 21)])).toBe(2);
    expect(sequentialDepth([at(0, 10), at(11, 20), at(21, 30), at(31, 40)])).toBe(4);
  });
});
