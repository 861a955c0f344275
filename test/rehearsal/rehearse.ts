// The rehearsal of the release pipeline: .github/workflows/release.yml run by the workflow runner against
// the stand-ins (or, with live, against the real upstreams with publishing off), then what a user does with
// the result — helm repo add of the Pages URL, helm search, helm pull, helm template — and the facts the
// report states, read back from the registry and the Pages branch rather than taken from the actions' word.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient, parseImageReference } from '../../actions/shared/src/registry.js';
import type { Value } from '../support/github-expressions.js';
import {
  baseEnvironment,
  findBuilder,
  requireTools,
  snapshotWorkingTree,
  type Builder,
} from './environment.js';
import { WorkflowRunner, type JobRecord, type RunRecord, type StepRecord } from './runner.js';
import type { Exercised } from './report.js';
import { startStandIns, type StandIns } from './stand-ins.js';
import { REPO_ROOT } from '../support/tools.js';

export const RELEASE_WORKFLOW = '.github/workflows/release.yml';
/** github.repository of the rehearsed runs: the GitHub stand-in holds its releases. */
export const REPOSITORY = 'rehearsal/opennebula-kubernetes';
/** The small offline image context: COPY-only, builds without network (shared with build-scan-push's tests). */
export const OFFLINE_CONTEXT = join(REPO_ROOT, 'test/fixtures/build-scan-push/clean');
/**
 * The platforms the offline rehearsal builds, so the multi-platform paths (an image index, a scan and a
 * code-scanning category per platform) run: a COPY-only context needs no emulator for the foreign one.
 */
export const OFFLINE_PLATFORMS = ['linux/amd64', 'linux/arm64'];

export interface Stage {
  name: string;
  durationMs: number;
}

export interface SessionSettings {
  /** Where every run's files, logs, summaries and the report go. */
  outDir: string;
  live?: boolean;
  /** Build context for the offline rehearsal (default OFFLINE_CONTEXT); --live builds docker/. */
  context?: string;
  /** Progress lines (one per stage, job and step). */
  log?: (line: string) => void;
}

export interface Session {
  readonly settings: Required<Omit<SessionSettings, 'context'>> & { context?: string };
  readonly builder: Builder;
  readonly checkoutSource: string;
  readonly head: string;
  readonly standIns?: StandIns;
  readonly baseEnv: Record<string, string>;
  readonly token: string;
  readonly stages: Stage[];
  /** The real image the live rehearsal compares against (the chart's default image). */
  readonly liveImage?: string;
}

export async function timed<T>(
  session: Pick<Session, 'stages' | 'settings'>,
  name: string,
  work: () => Promise<T> | T,
): Promise<T> {
  session.settings.log(`[rehearsal] ${name} …`);
  const started = Date.now();
  try {
    return await work();
  } finally {
    const durationMs = Date.now() - started;
    session.stages.push({ name, durationMs });
    session.settings.log(`[rehearsal] ${name}: ${(durationMs / 1000).toFixed(1)}s`);
  }
}

/** Checks the tools, finds the builder, snapshots the working tree and starts the stand-ins. */
export async function openSession(input: SessionSettings): Promise<Session> {
  const settings = { live: false, log: (line: string) => console.error(line), ...input };
  const stages: Stage[] = [];
  mkdirSync(settings.outDir, { recursive: true });
  const prepared = await timed({ stages, settings }, 'prepare', () => {
    requireTools(settings.live ? ['git', 'helm'] : ['git', 'helm', 'trivy', 'trivy-db', 'docker-registry']);
    const builder = findBuilder();
    if (!builder) throw new Error('no image builder: install docker (with buildx), podman or buildah');
    const snapshot = snapshotWorkingTree(join(settings.outDir, 'checkout'));
    return { builder, snapshot };
  });
  const session = {
    settings,
    builder: prepared.builder,
    checkoutSource: prepared.snapshot.dir,
    head: prepared.snapshot.head,
    baseEnv: baseEnvironment({
      home: join(settings.outDir, 'home'),
      toolCache: join(settings.outDir, 'tool-cache'),
      builder: prepared.builder,
      live: settings.live,
    }),
    token: `ghs_rehearsal${randomBytes(12).toString('hex')}`,
    stages,
  };
  if (settings.live) return session;
  const standIns = await timed(session, 'stand-ins', () =>
    startStandIns({ repository: REPOSITORY, token: session.token }),
  );
  settings.log(
    `[rehearsal] stand-ins: OpenNebula site ${standIns.repositoryUrl}, registry ${standIns.registry.url}, ` +
      `Trivy downloads ${standIns.trivyDownloadUrl}, GitHub API ${standIns.github.url}, ` +
      `Helm downloads ${standIns.helmSite.url}, Pages ${standIns.pagesSite.url} (branch in ${standIns.pages.url})`,
  );
  return { ...session, standIns };
}

