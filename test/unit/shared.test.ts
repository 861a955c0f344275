// The small shared building blocks: checksum files, job-summary HTML, Docker config credentials, references.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startStandIn } from '../support/http-stand-in.js';
import { credentialsFor } from '../../actions/shared/src/docker-config.js';
import { run } from '../../actions/shared/src/exec.js';
import { parseTaggedReference } from '../../actions/shared/src/registry.js';
import { code, escapeHtml, link, table } from '../../actions/shared/src/summary.js';
import { expectedSha256, installTool } from '../../actions/shared/src/tool.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

describe('expectedSha256', () => {
  it('reads sha256sum lines, with or without the binary marker, and a lone digest', () => {
    const file = `${A}  trivy_0.74.0_Linux-64bit.tar.gz\n${B} *trivy_0.74.0_Linux-ARM64.tar.gz\n`;
    expect(expectedSha256(file, 'trivy_0.74.0_Linux-64bit.tar.gz')).toBe(A);
    expect(expectedSha256(file, 'trivy_0.74.0_Linux-ARM64.tar.gz')).toBe(B);
    expect(expectedSha256(`${A.toUpperCase()}\n`, 'helm-v4.2.4-linux-amd64.tar.gz')).toBe(A);
  });
  it('fails when the file is not listed or listed twice differently', () => {
    expect(() => expectedSha256(`${A}  other.tar.gz`, 'x.tar.gz', 'https://e/x')).toThrow(
      'https://e/x lists no SHA-256 for x.tar.gz',
    );
    expect(() => expectedSha256(`${A}  x.tar.gz\n${B}  x.tar.gz`, 'x.tar.gz')).toThrow(/conflicting/);
  });
});

