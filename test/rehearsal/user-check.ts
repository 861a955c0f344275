// What a user does with a published release, with the real helm: add the Pages URL as a chart repository,
// search it, pull the chart, and render it with its default values. The image it names must be the one the
// run pushed: the same repository (the chart's image.repository is set to the rehearsal's registry, the one
// value that differs from a real install), the tag the chart's appVersion gives, and in the registry that tag
// must point at the digest that was built, scanned and pushed.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { requireTool, runCommand } from '../support/tools.js';
import type { RunFacts } from './report.js';
import { platformManifests, type Session } from './rehearse.js';

export interface UserCheck {
  lines: string[];
  problems: string[];
  /** Every image reference helm template rendered. */
  images: string[];
}

/** Image references in rendered manifests (containers and init containers of every kind of workload). */
export function renderedImages(manifests: string): string[] {
  const images = new Set<string>();
  const visit = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'image' && typeof value === 'string') images.add(value);
        else visit(value);
      }
    }
  };
  for (const document of parseAllDocuments(manifests)) visit(document.toJS());
  return [...images].sort();
}

/**
 * cosign verify of the pushed digest and verify-attestation of its SBOM, offline (no transparency log): the
 * signature and provenance are on the index, each platform's SBOM and vulnerability report on its manifest.
 */
async function verifyImage(
  image: string,
  digest: string,
  publicKey: string,
  problems: string[],
): Promise<string[]> {
  const lines: string[] = [];
  const platforms = Object.values((await platformManifests(image, digest)) ?? {});
  const checks: Array<readonly [string, readonly string[], string]> = [
    ['signature', ['verify'], `${image}@${digest}`],
    ['provenance attestation', ['verify-attestation', '--type', 'slsaprovenance1'], `${image}@${digest}`],
    ...(platforms.length > 0 ? platforms : [digest]).map(
      (platform) =>
        ['SBOM attestation', ['verify-attestation', '--type', 'cyclonedx'], `${image}@${platform}`] as const,
    ),
  ];
  for (const [what, args, reference] of checks) {
    const result = await runCommand(requireTool('cosign'), [
      ...args,
      '--key',
      publicKey,
      '--insecure-ignore-tlog=true',
      '--allow-http-registry',
      reference,
    ]);
    if (result.code === 0) lines.push(`             cosign ${args.join(' ')} ${reference}: ${what} verified`);
    else
      problems.push(
        `cosign ${args.join(' ')} ${reference} failed: ${result.stderr.trim().split('\n').pop()}`,
      );
  }
  return lines;
}

/**
 * The chart-signing key as a user gets it: pubkey.asc from the Pages site, checked to be a public key only
 * (gpg --show-keys) and dearmored into the binary keyring helm --verify reads.
 */
async function fetchPagesKey(
  repoUrl: string,
  dir: string,
  lines: string[],
  problems: string[],
): Promise<{ path: string; fingerprint: string } | undefined> {
  const response = await fetch(`${repoUrl}/pubkey.asc`);
  if (!response.ok) {
    problems.push(`${repoUrl}/pubkey.asc: HTTP ${response.status} (the chart's public key is not on Pages)`);
    return undefined;
  }
  const armored = await response.text();
  const home = join(dir, 'gnupg');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const env = { PATH: process.env.PATH ?? '', GNUPGHOME: home };
  const path = join(dir, 'pages-key.gpg');
  const gpg = requireTool('gpg');
  const shown = await runCommand(gpg, ['--batch', '--show-keys', '--with-colons'], { env, input: armored });
  const dearmored = await runCommand(gpg, ['--batch', '--yes', '--dearmor', '--output', path], {
    env,
    input: armored,
  });
  const fingerprint = /^fpr:+([0-9A-F]+):/m.exec(shown.stdout)?.[1] ?? '(none)';
  if (shown.code !== 0 || dearmored.code !== 0 || /^sec:/m.test(shown.stdout)) {
    problems.push(`${repoUrl}/pubkey.asc is not a public key gpg reads: ${shown.stderr}${dearmored.stderr}`);
    return undefined;
  }
  lines.push(`             GET ${repoUrl}/pubkey.asc, gpg --dearmor: public key ${fingerprint}`);
  return { path, fingerprint };
}

