// `opennebula-entrypoint probe raft`, the readiness of an HA member, in every Raft state: ready as leader,
// follower (or solo), not ready as candidate or when oned does not answer. The local oned here answers
// one.zone.raftstatus as OpenNebula 7.4 does (the Raft rig, raft.test.ts, probes real ones as leader and
// follower; a real candidate lasts too briefly to probe).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runEntrypoint } from '../support/entrypoint.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** An XML-RPC endpoint on 127.0.0.1 whose one.zone.raftstatus reports STATE; returns its port. */
async function onedIn(state: number): Promise<number> {
  const raft = `<RAFT><SERVER_ID>1</SERVER_ID><STATE>${state}</STATE><TERM>4</TERM><VOTEDFOR>0</VOTEDFOR><COMMIT>12</COMMIT><LOG_INDEX>12</LOG_INDEX><LOG_TERM>4</LOG_TERM><FEDLOG_INDEX>-1</FEDLOG_INDEX></RAFT>`;
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const ok = body.includes('<methodName>one.zone.raftstatus</methodName>');
      const value = ok ? raft.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : 'unknown';
      response.writeHead(200, { 'content-type': 'text/xml' });
      response.end(
        `<?xml version="1.0"?><methodResponse><params><param><value><array><data><value><boolean>${ok ? 1 : 0}</boolean></value><value><string>${value}</string></value><value><i4>0</i4></value></data></array></value></param></params></methodResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server!.address() as AddressInfo).port;
}

const probe = (port: number) =>
  runEntrypoint(['probe', 'raft'], { HA_RPC_PORT: String(port), ONEADMIN_PASSWORD: 'x' });

describe('probe raft', () => {
  it.each([
    [0, /^raft: solo$/m],
    [2, /^raft: follower \(term 4\)$/m],
    [3, /^raft: leader \(term 4\)$/m],
  ])('state %i is ready', async (state, message) => {
    const run = await probe(await onedIn(state));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(message);
  });

  it('a candidate is not ready', async () => {
    const run = await probe(await onedIn(1));
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/probe raft: state 1 \(candidate\): not ready/);
  });

  it('an oned that does not answer is not ready', async () => {
    const port = await onedIn(2);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const run = await probe(port);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(new RegExp(`probe raft: oned does not answer on 127\\.0\\.0\\.1:${port}`));
  });
});