describe('installTool', () => {
  // Eight jobs of a self-hosted runner share one tool cache and start together: each must get a complete,
  // runnable tool, and none may delete the copy another one is already running.
  it('installs atomically: eight concurrent installs into one cache each get a runnable tool', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tool-install-'));
    const site = await startStandIn();
    const saved = { cache: process.env.RUNNER_TOOL_CACHE, temp: process.env.RUNNER_TEMP };
    try {
      const pack = join(dir, 'pack');
      mkdirSync(join(pack, 'bin'), { recursive: true });
      writeFileSync(join(pack, 'bin', 'tool'), '#!/bin/sh\necho tool 1.2.3\n', { mode: 0o755 });
      writeFileSync(join(pack, 'bin', 'payload'), randomBytes(24 * 1024 * 1024));
      execFileSync('tar', ['-czf', join(dir, 'tool.tar.gz'), '-C', pack, 'bin']);
      const archive = readFileSync(join(dir, 'tool.tar.gz'));
      const sha = createHash('sha256').update(archive).digest('hex');
      site.route('/tool.tar.gz', { body: archive });
      site.route('/sums.txt', { body: `${sha}  tool.tar.gz\n` });
      process.env.RUNNER_TOOL_CACHE = join(dir, 'cache');
      process.env.RUNNER_TEMP = join(dir, 'temp');
      const missing: string[] = [];
      const install = () =>
        installTool({
          name: 'tool',
          version: '1.2.3',
          url: `${site.url}/tool.tar.gz`,
          checksumUrl: `${site.url}/sums.txt`,
          executable: 'bin/tool',
        }).then((path) => {
          // What the caller does next: run it. It must be there now, whatever the other jobs are doing.
          if (!existsSync(path)) missing.push(path);
          return path;
        });
      const paths = await Promise.all(Array.from({ length: 8 }, install));
      expect(missing).toEqual([]);
      expect(new Set(paths).size).toBe(1);
      expect(execFileSync(paths[0]!, { encoding: 'utf8' })).toBe('tool 1.2.3\n');
      // Nothing half-done is left beside the entry, and a later job finds it in the cache.
      expect(readdirSync(join(dir, 'cache', 'tool')).sort()).toEqual(['1.2.3']);
      expect(await install()).toBe(paths[0]);
    } finally {
      process.env.RUNNER_TOOL_CACHE = saved.cache;
      process.env.RUNNER_TEMP = saved.temp;
      if (saved.cache === undefined) delete process.env.RUNNER_TOOL_CACHE;
      if (saved.temp === undefined) delete process.env.RUNNER_TEMP;
      await site.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('summary helpers', () => {
  it('escape everything that is not built as HTML', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
    expect(code('<b>')).toBe('<code>&#60;b&#62;</code>');
    expect(link('x', 'javascript:alert(1)')).toBe('x');
    expect(link('x"', 'https://e/?a=1&b=2')).toBe('<a href="https://e/?a=1&#38;b=2">x&#34;</a>');
    expect(table(['A'], [['<i>'], [{ html: '<i>ok</i>' }]])).toBe(
      '<table><tr><th>A</th></tr><tr><td>&#60;i&#62;</td></tr><tr><td><i>ok</i></td></tr></table>',
    );
  });
});

describe('credentialsFor (Docker config file)', () => {
  const withConfig = (config: unknown, fn: (env: NodeJS.ProcessEnv) => void) => {
    const dir = mkdtempSync(join(tmpdir(), 'docker-config-'));
    try {
      writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
      fn({ DOCKER_CONFIG: dir });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  it('reads base64 auth entries under the keys docker/login-action writes', () => {
    const auth = Buffer.from('bot:s3cr:et').toString('base64');
    withConfig({ auths: { 'ghcr.io': { auth }, 'https://index.docker.io/v1/': { auth } } }, (env) => {
      expect(credentialsFor('ghcr.io', env)).toEqual({ username: 'bot', password: 's3cr:et' });
      expect(credentialsFor('docker.io', env)).toEqual({ username: 'bot', password: 's3cr:et' });
      expect(credentialsFor('quay.io', env)).toBeUndefined();
    });
  });
  it('asks the credential helper the config names, by the docker-credential protocol', () => {
    const bin = mkdtempSync(join(tmpdir(), 'cred-helper-'));
    try {
      // A helper as docker-credential-pass and friends behave: the server URL on stdin, JSON out, exit 1 when unknown.
      writeFileSync(
        join(bin, 'docker-credential-test'),
        '#!/bin/sh\nread -r server\n[ "$1" = get ] && [ "$server" = ghcr.io ] || exit 1\nprintf \'{"ServerURL":"ghcr.io","Username":"bot","Secret":"from-helper"}\'\n',
        { mode: 0o755 },
      );
      const path = `${bin}:${process.env.PATH}`;
      const saved = process.env.PATH;
      process.env.PATH = path;
      try {
        withConfig({ credHelpers: { 'ghcr.io': 'test' }, credsStore: 'test' }, (env) => {
          expect(credentialsFor('ghcr.io', env)).toEqual({ username: 'bot', password: 'from-helper' });
          expect(credentialsFor('quay.io', env)).toBeUndefined();
        });
      } finally {
        process.env.PATH = saved;
      }
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('is anonymous without a config file, and names a broken one', () => {
    expect(credentialsFor('ghcr.io', { DOCKER_CONFIG: '/nonexistent' })).toBeUndefined();
    withConfig('{not json', (env) =>
      expect(() => credentialsFor('ghcr.io', env)).toThrow(/config\.json is not valid JSON/),
    );
  });
});

describe('parseTaggedReference', () => {
  it('splits registry, repository, tag and digest', () => {
    const ref = parseTaggedReference(`127.0.0.1:5000/org/one:7.4.0@sha256:${A}`);
    expect([ref.image.registry, ref.image.repository, ref.tag, ref.digest]).toEqual([
      '127.0.0.1:5000',
      'org/one',
      '7.4.0',
      `sha256:${A}`,
    ]);
    expect(parseTaggedReference('127.0.0.1:5000/one').tag).toBeUndefined();
  });
  it('names the input on a bad tag or digest', () => {
    expect(() => parseTaggedReference('ghcr.io/o/n:-bad', 'images')).toThrow(/^images: .* invalid tag/);
    expect(() => parseTaggedReference('ghcr.io/o/n@sha256:12', 'images')).toThrow(
      /^images: .* invalid digest/,
    );
  });
});

describe('run (exec wrapper)', () => {
  it('returns output, and names the command and code on failure', async () => {
    expect((await run('sh', ['-c', 'echo hi'], { silent: true })).stdout).toBe('hi\n');
    await expect(run('sh', ['-c', 'echo boom >&2; exit 3'], { silent: true })).rejects.toThrow(
      /sh -c exited with code 3:\nboom/,
    );
    await expect(run('no-such-tool-here', [], { silent: true })).rejects.toThrow(/could not be started/);
  });
});