export async function closeSession(session: Session): Promise<void> {
  await session.standIns?.close();
}

/** Inputs of this repository's actions pointed at the stand-ins (and the builder and context found here). */
export function redirections(session: Session, context?: string): Record<string, Record<string, string>> {
  const build: Record<string, string> = { builder: session.builder };
  const { standIns } = session;
  if (!standIns) return { 'build-scan-push': build };
  return {
    // The Pages branch detect reads to know whether the chart is published: the stand-in's, as helm-release's.
    'detect-opennebula-release': {
      'repository-url': standIns.repositoryUrl,
      'git-remote': standIns.pages.url,
    },
    'build-scan-push': {
      ...build,
      context: context ?? session.settings.context ?? OFFLINE_CONTEXT,
      platforms: OFFLINE_PLATFORMS.join(','),
      'trivy-download-url': standIns.trivyDownloadUrl,
      'trivy-db-repositories': standIns.trivyDb,
      'cosign-download-url': standIns.cosignDownloadUrl,
      // Offline: no Rekor to record in (verified with --insecure-ignore-tlog=true).
      'transparency-log': 'false',
    },
    'helm-release': {
      'git-remote': standIns.pages.url,
      'pages-url': standIns.pagesSite.url,
      'helm-download-url': standIns.helmSite.url,
      'helm-version': standIns.helmSite.version,
      'cosign-download-url': standIns.cosignDownloadUrl,
      'transparency-log': 'false',
    },
  };
}

export interface PipelineRun {
  label: string;
  record: RunRecord;
  runDir: string;
}

/** One run of release.yml (a re-run of failed jobs when `previous` is given). */
export async function runPipeline(
  session: Session,
  label: string,
  options: {
    previous?: RunRecord;
    event?: { name: string; inputs?: Record<string, Value> };
    /** Build context of this run (offline), instead of the session's. */
    context?: string;
    /** Another workflow of the repository (default release.yml). */
    workflow?: string;
    /** github.repository of the run (default REPOSITORY; the stand-ins must be started for it). */
    repository?: string;
    /** Other repositories the run reaches (remote reusable workflows and actions): owner/name → git dir. */
    repositories?: Record<string, string>;
  } = {},
): Promise<PipelineRun> {
  const runDir = join(session.settings.outDir, label);
  const { log } = session.settings;
  const event =
    options.event ??
    (session.settings.live
      ? { name: 'workflow_dispatch', inputs: { 'dry-run': true } }
      : { name: 'schedule' });
  const record = await timed(session, label, () =>
    new WorkflowRunner({
      checkoutSource: session.checkoutSource,
      workflow: options.workflow ?? RELEASE_WORKFLOW,
      runDir,
      // The repository on GitHub holds the Pages branch: the stand-in's bare repository is its remote.
      ...(session.standIns ? { repositoryRemote: session.standIns.pages.url } : {}),
      ...(options.repositories ? { repositories: options.repositories } : {}),
      event,
      github: {
        repository: options.repository ?? REPOSITORY,
        sha: session.head,
        token: session.token,
        ...(session.standIns
          ? { api_url: session.standIns.github.url, server_url: session.standIns.serverUrl }
          : {}),
      },
      ...runSettings(session),
      baseEnv: session.baseEnv,
      inputOverrides: redirections(session, options.context),
      ...(options.previous ? { previous: options.previous } : {}),
      onJob: (job, phase) =>
        log(`[rehearsal]   job ${job.id}: ${phase === 'start' ? 'started' : describeJob(job)}`),
      onStep: (step, phase) => {
        if (phase !== 'end') return;
        log(`[rehearsal]     ${step.name}: ${describeStep(step)}`);
        for (const [input, value] of Object.entries(step.redirected)) {
          log(`[rehearsal]       input ${input} → ${value}`);
        }
      },
    }).run(),
  );
  return { label, record, runDir };
}

/** The registries a rehearsed run publishes to: each image and who may push to it and pull from it. */
export function registriesOf(session: Session): Array<{
  image: string;
  access: string;
  credentials?: { username: string; password: string };
}> {
  const { standIns } = session;
  if (!standIns) return session.liveImage ? [{ image: session.liveImage, access: 'live, read only' }] : [];
  return [
    {
      image: standIns.images[0]!,
      access: 'private "Docker Hub": push and pull with vars.REGISTRY_USERNAME / secrets.REGISTRY_PASSWORD',
      credentials: standIns.hubAccount,
    },
    { image: standIns.images[1]!, access: '"GHCR": push with the job token, anyone pulls' },
  ];
}

