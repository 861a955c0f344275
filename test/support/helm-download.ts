// A local get.helm.sh: the pinned helm binary (.tools/bin/helm) packed as helm-v<ver>-linux-amd64.tar.gz
// with linux-amd64/helm inside, beside its .sha256sum in get.helm.sh's format, served on 127.0.0.1. A
// tampered site serves other bytes under the same published checksum. `tool: 'helm3'` serves the pinned
// Helm 3 instead, and `version` names the archive after another version than the binary's.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStandIn, type StandIn } from './http-stand-in.js';
import { requireTool, runTool } from './tools.js';

export interface HelmDownloadSite {
  /** Base URL, as the helm-download-url input takes it. */
  readonly url: string;
  /** The version served, without v (e.g. 4.2.4). */
  readonly version: string;
  readonly stand: StandIn;
  close(): Promise<void>;
}

const packed = new Map<string, { version: string; archive: Buffer }>();

/** A pinned helm's version and its archive (built once per test process). */
function helmArchive(tool: 'helm' | 'helm3'): { version: string; archive: Buffer } {
  const done = packed.get(tool);
  if (done) return done;
  const helm = requireTool(tool);
  const version = /Version:"v([^"]+)"/.exec(runTool(tool, ['version']))?.[1];
  if (!version) throw new Error('cannot read the pinned helm version');
  const dir = mkdtempSync(join(tmpdir(), 'helm-download-'));
  try {
    mkdirSync(join(dir, 'linux-amd64'));
    copyFileSync(helm, join(dir, 'linux-amd64', 'helm'));
    execFileSync('tar', ['-czf', join(dir, 'helm.tar.gz'), '-C', dir, 'linux-amd64']);
    packed.set(tool, { version, archive: readFileSync(join(dir, 'helm.tar.gz')) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return packed.get(tool)!;
}

export async function startHelmDownloadSite(
  options: { tampered?: boolean; tool?: 'helm' | 'helm3'; version?: string } = {},
): Promise<HelmDownloadSite> {
  const packedTool = helmArchive(options.tool ?? 'helm');
  const version = options.version ?? packedTool.version;
  const archive = packedTool.archive;
  const file = `helm-v${version}-linux-amd64.tar.gz`;
  const sha = createHash('sha256').update(archive).digest('hex');
  const served = options.tampered ? Buffer.concat([archive, Buffer.from('tampered')]) : archive;
  const stand = await startStandIn({
    routes: {
      [`/${file}`]: { headers: { 'content-type': 'application/x-tar' }, body: served },
      [`/${file}.sha256sum`]: { headers: { 'content-type': 'text/plain' }, body: `${sha}  ${file}\n` },
    },
  });
  return { url: stand.url, version, stand, close: () => stand.close() };
}
