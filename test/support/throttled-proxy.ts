// An HTTP proxy in front of a real registry (test/support/oci-registry.ts) that makes it as slow or as
// unreliable as a real one over a real link: blob upload bodies (PUT/PATCH to /blobs/uploads/) are read at
// a limited rate, or stop being read after some bytes (a stalled link), or the connection breaks after some
// bytes; chosen requests are refused. The Host header passes through unchanged, so the registry's Location
// headers point back at the proxy. Every request is recorded with its duration.
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyOptions {
  /** Upload bodies are read at this many bytes per second. */
  bytesPerSecond?: number;
  /** Upload bodies stop being read after this many bytes: the upload stalls until the client gives up. */
  stallAfterBytes?: number;
  /** The first `count` upload requests lose their connection after `bytes` bytes. */
  breakUploads?: { count: number; bytes: number };
  /** An answer to send instead of forwarding, e.g. 405 to PATCH or 500 to a tag PUT. */
  refuse?: (request: IncomingMessage) => { status: number; body?: string } | undefined;
}

export interface ProxyRecord {
  method: string;
  url: string;
  status: number | undefined;
  bytes: number;
  ms: number;
}

export interface ThrottledProxy {
  /** 127.0.0.1:PORT, for image names. */
  readonly host: string;
  readonly requests: ProxyRecord[];
  /** Changes the behaviour for the requests that follow. */
  set(options: ProxyOptions): void;
  close(): Promise<void>;
}

const isUpload = (request: IncomingMessage) =>
  (request.method === 'PUT' || request.method === 'PATCH') && (request.url ?? '').includes('/blobs/uploads/');

export async function startThrottledProxy(
  upstream: string,
  initial: ProxyOptions = {},
): Promise<ThrottledProxy> {
  let options = initial;
  let broken = 0;
  const requests: ProxyRecord[] = [];
  const server: Server = createServer((req, res) => {
    const record: ProxyRecord = {
      method: req.method ?? '',
      url: req.url ?? '',
      status: undefined,
      bytes: 0,
      ms: 0,
    };
    const started = Date.now();
    requests.push(record);
    res.on('close', () => (record.ms = Date.now() - started));
    const refusal = options.refuse?.(req);
    if (refusal) {
      req.resume();
      record.status = refusal.status;
      res.writeHead(refusal.status, { 'content-type': 'application/json' }).end(refusal.body ?? '');
      return;
    }
    const upstreamRequest = httpRequest(
      `${upstream}${req.url}`,
      { method: req.method, headers: req.headers },
      (answer) => {
        record.status = answer.statusCode;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstreamRequest.on('error', () => res.destroy());
    if (!isUpload(req)) {
      req.pipe(upstreamRequest);
      return;
    }
    const { bytesPerSecond, stallAfterBytes } = options;
    const breakAt =
      options.breakUploads && broken < options.breakUploads.count ? options.breakUploads.bytes : undefined;
    if (breakAt !== undefined) broken += 1;
    req.on('data', (chunk: Buffer) => {
      record.bytes += chunk.length;
      upstreamRequest.write(chunk);
      if (breakAt !== undefined && record.bytes >= breakAt) {
        upstreamRequest.destroy();
        req.socket.destroy();
        return;
      }
      if (stallAfterBytes !== undefined && record.bytes >= stallAfterBytes) {
        req.pause(); // never resumed: the client sees its body stop moving
        return;
      }
      if (bytesPerSecond) {
        const due = started + (record.bytes / bytesPerSecond) * 1000;
        if (due > Date.now()) {
          req.pause();
          setTimeout(() => req.resume(), due - Date.now());
        }
      }
    });
    req.on('end', () => upstreamRequest.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    set(next) {
      options = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
