// The backups' S3 client (files/s3.rb) uploads large files in parts: S3 refuses a single PUT over 5 GiB
// (EntityTooLarge). Against a real S3-compatible server (SeaweedFS, test/support/seaweedfs.ts) behind a
// recording proxy (test/support/throttled-proxy.ts: every request seen, chosen ones refused), with the
// chart's smallest part size (5 MiB, S3's minimum) so that the files stay small.
//
// SeaweedFS refuses parts under 5 MiB at completion (EntityTooSmall) as S3 does (the last test shows it);
// it does not refuse a single PUT over 5 GiB. The client never sends one: its threshold is at most 5 GiB,
// refused above by the chart's template (tests/backup_test.yaml) and by the client itself (tested here).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { startS3, type S3Server } from '../support/seaweedfs.js';
import { startThrottledProxy, type ThrottledProxy } from '../support/throttled-proxy.js';
import { REPO_ROOT, runCommand, runTool } from '../support/tools.js';

const CHART = join(REPO_ROOT, 'chart/opennebula');
const CLIENT = readFileSync(join(CHART, 'files/s3.rb'), 'utf8');
const MIB = 2 ** 20;

let s3: S3Server;
let proxy: ThrottledProxy;
let work: string;
let settings: Record<string, string>;

/** The S3 settings of the backup CronJob's container as the chart renders them with VALUES. */
function renderedS3Env(values: string[]): Record<string, string> {
  const set = ['backup.enabled=true', 'backup.s3.enabled=true', 'backup.s3.endpoint=http://s3.example.org'];
  set.push('backup.s3.bucket=backups', 'backup.s3.existingSecret=s3', ...values);
  const text = runTool('helm', ['template', 'one', CHART, '-s', 'templates/backup.yaml', ...set.flatMap((v) => ['--set', v])]);
  type Container = { env: { name: string; value?: string }[] };
  const cronJob = parseAllDocuments(text)
    .map((doc) => doc.toJS() as { kind?: string; spec: { jobTemplate: { spec: { template: { spec: { containers: Container[] } } } } } })
    .find((doc) => doc?.kind === 'CronJob')!;
  const env = cronJob.spec.jobTemplate.spec.template.spec.containers[0]!.env;
  return Object.fromEntries(env.filter((e) => e.name.startsWith('S3_') && e.name !== 'S3_CLIENT').map((e) => [e.name, e.value!]));
}

/** The client, as the backup script runs it (ruby -e "$S3_CLIENT"), with the rendered settings. */
function client(args: string[], env: Record<string, string> = {}, code = CLIENT) {
  return runCommand('ruby', ['-e', code, ...args], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...settings,
      S3_ENDPOINT: `http://${proxy.host}`,
      S3_ACCESS_KEY_ID_FILE: join(work, 'access-key-id'),
      S3_SECRET_ACCESS_KEY_FILE: join(work, 'secret-access-key'),
      ...env,
    },
  });
}

function file(name: string, bytes: number): string {
  const path = join(work, name);
  writeFileSync(path, randomBytes(bytes));
  return path;
}

/** The requests the server saw since the last call, as METHOD and the query's S3 operation. */
function seen(): string[] {
  const requests = proxy.requests.splice(0).map((r) => {
    const query = new URL(r.url, 'http://x').searchParams;
    const operation = query.has('uploads') ? '?uploads' : query.has('partNumber') ? `?partNumber=${query.get('partNumber')}` : query.has('uploadId') ? '?uploadId' : '';
    return `${r.method}${operation} ${r.status}`;
  });
  return requests;
}

beforeAll(async () => {
  s3 = await startS3('backups');
  proxy = await startThrottledProxy(s3.endpoint);
  work = mkdtempSync(join(tmpdir(), 's3-multipart-'));
  writeFileSync(join(work, 'access-key-id'), s3.accessKey);
  writeFileSync(join(work, 'secret-access-key'), s3.secretKey);
  settings = renderedS3Env(['backup.s3.multipartThreshold=5Mi', 'backup.s3.partSize=5Mi']);
}, 180_000);
afterAll(async () => {
  await proxy?.close();
  await s3?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});
beforeEach(() => {
  proxy.set({});
  proxy.requests.splice(0);
});

