// A stand-in of the runner's OIDC token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL). On GitHub, a job with
// `permissions: id-token: write` gets ACTIONS_ID_TOKEN_REQUEST_URL (the Actions service's .../idtoken?api-
// version=2.0) and ACTIONS_ID_TOKEN_REQUEST_TOKEN; a job without that permission, and any job of a fork's pull
// request, gets neither. @actions/core's getIDToken appends `&audience=<aud>` and sends the request token as
// a Bearer credential; the service answers {"value": "<JWT>"} signed by token.actions.githubusercontent.com,
// whose claims name the repository, ref, sha and job_workflow_ref (the reusable workflow the job runs, which
// becomes the certificate identity Fulcio issues). Like the real one, this refuses a missing or wrong Bearer
// token (401) and a request without api-version (400); its tokens are RS256 JWTs signed with a key made here.
import { generateKeyPairSync, createSign } from 'node:crypto';
import type { ReceivedRequest, StandIn } from './http-stand-in.js';

export const GITHUB_OIDC_ISSUER = 'https://token.actions.githubusercontent.com';
const PATH = '/_apis/distributedtask/hubs/Actions/plans/00000000-plan/jobs/00000000-job/idtoken';

export interface TokenEndpoint {
  /** ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN, as the runner sets them. */
  env: { ACTIONS_ID_TOKEN_REQUEST_URL: string; ACTIONS_ID_TOKEN_REQUEST_TOKEN: string };
  /** The tokens issued, with the audience each was asked for. */
  issued: Array<{ audience: string; token: string }>;
  /** Every request the endpoint received (refused ones too). */
  requests(): ReceivedRequest[];
}

const base64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

export function serveIdTokens(site: StandIn, claims: Record<string, string>): TokenEndpoint {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const requestToken = `request-token-${Math.random().toString(36).slice(2)}`;
  const issued: TokenEndpoint['issued'] = [];
  site.route(PATH, (request) => {
    if (request.headers.authorization !== `Bearer ${requestToken}`) {
      return { status: 401, body: '{"message":"Unauthorized"}' };
    }
    const query = new URL(request.url, 'http://stand-in').searchParams;
    if (!query.get('api-version')) return { status: 400, body: '{"message":"api-version is required"}' };
    const audience = query.get('audience') ?? `https://github.com/${claims.repository_owner ?? ''}`;
    const now = Math.floor(Date.now() / 1000);
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'stand-in' }));
    const payload = base64url(
      JSON.stringify({
        ...claims,
        aud: audience,
        iss: GITHUB_OIDC_ISSUER,
        iat: now,
        nbf: now,
        exp: now + 300,
      }),
    );
    const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(privateKey);
    const token = `${header}.${payload}.${base64url(signature)}`;
    issued.push({ audience, token });
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: token }),
    };
  });
  return {
    env: {
      ACTIONS_ID_TOKEN_REQUEST_URL: `${site.url}${PATH}?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken,
    },
    issued,
    requests: () => site.requests.filter((r) => r.url.startsWith(PATH)),
  };
}
