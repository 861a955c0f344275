// `opennebula-entrypoint probe`: the health checks the chart's probes and `helm test` pods run, against a
// stand-in that answers XML-RPC the way oned does (recorded response bodies in test/fixtures/xmlrpc).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEntrypoint } from '../support/entrypoint.js';
import { startStandIn, type StandIn } from '../support/http-stand-in.js';
import { freePort } from '../support/oci-registry.js';
import { REPO_ROOT } from '../support/tools.js';

const xml = (name: string) => readFileSync(join(REPO_ROOT, 'test/fixtures/xmlrpc', name), 'utf8');
let oned: StandIn;
let port: string;

beforeAll(async () => {
  oned = await startStandIn();
  // Like oned: the version for the right session, "not authenticated" for any other.
  oned.route('/RPC2', (request) => ({
    status: 200,
    headers: { 'content-type': 'text/xml' },
    body: xml(
      request.body.includes('<string>oneadmin:s3cret&amp;&lt;x&gt;</string>')
        ? 'one.system.version.ok.xml'
        : 'one.system.version.unauthenticated.xml',
    ),
  }));
  oned.route('/', { status: 302, headers: { location: '/fireedge/sunstone' } });
  port = new URL(oned.url).port;
});
afterAll(async () => oned?.close());

async function probe(args: string[], env: Record<string, string> = {}) {
  return runEntrypoint(['probe', ...args], env);
}

describe('probe oned', () => {
  it("without credentials asks system.listMethods, which needs no authentication (no failed logins in oned's log)", async () => {
    const run = await probe(['oned', '127.0.0.1', port]);
    expect(run.code, run.stderr).toBe(0);
    const request = oned.requests.at(-1)!;
    expect(request).toMatchObject({ method: 'POST', url: '/RPC2' });
    expect(Number(request.headers['content-length'])).toBe(Buffer.byteLength(request.body));
    expect(request.body).toContain('<methodName>system.listMethods</methodName>');
  });

  it('calls one.system.version with credentials (XML-escaped) and prints the version', async () => {
    const run = await probe(['oned', '127.0.0.1', port], { ONE_PROBE_AUTH: 'oneadmin:s3cret&<x>' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('OpenNebula 7.4.0');
  });

  it("fails with oned's message when the call is refused", async () => {
    oned.route('/RPC2', () => ({ status: 200, body: xml('one.system.version.unauthenticated.xml') }));
    const run = await probe(['oned', '127.0.0.1', port], { ONE_PROBE_AUTH: 'oneadmin:wrong' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      "one.system.version failed: [one.system.version] User couldn't be authenticated",
    );
  });

  it('fails when something else answers on the port', async () => {
    oned.route('/RPC2', { status: 404, body: 'not here' });
    const run = await probe(['oned', '127.0.0.1', port]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/did not answer HTTP 200/);
  });

  it('fails when nothing listens', async () => {
    const closed = await freePort();
    const run = await probe(['oned', '127.0.0.1', String(closed)]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(new RegExp(`cannot connect to 127\\.0\\.0\\.1:${closed}`));
  });
});

describe('probe fireedge and TCP services', () => {
  it('accepts FireEdge answering with a redirect, refuses a server error', async () => {
    expect((await probe(['fireedge', '127.0.0.1', port])).code).toBe(0);
    oned.route('/', { status: 500, body: 'boom' });
    const run = await probe(['fireedge', '127.0.0.1', port]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/answered: HTTP\/1\.1 500/);
  });

  it('checks that a TCP service listens', async () => {
    expect((await probe(['oneflow', '127.0.0.1', port])).code).toBe(0);
    const closed = await freePort();
    const run = await probe(['onegate', '127.0.0.1', String(closed)]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/nothing listens on 127\.0\.0\.1/);
  });

  it('refuses an unknown service', async () => {
    const run = await probe(['sunstone']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/probe: unknown service "sunstone"/);
  });
});

// probe hem against a running hem is in oned.test.ts (real hem and oned); here, the configuration it reads.
describe('probe hem', () => {
  it.each([
    ['ipc:///var/run/one/hm.sock', 'is not tcp://HOST:PORT'],
    ['tcp://localhost', 'is not tcp://HOST:PORT'],
    ['tcp://localhost:99999', 'is not a TCP/UDP port'],
  ])(
    'refuses the endpoint %s in onehem-server.conf, naming the setting and the file',
    async (endpoint, message) => {
      const root = mkdtempSync(join(tmpdir(), 'probe-hem-'));
      try {
        mkdirSync(join(root, 'etc/one'), { recursive: true });
        const conf = join(root, 'etc/one/onehem-server.conf');
        writeFileSync(
          conf,
          `:debug_level: 2\n:subscriber_endpoint: 'tcp://localhost:2101'\n:replier_endpoint: '${endpoint}'\n`,
        );
        const run = await probe(['hem'], { ONE_ROOT: root });
        expect(run.code).not.toBe(0);
        expect(run.stderr).toContain(`probe hem: `);
        expect(run.stderr).toContain(':replier_endpoint:');
        expect(run.stderr).toContain(conf);
        expect(run.stderr).toContain(message);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  );
});
