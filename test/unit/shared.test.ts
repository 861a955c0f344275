// The small shared building blocks: checksum files, job-summary HTML, Docker config credentials, references.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { credentialsFor } from '../../actions/shared/src/docker-config.js';
import { run } from '../../actions/shared/src/exec.js';
import { parseTaggedReference } from '../../actions/shared/src/registry.js';
import { code, escapeHtml, link, table } from '../../actions/shared/src/summary.js';
import { expectedSha256 } from '../../actions/shared/src/tool.js';

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
        '#!/bin/sh\nread -r server\n[ "$1" = get ] && [ "$server" = ghcr.io ] || { echo "credentials not found in native keychain"; exit 1; }\nprintf \'{"ServerURL":"ghcr.io","Username":"bot","Secret":"from-helper"}\'\n',
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

  it('fails naming the helper and the registry when a helper fails or is missing, and uses identity tokens', () => {
    withConfig({ credHelpers: { 'ghcr.io': 'absent-helper' } }, (env) =>
      expect(() => credentialsFor('ghcr.io', env)).toThrow(
        /ghcr\.io: the Docker credential helper docker-credential-absent-helper .*not found/,
      ),
    );
    const token = { auth: Buffer.from('00000000-0000-0000-0000-000000000000:').toString('base64') };
    withConfig({ auths: { 'me.azurecr.io': { ...token, identitytoken: 'refresh' } } }, (env) =>
      expect(credentialsFor('me.azurecr.io', env)).toEqual({
        username: '00000000-0000-0000-0000-000000000000',
        password: '',
        identityToken: 'refresh',
      }),
    );
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
