// Registry authorization, the way Docker and GHCR clients do it: Bearer-token challenge from
// WWW-Authenticate (a token per scope, pull or pull+push), Basic for registries that ask for it; which
// answers mean "no such repository" rather than a failure.
import { HttpError, fetchWithRetry, readJson, type RetryPolicy } from './http.js';
import { isPlainHttpRegistry, type ImageReference } from './registry-reference.js';

export interface Credentials {
  username: string;
  password: string;
  /**
   * An OAuth2 refresh token (a Docker config `identitytoken`, e.g. Azure ACR's), exchanged at the token
   * service for the registry token instead of sending username and password.
   */
  identityToken?: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a WWW-Authenticate header into its challenges, e.g.
 * `Bearer realm="https://auth",service="x",scope="y", Basic realm="r"` → [Bearer {…}, Basic {…}]. Quoted
 * values may hold commas and escaped quotes (RFC 9110 quoted-string).
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  const token = /\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s*(=)?\s*/y;
  const quoted = /"((?:[^"\\]|\\.)*)"\s*/y;
  const bare = /([^,\s]*)\s*/y;
  let i = 0;
  let current: Challenge | undefined;
  while (i < header.length) {
    if (header[i] === ',') {
      i += 1;
      continue;
    }
    token.lastIndex = i;
    const name = token.exec(header);
    if (!name) break; // not a token: stop rather than guess
    i = token.lastIndex;
    if (name[2] === '=' && current) {
      let value: string;
      quoted.lastIndex = i;
      const q = quoted.exec(header);
      if (q) {
        value = (q[1] ?? '').replace(/\\(.)/g, '$1');
        i = quoted.lastIndex;
      } else {
        bare.lastIndex = i;
        const m = bare.exec(header)!;
        value = m[1] ?? '';
        i = bare.lastIndex;
      }
      current.params[(name[1] ?? '').toLowerCase()] = value;
    } else {
      current = { scheme: (name[1] ?? '').toLowerCase(), params: {} };
      challenges.push(current);
    }
  }
  return challenges;
}

/** The first challenge of a WWW-Authenticate header (see parseChallenges). */
export function parseChallenge(header: string): Challenge | undefined {
  return parseChallenges(header)[0];
}

/** Whether credentials may be sent to `url`: HTTPS, or plain HTTP only to a loopback registry. */
export function mayCarryCredentials(url: string): boolean {
  const parsed = new URL(url);
  return parsed.protocol === 'https:' || isPlainHttpRegistry(parsed.host);
}

/**
 * A registry's answer that a repository does not exist, as the big registries give it: 404 or
 * NAME_UNKNOWN (distribution, GHCR, Quay), or, once a token was granted, 401 with
 * `error="insufficient_scope"` (Docker Hub for a repository that was never pushed) or an UNAUTHORIZED /
 * DENIED error body (Quay, GHCR), the token service having granted a pull token for the name. Nothing is
 * published there: an answer, not a failure.
 */
export function isMissingRepositoryAnswer(
  status: number,
  authenticate: string,
  body: string,
  tokenGranted: boolean,
): boolean {
  if (status === 404 || /NAME_UNKNOWN/.test(body)) return true;
  // Without a granted token, a 401 is a plain "log in" (or wrong password): never read it as "missing".
  if (!tokenGranted || (status !== 401 && status !== 403)) return false;
  const challenge = parseChallenges(authenticate).find((c) => c.scheme === 'bearer');
  if (challenge?.params.error === 'insufficient_scope') return true;
  return /"code"\s*:\s*"(?:UNAUTHORIZED|DENIED)"/.test(body);
}

