// Registry credentials from the Docker config file, as docker/login-action leaves them and as Docker,
// buildah, podman and skopeo read them: $DOCKER_CONFIG/config.json, else ~/.docker/config.json. `auths`
// entries (base64 `auth` or username/password) and credential helpers (credHelpers, credsStore) through
// the docker-credential-<helper> protocol. Nothing here is ever logged.
import { execFileSync } from 'node:child_process';
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

function fromHelper(helper: string, key: string): Credentials | undefined {
  let output: string;
  try {
    output = execFileSync(`docker-credential-${helper}`, ['get'], {
      input: key,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'ignore'],
    });
  } catch {
    return undefined; // no entry (or no helper): anonymous, as Docker does
  }
  const answer = JSON.parse(output) as { Username?: string; Secret?: string };
  if (!answer.Secret) return undefined;
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
    if (helper) return fromHelper(helper, key);
  }
  for (const key of keys) {
    const entry = config.auths?.[key];
    if (!entry) continue;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw new Error(`${path}: the auth entry for ${key} is not base64 of user:password`);
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  }
  if (config.credsStore) {
    for (const key of keys) {
      const found = fromHelper(config.credsStore, key);
      if (found) return found;
    }
  }
  return undefined;
}
