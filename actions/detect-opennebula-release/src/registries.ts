// Which credentials each image's registry gets, and what each registry showed. Every registry gets only
// its own login: registry-username/registry-password belong to the first image's registry (and to later
// images on the same host); every other registry gets the login the Docker config holds for it, as
// docker/login-action writes it and build-scan-push reads it. A password never goes to another registry's
// token service.
import { credentialsFor, dockerConfigPath } from '../../shared/src/docker-config.js';
import type { RetryPolicy } from '../../shared/src/http.js';
import { RegistryClient, type Credentials, type ImageReference } from '../../shared/src/registry.js';

export interface RegistryLogin {
  image: ImageReference;
  credentials: Credentials | undefined;
  /** Where the credentials come from (or what to set), for messages. */
  hint: string;
}

const INPUTS = 'registry-username and registry-password';

/**
 * The login of every image. `lookup` reads the Docker config (credentialsFor); it throws for a config or
 * credential helper that fails, naming the registry.
 */
export function registryLogins(
  images: readonly ImageReference[],
  explicit: Credentials | undefined,
  lookup: (host: string) => Credentials | undefined = credentialsFor,
  configPath: string = dockerConfigPath(),
): RegistryLogin[] {
  const inputsHost = explicit ? images[0]?.registry : undefined;
  return images.map((image) => {
    if (image.registry === inputsHost) return { image, credentials: explicit, hint: INPUTS };
    const stored = lookup(image.registry);
    return {
      image,
      credentials: stored,
      hint: stored
        ? `the Docker config's login for ${image.registry} in ${configPath}, as docker/login-action writes it`
        : inputsHost
          ? `a docker/login-action login to ${image.registry} before this step (${INPUTS} are for ${inputsHost})`
          : `${INPUTS}, or a docker/login-action login to ${image.registry} before this step`,
    };
  });
}

export interface ImageTags {
  image: ImageReference;
  tags: string[];
  /** The registry refused to show the repository (read as "nothing published"). */
  hidden: boolean;
  authenticated: boolean;
  hint: string;
}

/** Every image's tags, all registries at once. */
export function readImageTags(logins: readonly RegistryLogin[], policy?: RetryPolicy): Promise<ImageTags[]> {
  return Promise.all(
    logins.map(async ({ image, credentials, hint }) => {
      const client = new RegistryClient(image, { credentials, policy, credentialsHint: hint });
      const listing = await client.readTags();
      return { image, ...listing, authenticated: credentials !== undefined, hint };
    }),
  );
}

/**
 * What the job summary says about repositories a registry would not show: they count as not published
 * yet (registries answer a never-pushed repository that way, even to its owner, and a first publish must
 * work), but a private one read with too little access would otherwise look new every day.
 */
export function visibilityNotes(listings: readonly ImageTags[]): string[] {
  return listings
    .filter((listing) => listing.hidden)
    .map((listing) =>
      listing.authenticated
        ? `${listing.image.input}: the registry did not show this repository to the credentials used ` +
          `(${listing.hint}), so it counts as not published yet, which is right before its first publish. ` +
          "If it has been published, those credentials cannot read it: for GHCR check the job's " +
          "permissions (packages: read, packages: write to push) and the package's repository access " +
          '(package settings, Manage Actions access).'
        : `${listing.image.input}: the registry did not show this repository to an anonymous read, so it ` +
          'counts as not published yet. If it is private (GHCR makes packages of organisation and private ' +
          `repositories private), give detect ${listing.hint}, with packages: read for GHCR.`,
    );
}