function basicAuth(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

export type Scope = 'pull' | 'pull,push';

export interface AuthorizerOptions {
  credentials?: Credentials;
  policy?: RetryPolicy;
  /** Added to "requires authentication" errors, e.g. which inputs to set. */
  credentialsHint?: string;
  /** Token services asked before any challenge, by registry host (default KNOWN_TOKEN_SERVICES). */
  tokenServices?: Readonly<Record<string, TokenService>>;
}

export interface TokenService {
  realm: string;
  service: string;
}

/**
 * The token services of the registries most images live on, as their challenges name them (stable for
 * years): asking them first saves the round trip of the challenge, so a tag list costs two round trips,
 * not three. Any other registry is asked through its challenge.
 */
export const KNOWN_TOKEN_SERVICES: Readonly<Record<string, TokenService>> = {
  'docker.io': { realm: 'https://auth.docker.io/token', service: 'registry.docker.io' },
  'ghcr.io': { realm: 'https://ghcr.io/token', service: 'ghcr.io' },
};

/** The Authorization header of one image repository, per scope, got by answering the registry's challenges. */
export class RegistryAuthorizer {
  private readonly authorization = new Map<Scope, string>();
  private readonly preparing = new Map<Scope, Promise<void>>();

  constructor(
    readonly image: ImageReference,
    private readonly options: AuthorizerOptions = {},
  ) {}

  private get credentials(): Credentials | undefined {
    return this.options.credentials;
  }

  /** The Authorization header for `scope`, once a challenge was answered. */
  header(scope: Scope): string | undefined {
    return this.authorization.get(scope);
  }

  /**
   * Gets a token for `scope` before the first request when the registry's token service is known (see
   * KNOWN_TOKEN_SERVICES); concurrent callers share one token request.
   */
  prepare(scope: Scope): Promise<void> {
    const known = (this.options.tokenServices ?? KNOWN_TOKEN_SERVICES)[this.image.registry];
    if (!known || this.authorization.has(scope)) return Promise.resolve();
    let pending = this.preparing.get(scope);
    if (!pending) {
      const challenge = { scheme: 'bearer', params: { realm: known.realm, service: known.service } };
      pending = this.bearerToken(challenge, scope).then((token) => {
        this.authorization.set(scope, `Bearer ${token}`);
      });
      this.preparing.set(scope, pending);
    }
    return pending;
  }

  /**
   * Whether a 401 is the registry's last word: it refused a token it was sent for lacking the scope
   * (`insufficient_scope`), and the token service would only grant the same token again.
   */
  isFinal(response: Response, scope: Scope): boolean {
    if (response.status !== 401 || !this.tokenGranted(scope)) return false;
    const challenges = parseChallenges(response.headers.get('www-authenticate') ?? '');
    return challenges.some((c) => c.scheme === 'bearer' && c.params.error === 'insufficient_scope');
  }

  /** Whether the registry's token service granted a Bearer token for `scope`. */
  tokenGranted(scope: Scope): boolean {
    return this.authorization.get(scope)?.startsWith('Bearer ') ?? false;
  }

  /**
   * Answers the challenge of a 401 `response` to `url` for `scope` (consuming its body), or throws when it
   * cannot be answered.
   */
  async answer(response: Response, url: string, scope: Scope): Promise<void> {
    const challenges = parseChallenges(response.headers.get('www-authenticate') ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    await response.body?.cancel();
    if (bearer) {
      this.authorization.set(scope, `Bearer ${await this.bearerToken(bearer, scope)}`);
    } else if (basic && this.credentials) {
      if (!mayCarryCredentials(url)) {
        throw new HttpError(
          `${this.image.input}: ${url} asks for a password over plain HTTP; refusing to send it`,
          url,
          401,
        );
      }
      this.authorization.set(scope, basicAuth(this.credentials));
    } else {
      const hint = this.credentials
        ? ''
        : this.options.credentialsHint
          ? `; set ${this.options.credentialsHint}`
          : '';
      throw new HttpError(`${this.image.input}: ${url} requires authentication${hint}`, url, 401);
    }
  }

  private async bearerToken(challenge: Challenge, scope: Scope): Promise<string> {
    const url = tokenUrl(this.image, challenge, scope);
    const where = `${url.origin}${url.pathname}`;
    const credentials = this.credentials;
    if (credentials && !mayCarryCredentials(url.toString())) {
      throw new HttpError(
        `${this.image.input}: the token service ${url.origin} is plain HTTP; refusing to send the password`,
        url.toString(),
        undefined,
      );
    }
    const response = credentials?.identityToken
      ? await fetchWithRetry(
          where,
          { method: 'POST', body: refreshTokenForm(url, credentials.identityToken), retryUnsafe: true },
          this.options.policy,
        )
      : await fetchWithRetry(
          url.toString(),
          { headers: credentials ? { authorization: basicAuth(credentials) } : {} },
          this.options.policy,
        );
    if (!response.ok) {
      const text = (await response.text().catch(() => '')).slice(0, 300).trim();
      const answer = `HTTP ${response.status}${text ? `: ${text}` : ''}`;
      const hint = this.options.credentialsHint;
      throw new TokenRefusedError(
        credentials
          ? `${this.image.input}: the token service ${where} refused the credentials` +
              `${hint ? ` (check ${hint})` : ''}: ${answer}`
          : `${this.image.input}: token request to ${where} failed: ${answer}${hint ? ` (set ${hint})` : ''}`,
        url.toString(),
        response.status,
        credentials !== undefined,
      );
    }
    const body = await readJson<{ token?: string; access_token?: string }>(response, where, 'a token');
    const token = body.token ?? body.access_token;
    if (!token) throw new Error(`${this.image.input}: token response from ${url.origin} carries no token`);
    return token;
  }
}

/** A token service's refusal: of the credentials sent, or (anonymous) of the repository to anyone. */
export class TokenRefusedError extends HttpError {
  constructor(
    message: string,
    url: string,
    status: number,
    readonly withCredentials: boolean,
  ) {
    super(message, url, status);
    this.name = 'TokenRefusedError';
  }
}

/** The token request for a Bearer challenge: its realm with the service and the repository scope. */
function tokenUrl(image: ImageReference, challenge: Challenge, scope: Scope): URL {
  const realm = challenge.params.realm;
  if (!realm) throw new Error(`${image.input}: the registry's Bearer challenge names no realm`);
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new Error(`${image.input}: the registry's Bearer realm "${realm}" is not a URL`);
  }
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  url.searchParams.set('scope', `repository:${image.repository}:${scope}`);
  return url;
}

/**
 * The OAuth2 form that exchanges an identity (refresh) token for a registry token, as Docker does for an
 * `identitytoken` entry (Azure ACR): POST to the realm with grant_type=refresh_token.
 */
function refreshTokenForm(url: URL, identityToken: string): URLSearchParams {
  return new URLSearchParams({
    grant_type: 'refresh_token',
    refresh_token: identityToken,
    service: url.searchParams.get('service') ?? '',
    scope: url.searchParams.get('scope') ?? '',
    client_id: 'opennebula-kubernetes',
  });
}

/**
 * What to grant when a registry refuses with 403 (the registry's own words are shown beside it): GHCR's
 * `permission_denied: write_package` / "not allowed to Write organization package" mean the workflow
 * token lacks `packages: write` (or the package does not let this repository write), `read_package` the
 * read side. Empty for anything else.
 */
export function refusalHint(status: number, body: string): string {
  if (status !== 403) return '';
  const packageAccess = "and the package's settings (Manage Actions access) must list this repository";
  if (/write_package|to write organization package/i.test(body)) {
    return ` (the workflow needs \`permissions: packages: write\`, ${packageAccess} with write access)`;
  }
  if (/read_package|denied/i.test(body)) {
    return ` (check the credentials' read access: \`permissions: packages: read\` for GHCR, ${packageAccess})`;
  }
  return '';
}
