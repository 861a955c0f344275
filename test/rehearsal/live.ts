// --live talks to the real upstreams. Before anything runs, each one is asked once; those that do not answer
// are named with the reason, so a machine without network gets one clear message instead of a failed step
// deep in a run. The addresses are the actions' own defaults (their action.yml), not repeated here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetch as undiciFetch } from 'undici';
import { parse } from 'yaml';
import { proxyDispatcher } from '../../actions/shared/src/http.js';
import { REPO_ROOT } from '../support/tools.js';

function actionDefault(action: string, input: string): string {
  const metadata = parse(readFileSync(join(REPO_ROOT, 'actions', action, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: string }>;
  };
  return String(metadata.inputs[input]?.default ?? '');
}

/** Registry host of an image name as Docker resolves it (docker.io → registry-1.docker.io). */
export function registryEndpoint(image: string): string {
  const first = image.split('/')[0]!;
  const host = /[.:]/.test(first) || first === 'localhost' ? first : 'docker.io';
  return `https://${host === 'docker.io' ? 'registry-1.docker.io' : host}/v2/`;
}

/** What --live needs to reach: name → URL. */
export function liveUpstreams(image: string): Record<string, string> {
  const mirrors = actionDefault('build-scan-push', 'trivy-db-repositories')
    .split(/[\s,]+/)
    .filter(Boolean);
  return {
    'OpenNebula repository': `${actionDefault('detect-opennebula-release', 'repository-url')}/`,
    [`registry of ${image}`]: registryEndpoint(image),
    'Trivy downloads': `${actionDefault('build-scan-push', 'trivy-download-url')}/`,
    ...Object.fromEntries(mirrors.map((mirror) => [`Trivy database ${mirror}`, registryEndpoint(mirror)])),
  };
}

/** Asks every upstream once (any HTTP answer counts; through the environment's proxy when there is one); returns "name: url (why)" for each that did not answer. */
export async function checkLiveReachability(
  upstreams: Record<string, string>,
  timeoutMs = 10_000,
): Promise<string[]> {
  const answers = await Promise.all(
    Object.entries(upstreams).map(async ([name, url]) => {
      try {
        const dispatcher = proxyDispatcher();
        await undiciFetch(url, {
          method: 'HEAD',
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
          ...(dispatcher ? { dispatcher } : {}),
        });
        return undefined;
      } catch (error) {
        const cause = (error as { cause?: { message?: string; code?: string } }).cause;
        return `${name}: ${url} (${why(cause?.code) ?? cause?.message ?? (error as Error).message})`;
      }
    }),
  );
  return answers.filter((answer): answer is string => answer !== undefined);
}

function why(code: string | undefined): string | undefined {
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'its host name does not resolve: no DNS or no network';
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      return 'network unreachable';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'no answer to the connection';
    default:
      return code;
  }
}
