// Registry credentials from the Docker config file, as docker/login-action leaves them and as Docker,
// buildah, podman and skopeo read them: $DOCKER_CONFIG/config.json, else ~/.docker/config.json. `auths`
// entries (base64 `auth` or username/password, an `identitytoken` beside them) and credential helpers
// (credHelpers, credsStore) through the docker-credential-<helper> protocol. Nothing here is ever logged.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Credentials } from './registry.js';

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
  return join(dir, 'config.json');
}

/** The keys a registry host may be stored under (Docker Hub has several historical spellings). */
export function registryKeys(host: string): string[] {
  if (host === 'docker.io') {
    return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];
  }
  return [host, `https://${host}`, `http://${host}`, `https://${host}/v1/`, `http://${host}/v1/`];
}

function readConfig(path: string): DockerConfig | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as DockerConfig;
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/** What credential helpers print for a server they hold nothing for (docker-credential-helpers' ErrCredentialsNotFound). */
const NOT_FOUND = /credentials not found/i;

/**
 * Asks docker-credential-<helper> for `key`'s credentials (`get`, the server on stdin, JSON out). "Not
 * found" is anonymous, as in Docker; a helper that is missing or fails is an error naming it and the
 * registry, never a silent anonymous read. Username `<token>` marks an identity token, as in Docker.
 */
function fromHelper(helper: string, key: string, host: string, path: string): Credentials | undefined {
  const program = `docker-credential-${helper}`;
  const result = spawnSync(program, ['get'], { input: key, encoding: 'utf8', timeout: 30_000 });
  const where = `${host}: the Docker credential helper ${program} (named in ${path})`;
  // EPIPE: the helper exited without reading the server name (a failing one may); its answer still counts.
  const code = (result.error as NodeJS.ErrnoException | undefined)?.code;
  if (result.error && !(code === 'EPIPE' && result.status !== null)) {
    const missing = code === 'ENOENT';
    throw new Error(`${where} ${missing ? 'was not found on PATH' : `failed: ${result.error.message}`}`);
  }
  const said = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.trim();
  if (result.status !== 0) {
    if (NOT_FOUND.test(said)) return undefined;
    throw new Error(`${where} failed (exit ${result.status}): ${said.slice(0, 300) || 'no message'}`);
  }
  let answer: { Username?: string; Secret?: string };
  try {
    answer = JSON.parse(result.stdout) as { Username?: string; Secret?: string };
  } catch {
    throw new Error(`${where} answered something other than JSON`);
  }
  if (!answer.Secret) return undefined;
  if (answer.Username === '<token>') return { username: '', password: '', identityToken: answer.Secret };
  return { username: answer.Username ?? '', password: answer.Secret };
}

/** Credentials stored for a registry host (`docker.io`, `ghcr.io`, `127.0.0.1:5000`), or undefined. */
export function credentialsFor(host: string, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const path = dockerConfigPath(env);
  const config = readConfig(path);
  if (!config) return undefined;
  const keys = registryKeys(host);
  for (const key of keys) {
    const helper = config.credHelpers?.[key];
    if (helper) return fromHelper(helper, key, host, path);
  }
  for (const key of keys) {
    const entry = config.auths?.[key];
    if (!entry) continue;
    const identityToken = entry.identitytoken ? { identityToken: entry.identitytoken } : {};
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw new Error(`${path}: the auth entry for ${key} is not base64 of user:password`);
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), ...identityToken };
    }
    if (entry.identitytoken) return { username: entry.username ?? '', password: '', ...identityToken };
    if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  }
  if (config.credsStore) {
    for (const key of keys) {
      const found = fromHelper(config.credsStore, key, host, path);
      if (found) return found;
    }
  }
  return undefined;
}
