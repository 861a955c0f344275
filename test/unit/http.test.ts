import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
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
      /waiting for it means 3600s/,
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

describe('fetchWithRetry: what is retried, waited for and sent where', () => {
  let server: StandIn;
  beforeAll(async () => {
    server = await startStandIn();
  });
  afterAll(async () => server?.close());

  it('retries idempotent requests only, unless told a repeat is safe', async () => {
    server.route('/post', { status: 503 });
    await expect(fetchWithRetry(`${server.url}/post`, { method: 'POST' }, FAST)).rejects.toThrow(
      /POST .*\/post failed \(not retried: not idempotent\): HTTP 503/,
    );
    expect(server.requests.filter((r) => r.url === '/post')).toHaveLength(1);
    await expect(
      fetchWithRetry(`${server.url}/post`, { method: 'POST', retryUnsafe: true }, FAST),
    ).rejects.toThrow(/failed after retries/);
    expect(server.requests.filter((r) => r.url === '/post')).toHaveLength(1 + FAST.attempts);
  });

  it('re-creates a body for every try', async () => {
    server.route('/put', [{ status: 502 }, { status: 201 }]);
    let made = 0;
    const response = await fetchWithRetry(
      `${server.url}/put`,
      { method: 'PUT', body: () => `body ${(made += 1)}` },
      FAST,
    );
    expect(response.status).toBe(201);
    expect(server.requests.filter((r) => r.url === '/put').map((r) => r.body)).toEqual(['body 1', 'body 2']);
  });

  it('waits out a GitHub rate limit that resets within the policy, and reports a longer one', async () => {
    const reset = () => String(Math.ceil(Date.now() / 1000) + 1);
    server.route('/limited', () =>
      server.requests.filter((r) => r.url === '/limited').length === 1
        ? { status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset() } }
        : { status: 200, body: 'ok' },
    );
    expect(await (await fetchWithRetry(`${server.url}/limited`, {}, FAST)).text()).toBe('ok');
    server.route('/long-limit', {
      status: 403,
      headers: {
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 3600),
      },
    });
    await expect(fetchWithRetry(`${server.url}/long-limit`, {}, FAST)).rejects.toThrow(
      /HTTP 403 Forbidden \(rate limited until \d{4}-\d\d-\d\dT.*\), and waiting for it means 36\d\ds/,
    );
    // GitHub's secondary rate limit: 403 with Retry-After (x-ratelimit-remaining need not be 0).
    server.route('/secondary', () =>
      server.requests.filter((r) => r.url === '/secondary').length === 1
        ? { status: 403, headers: { 'retry-after': '1' }, body: '{"message":"secondary rate limit"}' }
        : { status: 200, body: 'ok' },
    );
    const started = Date.now();
    expect(await (await fetchWithRetry(`${server.url}/secondary`, {}, FAST)).text()).toBe('ok');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    // x-ratelimit-remaining: 0 without a reset time: GitHub says wait a minute, more than this policy waits.
    server.route('/no-reset', { status: 403, headers: { 'x-ratelimit-remaining': '0' } });
    await expect(fetchWithRetry(`${server.url}/no-reset`, {}, FAST)).rejects.toThrow(
      /HTTP 403 Forbidden \(rate limited until .*\), and waiting for it means 60s/,
    );
    // A 403 that is not a rate limit is an answer for the caller.
    server.route('/forbidden', { status: 403 });
    expect((await fetchWithRetry(`${server.url}/forbidden`, {}, FAST)).status).toBe(403);
  });

  it("stops at once when the caller's signal aborts, even while waiting to retry", async () => {
    server.route('/down', { status: 503, headers: { 'retry-after': '1' } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('cancelled by the caller')), 100);
    const started = Date.now();
    await expect(
      fetchWithRetry(`${server.url}/down`, { signal: controller.signal }, { ...FAST, maxDelayMs: 5_000 }),
    ).rejects.toThrow('cancelled by the caller');
    expect(Date.now() - started).toBeLessThan(900);
  });
});

describe('fetchWithRetry through the environment proxy', () => {
  let target: StandIn;
  let proxy: Server;
  const seen: string[] = [];
  const saved = { ...process.env };
  beforeAll(async () => {
    target = await startStandIn({ routes: { '/via': { status: 200, body: 'answered' } } });
    // A forward proxy: requests come with an absolute URI, and are passed on to it.
    proxy = createServer((req, res) => {
      seen.push(req.url ?? '');
      const upstream = httpRequest(req.url ?? '', { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    // ...or, as undici's proxy agent does for every request, a CONNECT tunnel to the target.
    proxy.on('connect', (req, socket, head) => {
      seen.push(`CONNECT ${req.url}`);
      const [host, port] = (req.url ?? '').split(':');
      const tunnel = connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        tunnel.write(head);
        tunnel.pipe(socket);
        socket.pipe(tunnel);
      });
      tunnel.on('error', () => socket.destroy());
      socket.on('error', () => tunnel.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    process.env = saved;
    await target?.close();
    await new Promise((resolve) => proxy.close(resolve));
  });

  it('sends requests through http_proxy, and straight to hosts in no_proxy', async () => {
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    process.env = { ...saved, http_proxy: proxyUrl, HTTP_PROXY: proxyUrl };
    delete process.env.no_proxy;
    delete process.env.NO_PROXY;
    expect(await fetchText(`${target.url}/via`, {}, FAST)).toBe('answered');
    expect(seen).toEqual([
      expect.stringMatching(new RegExp(`^(CONNECT ${new URL(target.url).host}|${target.url}/via)$`)),
    ]);
    process.env.no_proxy = '127.0.0.1';
    expect(await fetchText(`${target.url}/via`, {}, FAST)).toBe('answered');
    expect(seen).toHaveLength(1);
  });
});