/** What the report says a run exercised: registries, credentials by name, the platforms in the registry. */
export async function exercisedBy(session: Session, version: string | undefined): Promise<Exercised> {
  const registries = registriesOf(session);
  const settings = runSettings(session);
  const platforms: Record<string, string[]> = {};
  for (const { image, credentials } of registries) {
    if (version && session.standIns) {
      platforms[`${image}:${version}`] = await publishedPlatforms(image, version, credentials);
    }
  }
  return {
    registries: registries.map(({ image, access }) => ({ image, access })),
    secrets: ['GITHUB_TOKEN', ...Object.keys(settings.secrets)],
    vars: Object.keys(settings.vars),
    platforms,
  };
}

/** The repository's variables and secrets in a rehearsed run (the report names them, never their values). */
export function runSettings(session: Session): {
  vars: Record<string, string>;
  secrets: Record<string, string>;
} {
  const { standIns } = session;
  if (!standIns) return { vars: { IMAGES: session.liveImage ?? '' }, secrets: {} };
  return {
    vars: {
      IMAGES: standIns.images.join(', '),
      REGISTRY: standIns.hub.host,
      GHCR_REGISTRY: standIns.ghcr.host,
      REGISTRY_USERNAME: standIns.hubAccount.username,
      CHART_GPG_KEY_NAME: 'charts@example.org',
    },
    // Keys made for the run: the image is signed with cosign's, the chart's .prov with the GPG key.
    secrets: {
      REGISTRY_PASSWORD: standIns.hubAccount.password,
      COSIGN_PRIVATE_KEY: standIns.signing.cosign.privateKey,
      COSIGN_PASSWORD: standIns.signing.cosign.password,
      CHART_GPG_PRIVATE_KEY: standIns.signing.gpg.armoredSecret,
      CHART_GPG_PASSPHRASE: standIns.signing.gpg.passphrase,
    },
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

function describeJob(job: JobRecord): string {
  return `${job.result}${job.note ? ` (${job.note})` : ''}${job.durationMs ? ` in ${seconds(job.durationMs)}` : ''}`;
}

function describeStep(step: StepRecord): string {
  const errors = step.errors.length ? ` — ${step.errors.join('; ')}` : '';
  return `${step.outcome} in ${seconds(step.durationMs)}${errors}`;
}

/** Every step of a run that used one of this repository's actions, by action name. */
export function actionSteps(record: RunRecord, action: string): StepRecord[] {
  return record.jobs.flatMap((job) =>
    // ./actions/NAME, or OWNER/REPO/actions/NAME@REF on a release tag.
    job.steps.filter((step) => step.uses?.split('@')[0]!.replace(/\/+$/, '').endsWith(`/actions/${action}`)),
  );
}

/** Tag → digest of every tag in the image repository, read from the registry itself. */
export async function publishedTags(
  image: string,
  credentials?: { username: string; password: string },
): Promise<Record<string, string>> {
  const client = new RegistryClient(parseImageReference(image), credentials ? { credentials } : {});
  const tags = await client.listTags();
  const digests: Record<string, string> = {};
  for (const tag of tags.sort()) digests[tag] = (await client.manifestDigest(tag)) ?? '';
  return digests;
}

/** The platforms of what a tag points at, read from the registry: an index's entries, or one image. */
/** The platform manifests (os/arch[/variant] → digest) of an image index; empty for a single image. */
export async function platformManifests(
  image: string,
  reference: string,
  credentials?: { username: string; password: string },
): Promise<Record<string, string> | undefined> {
  const client = new RegistryClient(parseImageReference(image), credentials ? { credentials } : {});
  const manifest = await client.getManifest(reference);
  if (!manifest) return undefined;
  const body = JSON.parse(manifest.body.toString('utf8')) as {
    manifests?: Array<{ digest: string; platform?: { os: string; architecture: string; variant?: string } }>;
  };
  const platforms: Record<string, string> = {};
  for (const entry of body.manifests ?? []) {
    const platform = entry.platform;
    if (!platform || platform.os === 'unknown') continue; // attestation manifests
    platforms[[platform.os, platform.architecture, platform.variant].filter(Boolean).join('/')] =
      entry.digest;
  }
  return platforms;
}

export async function publishedPlatforms(
  image: string,
  tag: string,
  credentials?: { username: string; password: string },
): Promise<string[]> {
  const platforms = await platformManifests(image, tag, credentials);
  if (!platforms) return [];
  const names = Object.keys(platforms);
  return names.length === 0 ? ['(one image, no index)'] : names;
}
