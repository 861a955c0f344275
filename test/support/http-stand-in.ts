// A local HTTP server that answers with recorded upstream responses: the OpenNebula download site, the
// GitHub REST API and Docker Hub, which cannot be reached from the test machines. It only replays what it
// is given (recorded-format fixtures from test/fixtures, or responses a test sets) and records every request
// it receives.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface ReceivedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingMessage['headers'];
  /** The request body, as text. */
  body: string;
  /** When the request had arrived whole, and when its answer was sent (ms since the epoch). */
  receivedAt: number;
  answeredAt?: number;
}

/**
 * The longest chain of requests where each one was sent only after the previous one was answered: how
 * many round trips a client needed one after the other, whatever their number (2 for "a listing, then
 * every index at once"). Measured, so it fails for a client that serialises what it could overlap.
 */
export function sequentialDepth(requests: readonly ReceivedRequest[]): number {
  const sorted = [...requests].sort((a, b) => a.receivedAt - b.receivedAt);
  const depth: number[] = [];
  sorted.forEach((request, i) => {
    let before = 0;
    for (let j = 0; j < i; j += 1) {
      const earlier = sorted[j]!;
      if (earlier.answeredAt !== undefined && earlier.answeredAt <= request.receivedAt) {
        before = Math.max(before, depth[j]!);
      }
    }
    depth.push(before + 1);
  });
  return Math.max(0, ...depth);
}

/**
 * What a route answers: one response; a sequence (each request takes the next, the last one repeats —
 * for "503 twice, then 200"); or a function of the request and the server's base URL.
 */
export type Route =
  RecordedResponse | RecordedResponse[] | ((request: ReceivedRequest, baseUrl: string) => RecordedResponse);

export interface StandIn {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Sets (or replaces) the answer for a path; the key is "/path" or "/path?query". */
  route(path: string, answer: Route): void;
  /** Removes a path, so it answers 404. */
  unroute(path: string): void;
  close(): Promise<void>;
}

export interface StandInOptions {
  routes?: Record<string, Route>;
  /** Added before every response: the benchmark uses it to model a distant upstream. */
  latencyMs?: number;
}

export async function startStandIn(options: StandInOptions = {}): Promise<StandIn> {
  const routes = new Map<string, Route>(Object.entries(options.routes ?? {}));
  const cursors = new Map<string, number>();
  const requests: ReceivedRequest[] = [];
  let baseUrl = '';

  const answer = (request: ReceivedRequest): RecordedResponse => {
    const pathOnly = request.url.split('?')[0] ?? '/';
    const key = routes.has(request.url) ? request.url : pathOnly;
    const route = routes.get(key);
    if (route === undefined) return { status: 404, body: `no recorded response for ${request.url}\n` };
    if (typeof route === 'function') return route(request, baseUrl);
    if (Array.isArray(route)) {
      const index = cursors.get(key) ?? 0;
      cursors.set(key, index + 1);
      return route[Math.min(index, route.length - 1)] ?? { status: 500 };
    }
    return route;
  };

  const reply = (request: ReceivedRequest, res: ServerResponse) => {
    const respond = () => {
      const response = answer(request);
      request.answeredAt = Date.now();
      res.writeHead(response.status ?? 200, response.headers ?? {});
      res.end(request.method === 'HEAD' ? undefined : response.body);
    };
    if (options.latencyMs) setTimeout(respond, options.latencyMs);
    else respond();
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: ReceivedRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        receivedAt: Date.now(),
      };
      requests.push(request);
      reply(request, res);
    });
  });
  // Keep-alive sockets would hold close() open; the stand-in serves short tests.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: baseUrl,
    requests,
    route(path, route) {
      routes.set(path, route);
      cursors.delete(path);
    },
    unroute(path) {
      routes.delete(path);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
