// OCI image layouts on disk (the builder's output) and pushing one to a registry with every digest
// preserved: what a registry then serves is byte for byte what was built and scanned. A multi-platform
// build becomes one canonical index with its images in the order the platforms were asked for (builders
// write them in completion order, which varies), so the same images always give the same index digest.
import { createReadStream, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { sha256Digest, type RegistryClient } from './registry.js';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const INDEX_TYPES = new Set([OCI_INDEX, 'application/vnd.docker.distribution.manifest.list.v2+json']);

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface PlatformImage {
  /** os/arch[/variant] */
  platform: string;
  /** The image manifest's descriptor (mediaType, digest, size, platform). */
  descriptor: Descriptor;
  manifest: Buffer;
  /** Config and layers, in manifest order. */
  blobs: Descriptor[];
}

export interface Layout {
  dir: string;
  images: PlatformImage[];
  /** What is pushed under the tags: the one image manifest, or the canonical index of several. */
  top: { mediaType: string; digest: string; body: Buffer };
}

export function blobPath(dir: string, digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return join(dir, 'blobs', algorithm!, hex!);
}

function readBlob(dir: string, digest: string): Buffer {
  const body = readFileSync(blobPath(dir, digest));
  if (sha256Digest(body) !== digest) throw new Error(`${dir}: blob ${digest} does not match its digest`);
  return body;
}

const platformText = (p: { os: string; architecture: string; variant?: string }) =>
  [p.os, p.architecture, p.variant].filter(Boolean).join('/');

/**
 * Reads a layout written by a builder (index.json naming either the image manifests or one index of
 * them), orders its images as `platforms` says, and writes the canonical index blob when there are
 * several. Fails when a platform asked for is missing or one is there that was not asked for.
 */
export function readLayout(dir: string, platforms: string[]): Layout {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests?: Descriptor[] };
  let descriptors = index.manifests ?? [];
  if (descriptors.length === 1 && INDEX_TYPES.has(descriptors[0]!.mediaType)) {
    const inner = JSON.parse(readBlob(dir, descriptors[0]!.digest).toString('utf8')) as {
      manifests?: Descriptor[];
    };
    descriptors = inner.manifests ?? [];
  }
  const images: PlatformImage[] = descriptors.map((descriptor) => {
    const manifest = readBlob(dir, descriptor.digest);
    const parsed = JSON.parse(manifest.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
    let platform = descriptor.platform;
    if (!platform) {
      const config = JSON.parse(readBlob(dir, parsed.config.digest).toString('utf8')) as {
        os: string;
        architecture: string;
        variant?: string;
      };
      platform = {
        os: config.os,
        architecture: config.architecture,
        ...(config.variant ? { variant: config.variant } : {}),
      };
    }
    return {
      platform: platformText(platform),
      descriptor: {
        mediaType: descriptor.mediaType,
        digest: descriptor.digest,
        size: descriptor.size,
        platform,
      },
      manifest,
      blobs: [parsed.config, ...parsed.layers],
    };
  });
  const found = images.map((image) => image.platform);
  const missing = platforms.filter((p) => !found.includes(p));
  const extra = found.filter((p) => !platforms.includes(p));
  if (missing.length > 0 || extra.length > 0 || found.length !== platforms.length) {
    throw new Error(
      `the build wrote images for ${found.join(', ') || 'no platform'}, but ${platforms.join(', ')} were asked for`,
    );
  }
  images.sort((a, b) => platforms.indexOf(a.platform) - platforms.indexOf(b.platform));
  let top: Layout['top'];
  if (images.length === 1) {
    const only = images[0]!;
    top = { mediaType: only.descriptor.mediaType, digest: only.descriptor.digest, body: only.manifest };
  } else {
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: images.map((image) => image.descriptor),
      }),
    );
    const digest = sha256Digest(body);
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(blobPath(dir, digest), body);
    top = { mediaType: OCI_INDEX, digest, body };
  }
  return { dir, images, top };
}

/** A layout holding only one platform's image (sharing the blobs), for scanners that read one image. */
export function singleImageLayout(layout: Layout, image: PlatformImage, dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [image.descriptor] }));
  symlinkSync(join(layout.dir, 'blobs'), join(dir, 'blobs'));
  return dir;
}

/**
 * Pushes every blob and manifest of the layout to `client`'s repository by digest (blobs the registry has
 * are skipped), the top manifest included; moves no tag. After this, moving tags is one small PUT each.
 */
export async function pushContent(layout: Layout, client: RegistryClient): Promise<void> {
  for (const image of layout.images) {
    for (const blob of image.blobs) {
      const path = blobPath(layout.dir, blob.digest);
      const size = statSync(path).size;
      await client.pushBlob(
        blob.digest,
        size,
        (start, end) =>
          Readable.toWeb(
            createReadStream(path, { start, end: end - 1 }),
          ) as unknown as ReadableStream<Uint8Array>,
      );
    }
    await client.putManifest(image.descriptor.digest, image.descriptor.mediaType, image.manifest);
  }
  await client.putManifest(layout.top.digest, layout.top.mediaType, layout.top.body);
}
