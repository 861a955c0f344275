// A real S3-compatible server for tests: SeaweedFS (`weed server` with its S3 gateway, built from source by
// test/tools/install.d/seaweedfs.sh) on 127.0.0.1, with one identity and one bucket, in a throw-away
// directory. Its filer's HTTP API reads objects independently of any S3 client under test.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './oci-registry.js';
import { requireTool, runCommand } from './tools.js';

export interface S3Server {
  readonly endpoint: string;
  readonly bucket: string;
  readonly accessKey: string;
  readonly secretKey: string;
  /** An object's bytes as the filer stores them (undefined when there is none). */
  object(key: string): Promise<Buffer | undefined>;
  /** Puts an object through the filer (not through S3). */
  put(key: string, body: string): Promise<void>;
  /** The keys under the bucket. */
  keys(): Promise<string[]>;
  stop(): Promise<void>;
}

/** A port below 55536: weed listens on port + 10000 for gRPC. */
async function lowPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port < 55536) return port;
  }
}

export async function startS3(bucket = 'backups'): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'seaweedfs-'));
  const [master, volume, filer, s3] = [await lowPort(), await lowPort(), await lowPort(), await lowPort()];
  const accessKey = 'AKIDOPENNEBULABACKUP';
  const secretKey = 'backup-secret-key-for-tests';
  writeFileSync(
    join(dir, 's3.json'),
    JSON.stringify({
      identities: [
        {
          name: 'backup',
          credentials: [{ accessKey, secretKey }],
          actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
        },
      ],
    }),
  );
  const weed: ChildProcess = spawn(
    requireTool('weed'),
    [
      'server',
      '-ip=127.0.0.1',
      '-ip.bind=127.0.0.1',
      `-dir=${dir}`,
      `-master.port=${master}`,
      '-master.volumeSizeLimitMB=64',
      `-volume.port=${volume}`,
      '-volume.max=8',
      '-filer',
      `-filer.port=${filer}`,
      '-s3',
      `-s3.port=${s3}`,
      `-s3.config=${join(dir, 's3.json')}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  weed.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-20_000)));
  const filerUrl = `http://127.0.0.1:${filer}`;
  const stop = async () => {
    if (weed.exitCode === null) {
      weed.kill('SIGTERM');
      await new Promise((resolve) => weed.once('exit', resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready when the S3 gateway answers (403 to an unsigned request) and the bucket exists.
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const answer = await fetch(`http://127.0.0.1:${s3}/`);
      if (answer.status === 403) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || weed.exitCode !== null) {
      await stop();
      throw new Error(`weed server did not start:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const created = await runCommand(requireTool('weed'), ['shell', `-master=127.0.0.1:${master}`], {
    input: `s3.bucket.create -name ${bucket}\nexit\n`,
  });
  if (created.code !== 0) {
    await stop();
    throw new Error(`creating bucket ${bucket} failed:\n${created.stdout}${created.stderr}`);
  }
  return {
    endpoint: `http://127.0.0.1:${s3}`,
    bucket,
    accessKey,
    secretKey,
    async object(key) {
      const answer = await fetch(`${filerUrl}/buckets/${bucket}/${key}`);
      return answer.status === 200 ? Buffer.from(await answer.arrayBuffer()) : undefined;
    },
    async put(key, body) {
      const form = new FormData();
      form.append('file', new Blob([body]), key.split('/').at(-1));
      const answer = await fetch(`${filerUrl}/buckets/${bucket}/${key}`, { method: 'POST', body: form });
      if (!answer.ok) throw new Error(`filer refused ${key}: ${answer.status} ${await answer.text()}`);
    },
    async keys() {
      const walk = async (path: string): Promise<string[]> => {
        const answer = await fetch(`${filerUrl}/buckets/${bucket}/${path}?limit=1000`, {
          headers: { Accept: 'application/json' },
        });
        const listing = (await answer.json()) as { Entries?: { FullPath: string; Mode: number }[] | null };
        const entries = listing.Entries ?? [];
        const nested = await Promise.all(
          entries.map((e) => {
            const relative = e.FullPath.slice(`/buckets/${bucket}/`.length);
            return e.Mode & 0x80000000 ? walk(`${relative}/`) : Promise.resolve([relative]);
          }),
        );
        return nested.flat();
      };
      return (await walk('')).sort();
    },
    stop,
  };
}
