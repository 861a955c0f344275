// The push to several registries with one outcome. Look first: a version tag that already points to other
// bytes stops the run before anything moves. Then every registry gets the blobs and manifests by digest,
// and only when all have them do the tags move, registry by registry. A failure before the tags leaves no
// registry with a new tag; a failure while tags move leaves the earlier registries on a digest the others
// already hold untagged, and the re-run completes that earlier push (its bytes were scanned and passed the
// gate then) instead of refusing it, without `overwrite`.
import * as core from '@actions/core';
import { credentialsFor } from '../../shared/src/docker-config.js';
import { pushContent, type Layout } from '../../shared/src/oci-layout.js';
import { RegistryClient, type ImageReference, type Manifest } from '../../shared/src/registry.js';
import type { Inputs } from './inputs.js';
import type { PushResult } from './summary.js';

/** What the registries hold now: per image, the digest each tag points to (undefined: no such tag). */
export interface Current {
  image: string;
  digests: Array<string | undefined>;
}

const conflict = (image: string, version: string, existing: string, built: string) =>
  `${image}:${version} already points to ${existing}; this build is ${built}`;

export type Target =
  { kind: 'build' } | { kind: 'resume'; digest: string } | { kind: 'conflict'; conflicts: string[] };

/**
 * Which digest the tags end on: this build, or the digest an earlier run gave the version tag on some
 * registries but not on all (and no registry has another), which the rest may then get; else a conflict.
 */
export function chooseTarget(
  built: string,
  tags: string[],
  version: string,
  overwrite: boolean,
  current: Current[],
): Target {
  const at = version ? tags.indexOf(version) : -1;
  if (overwrite || at < 0) return { kind: 'build' };
  const others = current.filter((c) => c.digests[at] !== undefined && c.digests[at] !== built);
  if (others.length === 0) return { kind: 'build' };
  const earlier = new Set(current.map((c) => c.digests[at]).filter((d) => d !== undefined));
  const lacking = current.some((c) => c.digests[at] === undefined);
  if (earlier.size === 1 && lacking) return { kind: 'resume', digest: others[0]!.digests[at]! };
  return {
    kind: 'conflict',
    conflicts: others.map((c) => conflict(c.image, version, c.digests[at]!, built)),
  };
}

function clientsFor(images: ImageReference[]): RegistryClient[] {
  return images.map((image) => {
    const credentials = credentialsFor(image.registry);
    if (credentials) core.setSecret(credentials.password);
    return new RegistryClient(image, {
      credentials,
      credentialsHint: `log in to ${image.registry} (docker/login-action) before this step`,
    });
  });
}

/** The manifest of an earlier run's digest, when every registry without the version tag has it. */
async function resumable(clients: RegistryClient[], digest: string): Promise<Manifest | string> {
  const present = await Promise.all(clients.map((client) => client.manifestDigest(digest, 'pull,push')));
  const missing = clients.filter((_, i) => present[i] !== digest).map((client) => client.image.input);
  if (missing.length > 0) return `${digest} is not in ${missing.join(', ')}`;
  const manifest = await clients[0]!.getManifest(digest, 'pull,push');
  return manifest ?? `${digest} could not be read back from ${clients[0]!.image.input}`;
}

function refuse(conflicts: string[]): never {
  throw new Error(
    `refusing to move the version tag (set overwrite: true to replace it):\n${conflicts.join('\n')}`,
  );
}

export async function publish(inputs: Inputs, layout: Layout): Promise<PushResult[]> {
  const clients = clientsFor(inputs.images);
  const current = await Promise.all(
    clients.map((client) => Promise.all(inputs.tags.map((tag) => client.manifestDigest(tag, 'pull,push')))),
  );
  const built = layout.top.digest;
  const target = chooseTarget(
    built,
    inputs.tags,
    inputs.version,
    inputs.overwrite,
    clients.map((client, i) => ({ image: client.image.input, digests: current[i]! })),
  );
  if (target.kind === 'conflict') refuse(target.conflicts);
  let manifest: { mediaType: string; digest: string; body: Buffer } = layout.top;
  if (target.kind === 'resume') {
    const earlier = await resumable(clients, target.digest);
    if (typeof earlier === 'string') {
      const at = inputs.tags.indexOf(inputs.version);
      refuse(
        clients
          .filter((_, i) => current[i]![at] === target.digest)
          .map((c) => conflict(c.image.input, inputs.version, target.digest, built))
          .concat(earlier),
      );
    }
    manifest = earlier;
    core.warning(
      `${inputs.version} was pushed by an earlier run as ${manifest.digest} to some registries, and the others ` +
        `hold it untagged: completing that push; this build (${built}) is not pushed`,
    );
    core.setOutput('digest', manifest.digest);
  }
  const moving = current.map((digests) => inputs.tags.filter((_, i) => digests[i] !== manifest.digest));
  if (target.kind === 'build') {
    for (const [i, client] of clients.entries()) {
      if (moving[i]!.length === 0) continue;
      await core.group(`Push ${client.image.input}@${built} (blobs and manifests, no tag yet)`, () =>
        pushContent(layout, client),
      );
    }
  }
  const results: PushResult[] = [];
  for (const [i, client] of clients.entries()) {
    const tags = moving[i]!;
    if (tags.length === 0) {
      core.info(`${client.image.input}: every tag already points to ${manifest.digest}; nothing to push`);
    }
    for (const tag of tags) await client.putManifest(tag, manifest.mediaType, manifest.body);
    if (tags.length > 0) core.info(`${client.image.input}: ${tags.join(', ')} → ${manifest.digest}`);
    results.push({ image: client.image.input, digest: manifest.digest, tags });
  }
  return results;
}