describe('S3 multipart uploads (backup.s3.multipartThreshold, backup.s3.partSize)', () => {
  it('renders the thresholds in bytes, 256Mi and 64Mi by default', () => {
    expect(settings).toMatchObject({ S3_MULTIPART_THRESHOLD: String(5 * MIB), S3_PART_SIZE: String(5 * MIB) });
    expect(renderedS3Env([])).toMatchObject({ S3_MULTIPART_THRESHOLD: String(256 * MIB), S3_PART_SIZE: String(64 * MIB) });
  });

  it('uploads a file above the threshold in parts, byte for byte', async () => {
    const path = file('large.sql.gz', 12 * MIB + 7);
    const run = await client(['put', path, 'one/large.sql.gz']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/uploaded .*large\.sql\.gz to s3:\/\/backups\/one\/large\.sql\.gz in 3 parts of 5242880 bytes/);
    expect(seen()).toEqual(['POST?uploads 200', 'PUT?partNumber=1 200', 'PUT?partNumber=2 200', 'PUT?partNumber=3 200', 'POST?uploadId 200', 'HEAD 200']);
    expect((await s3.object('one/large.sql.gz'))!.equals(readFileSync(path))).toBe(true);
  }, 60_000);

  it('keeps one PUT up to the threshold', async () => {
    const path = file('small.sql.gz', 5 * MIB);
    const run = await client(['put', path, 'one/small.sql.gz']);
    expect(run.code, run.stderr).toBe(0);
    expect(seen()).toEqual(['PUT 200', 'HEAD 200']);
    expect((await s3.object('one/small.sql.gz'))!.equals(readFileSync(path))).toBe(true);
  }, 60_000);

  it('aborts the upload when a part is refused, naming the part and the answer; no parts stay', async () => {
    proxy.set({
      refuse: (request) =>
        request.method === 'PUT' && new URL(request.url ?? '', 'http://x').searchParams.get('partNumber') === '2'
          ? { status: 503, body: '<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>' }
          : undefined,
    });
    const run = await client(['put', file('refused.sql.gz', 11 * MIB), 'one/refused.sql.gz']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/S3: uploading part 2 of .*refused\.sql\.gz to s3:\/\/backups\/one\/refused\.sql\.gz: HTTP 503 SlowDown: Please reduce your request rate\./);
    expect(run.stderr).toMatch(/S3: aborted the multipart upload \S+ of s3:\/\/backups\/one\/refused\.sql\.gz/);
    expect(seen()).toEqual(['POST?uploads 200', 'PUT?partNumber=1 200', 'PUT?partNumber=2 503', 'DELETE?uploadId 204']);
    const keys = await s3.keys();
    expect(keys).not.toContain('one/refused.sql.gz');
    expect(keys.filter((key) => key.includes('.uploads'))).toEqual([]);
  }, 60_000);

  it('refuses part sizes and thresholds outside S3’s limits, naming the setting', async () => {
    const path = file('any.sql.gz', 1024);
    const small = await client(['put', path, 'one/any.sql.gz'], { S3_PART_SIZE: String(MIB) });
    expect(small.code).toBe(1);
    expect(small.stderr).toMatch(/S3: S3_PART_SIZE must be between 5242880 and 5368709120 bytes \(S3's limits\), got 1048576/);
    const large = await client(['put', path, 'one/any.sql.gz'], { S3_MULTIPART_THRESHOLD: String(5 * 2 ** 30 + 1) });
    expect(large.code).toBe(1);
    expect(large.stderr).toMatch(/S3: S3_MULTIPART_THRESHOLD must be between 1 and 5368709120 bytes/);
    const word = await client(['put', path, 'one/any.sql.gz'], { S3_PART_SIZE: '64Mi' });
    expect(word.stderr).toMatch(/S3: S3_PART_SIZE must be a whole number of bytes, got "64Mi"/);
    expect(seen()).toEqual([]);
  });

  it('the stand-in refuses parts under 5 MiB as S3 does (EntityTooSmall), and the client aborts', async () => {
    // The client's own guard lowered, to show the server's refusal behind it.
    const unguarded = CLIENT.replace(/^PART_MIN = 5 \* MIB$/m, 'PART_MIN = 1');
    expect(unguarded).not.toBe(CLIENT);
    const run = await client(['put', file('tiny-parts.sql.gz', 3 * MIB), 'one/tiny-parts.sql.gz'], { S3_MULTIPART_THRESHOLD: '1', S3_PART_SIZE: String(MIB) }, unguarded);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/S3: completing the multipart upload of .* HTTP 400 EntityTooSmall/);
    expect(run.stderr).toMatch(/S3: aborted the multipart upload/);
    expect(await s3.keys()).not.toContain('one/tiny-parts.sql.gz');
  }, 60_000);
});