export async function checkAsUser(
  session: Session,
  target: { indexUrl: string; image: string; facts: RunFacts; published: Record<string, string> },
): Promise<UserCheck> {
  const dir = join(session.settings.outDir, 'user-check');
  mkdirSync(dir, { recursive: true });
  const env = {
    PATH: session.baseEnv.PATH!,
    HOME: dir,
    HELM_CONFIG_HOME: join(dir, 'config'),
    HELM_CACHE_HOME: join(dir, 'cache'),
    HELM_DATA_HOME: join(dir, 'data'),
  };
  // Asynchronous: the stand-ins that answer helm live in this process's event loop.
  const helm = async (...args: string[]) => {
    try {
      const { stdout } = await promisify(execFile)(requireTool('helm'), args, {
        env,
        maxBuffer: 64 * 1024 * 1024,
      });
      return stdout;
    } catch (error) {
      const failure = error as { stderr?: string; message: string };
      throw new Error(`helm ${args.join(' ')}: ${failure.stderr?.trim() || failure.message}`, {
        cause: error,
      });
    }
  };
  const lines: string[] = [];
  const problems: string[] = [];
  const repoUrl = target.indexUrl.replace(/\/index\.yaml$/, '');
  const { version: chartVersion = '', digest = '' } = target.facts.chart ?? {};
  const appVersion = target.facts.detected?.version ?? '';

  await helm('repo', 'add', 'rehearsal', repoUrl);
  lines.push(`  user       helm repo add rehearsal ${repoUrl}`);
  const found = JSON.parse(await helm('search', 'repo', 'rehearsal/', '--versions', '-o', 'json')) as Array<{
    name: string;
    version: string;
    app_version: string;
  }>;
  const entry = found.find((chart) => chart.version === chartVersion);
  lines.push(
    `             helm search repo: ${found.map((chart) => `${chart.name} ${chart.version} (app ${chart.app_version})`).join(', ')}`,
  );
  if (!entry) problems.push(`helm search repo does not list chart version ${chartVersion}`);
  else if (entry.app_version !== appVersion)
    problems.push(`chart ${chartVersion} has appVersion ${entry.app_version}, not ${appVersion}`);
  const name = entry?.name ?? 'rehearsal/opennebula';

  const pulled = join(dir, 'pulled');
  mkdirSync(pulled, { recursive: true });
  const keys = session.standIns?.signing;
  // As a user verifies before installing: the chart's .prov against the GPG key the Pages site publishes
  // (pubkey.asc beside index.yaml, dearmored for helm), then the image's signature and SBOM attestation
  // against the cosign public key.
  const keyring = keys ? await fetchPagesKey(repoUrl, dir, lines, problems) : undefined;
  const verifyArgs = keyring ? ['--verify', '--keyring', keyring.path] : [];
  const pulledOut = await helm(
    'pull',
    name,
    '--version',
    chartVersion,
    '--destination',
    pulled,
    ...verifyArgs,
  );
  if (keys) {
    const signedBy = /Signed by: (.*)/.exec(pulledOut)?.[1] ?? '(nobody)';
    const using = /Using Key With Fingerprint: (\S+)/.exec(pulledOut)?.[1] ?? '(none)';
    lines.push(
      `             helm pull --verify --keyring (pubkey.asc from Pages): .prov verified, signed by ${signedBy} ` +
        `with key ${using}`,
    );
    if (keyring && keyring.fingerprint !== keys.gpg.fingerprint)
      problems.push(
        `pubkey.asc on Pages is key ${keyring.fingerprint}, the run signed with ${keys.gpg.fingerprint}`,
      );
    lines.push(
      ...(await verifyImage(target.image, target.facts.image?.digest ?? '', keys.cosign.publicKey, problems)),
    );
  }
  const archive = join(
    pulled,
    readdirSync(pulled).find((file) => file.endsWith('.tgz'))!,
  );
  const archiveDigest = createHash('sha256').update(readFileSync(archive)).digest('hex');
  lines.push(`             helm pull ${name} --version ${chartVersion}: sha256:${archiveDigest}`);
  if (digest && !digest.endsWith(archiveDigest))
    problems.push(`the pulled chart is sha256:${archiveDigest}, helm-release published ${digest}`);

  const rendered = await helm('template', 'opennebula', archive, '--set', `image.repository=${target.image}`);
  const images = renderedImages(rendered);
  const expected = `${target.image}:${appVersion}`;
  const ours = images.filter(
    (image) => image.startsWith(`${target.image}:`) || image.startsWith(`${target.image}@`),
  );
  lines.push(
    `             helm template (default values, image.repository=${target.image}): ${ours.join(', ') || '(no image of ours)'}`,
  );
  if (ours.length === 0 || ours.some((image) => image !== expected)) {
    problems.push(`helm template names ${ours.join(', ') || 'no image of ours'}, expected ${expected}`);
  }
  const pushed = target.published[appVersion];
  if (pushed !== target.facts.image?.digest) {
    problems.push(
      `${expected} is ${pushed ?? 'not'} in the registry, the run pushed ${target.facts.image?.digest}`,
    );
  } else {
    lines.push(`             ${expected} → ${pushed} in the registry: the pushed image`);
  }
  return { lines, problems, images };
}
