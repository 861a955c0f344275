// Downloading a tool an action runs (Trivy, helm, cosign): fetched with @actions/tool-cache, verified against
// the SHA-256 its publisher lists BEFORE it is unpacked or run, and cached by name and version, so a runner
// downloads each version once and never runs bytes nobody vouched for. The cache entry appears atomically:
// the archive is unpacked into a temporary directory beside it and renamed into place, so jobs sharing one
// tool cache (self-hosted runners) never see a half-copied tool, and never delete one another's.
import * as core from '@actions/core';
import * as tc from '@actions/tool-cache';
import { createHash, randomUUID } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { arch } from 'node:os';
import { dirname, join } from 'node:path';
import { fetchText, type RetryPolicy } from './http.js';

export interface ToolDownload {
  /** Cache key, e.g. "trivy". */
  name: string;
  /** Version as cached, without a leading v, e.g. "0.74.0". */
  version: string;
  /** The archive (.tar.gz), or the executable itself when `binary` is set (cosign's releases). */
  url: string;
  /** The download is the executable, not an archive: it is cached as `executable`, made executable. */
  binary?: boolean;
  /** The file listing its SHA-256: either `<hex>  <file>` lines or a lone hex digest. */
  checksumUrl: string;
  /** The archive's file name as listed in the checksum file (default: the URL's last path segment). */
  fileName?: string;
  /** Path of the executable inside the unpacked archive, e.g. "trivy" or "linux-amd64/helm". */
  executable: string;
  policy?: RetryPolicy;
}

const HEX64 = /^[0-9a-f]{64}$/i;

/**
 * The SHA-256 a checksum file gives for `fileName`: `sha256sum` output (`<hex>  <name>` or `<hex> *<name>`,
 * any number of lines), or a file holding only the digest. Throws when the file names it not at all, or
 * more than once with different digests.
 */
export function expectedSha256(checksums: string, fileName: string, source = 'the checksum file'): string {
  const lines = checksums
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (lines.length === 1 && HEX64.test(lines[0] ?? '')) return (lines[0] ?? '').toLowerCase();
  const found = new Set<string>();
  for (const line of lines) {
    const match = /^([0-9a-fA-F]{64})\s+\*?(.+)$/.exec(line);
    if (match && (match[2] === fileName || match[2]?.endsWith(`/${fileName}`)))
      found.add(match[1]!.toLowerCase());
  }
  if (found.size === 0) throw new Error(`${source} lists no SHA-256 for ${fileName}`);
  if (found.size > 1) throw new Error(`${source} lists conflicting SHA-256 digests for ${fileName}`);
  return [...found][0]!;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The tool's executable: from the runner's tool cache, else downloaded, verified, unpacked and cached. */
export async function installTool(tool: ToolDownload): Promise<string> {
  const cached = tc.find(tool.name, tool.version);
  if (cached) {
    core.info(`${tool.name} ${tool.version} from the tool cache (${cached})`);
    return `${cached}/${tool.executable}`;
  }
  const fileName = tool.fileName ?? decodeURIComponent(new URL(tool.url).pathname.split('/').pop() ?? '');
  const checksums = await fetchText(tool.checksumUrl, {}, tool.policy).catch((error: Error) => {
    throw new Error(`${tool.name} ${tool.version}: cannot read its checksums: ${error.message}`);
  });
  const expected = expectedSha256(checksums, fileName, tool.checksumUrl);
  core.info(`Downloading ${tool.url}`);
  let archive: string;
  try {
    archive = await tc.downloadTool(tool.url);
  } catch (error) {
    throw new Error(
      `${tool.name} ${tool.version}: download of ${tool.url} failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const actual = await sha256File(archive);
  if (actual !== expected) {
    throw new Error(
      `${tool.name} ${tool.version}: ${fileName} has SHA-256 ${actual}, but ${tool.checksumUrl} lists ` +
        `${expected}; refusing to run it`,
    );
  }
  core.info(`${fileName}: SHA-256 ${actual} matches ${tool.checksumUrl}`);
  const dir = await unpackIntoCache(archive, tool);
  rmSync(archive, { force: true });
  return `${dir}/${tool.executable}`;
}

/**
 * Unpacks `archive` into <tool cache>/<name>/<version>/<arch> (where tc.find looks) atomically: into a
 * temporary directory on the same file system, then one rename. When another job got there first, its
 * complete copy is used and ours discarded; a copy left incomplete (no executable) is moved aside first.
 */
export async function unpackIntoCache(archive: string, tool: ToolDownload): Promise<string> {
  const root = process.env.RUNNER_TOOL_CACHE;
  if (!root) throw new Error(`${tool.name} ${tool.version}: RUNNER_TOOL_CACHE is not set`);
  const final = join(root, tool.name, tool.version, arch());
  mkdirSync(dirname(final), { recursive: true });
  const partial = join(root, tool.name, `.${tool.version}-${arch()}-${randomUUID()}.partial`);
  try {
    if (tool.binary) {
      mkdirSync(partial, { recursive: true });
      copyFileSync(archive, join(partial, tool.executable));
      chmodSync(join(partial, tool.executable), 0o755);
    } else {
      await tc.extractTar(archive, partial);
    }
    if (!existsSync(join(partial, tool.executable))) {
      throw new Error(`${tool.name} ${tool.version}: the archive holds no ${tool.executable}`);
    }
    if (!claim(partial, final, tool.executable)) {
      core.info(`${tool.name} ${tool.version}: another job cached it first (${final}); using that copy`);
    }
    writeFileSync(`${final}.complete`, '');
    return final;
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}

/** Renames `partial` to `final`; false when a complete copy is already there (then `partial` is unused). */
function claim(partial: string, final: string, executable: string): boolean {
  for (let attempt = 0; ; attempt += 1) {
    try {
      renameSync(partial, final);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      if (existsSync(join(final, executable))) return false;
      if (attempt > 0) throw error;
    }
    const stale = `${final}.${randomUUID()}.stale`;
    renameSync(final, stale);
    rmSync(stale, { recursive: true, force: true });
  }
}

/** Which releases of a tool an input may name: known-bad ones refused, none older than `min`. */
export interface VersionPolicy {
  /** The input naming the version, e.g. "trivy-version", and the tool's name, e.g. "Trivy". */
  input: string;
  tool: string;
  /** An example for the error message, e.g. "v0.74.0". */
  example: string;
  /** Releases never downloaded, and why (appended to the error). */
  refused: readonly string[];
  refusedBecause: string;
  /** The oldest release supported, and what older ones lack. */
  min: string;
  minBecause: string;
}

export function compareVersions(a: string, b: string): number {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i += 1) if (x![i] !== y![i]) return x![i]! - y![i]!;
  return 0;
}

/** `v1.2.3` or `1.2.3` → `1.2.3`, refusing what `policy` refuses; every error names the input. */
export function parseToolVersion(text: string, policy: VersionPolicy): string {
  const match = /^v?(\d+\.\d+\.\d+)$/.exec(text.trim());
  if (!match) throw new Error(`${policy.input}: "${text}" is not a version such as ${policy.example}`);
  const version = match[1]!;
  if (policy.refused.includes(version)) {
    throw new Error(
      `${policy.input}: ${version} is refused: ${policy.tool} ${policy.refused.join(', ')} ${policy.refusedBecause}; ` +
        'use another release',
    );
  }
  if (compareVersions(version, policy.min) < 0) {
    throw new Error(
      `${policy.input}: ${version} is older than ${policy.min}, the oldest ${policy.tool} this action supports ` +
        `(${policy.minBecause}); use a newer release`,
    );
  }
  return version;
}
