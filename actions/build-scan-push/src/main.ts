// Wiring only: inputs → one build into an OCI layout → a Trivy scan of every platform image → the gate →
// a push of exactly those bytes (or nothing) → outputs and job summary.
import * as core from '@actions/core';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMain } from '../../shared/src/action.js';
import { dockerConfigPath } from '../../shared/src/docker-config.js';
import { run as exec } from '../../shared/src/exec.js';
import { readLayout, type Layout } from '../../shared/src/oci-layout.js';
import { writeSummary } from '../../shared/src/summary.js';
import { baseImage, buildCommands, cleanupCommands, readDockerfile, type BuildPlan } from './build.js';
import { dockerBuilder } from './docker-builder.js';
import { parseInputs, type Inputs } from './inputs.js';
import { publish } from './push.js';
import { countFindings, gateFailures } from './report.js';
import { scan } from './scan.js';
import { guardSecrets } from '../../shared/src/signer.js';
import { signStep } from './sign.js';
import { signExisting } from './sign-existing.js';
import { signingBlocks, summaryBlocks, type PushResult } from './summary.js';

export function run(): Promise<void> {
  return runMain(main);
}

/** org.opencontainers.image.* labels, overridable by the `labels` input and the Dockerfile's own. */
export function ociLabels(inputs: Inputs, dockerfile: string, env: NodeJS.ProcessEnv, created: Date) {
  const fromFile = new Map<string, string>();
  for (const match of dockerfile.matchAll(/(org\.opencontainers\.image\.[a-z.]+)="([^"]*)"/g)) {
    fromFile.set(match[1]!, match[2]!);
  }
  const title = inputs.images[0]!.repository.split('/').pop()!;
  const base = baseImage(dockerfile, inputs.buildArgs);
  const labels: Record<string, string> = {
    'org.opencontainers.image.title': fromFile.get('org.opencontainers.image.title') ?? title,
    'org.opencontainers.image.description':
      fromFile.get('org.opencontainers.image.description') ?? `${title} ${inputs.version}`.trim(),
    'org.opencontainers.image.licenses': fromFile.get('org.opencontainers.image.licenses') ?? 'NOASSERTION',
    'org.opencontainers.image.created': created.toISOString(),
  };
  if (env.GITHUB_REPOSITORY) {
    labels['org.opencontainers.image.source'] =
      `${env.GITHUB_SERVER_URL || 'https://github.com'}/${env.GITHUB_REPOSITORY}`;
  }
  if (env.GITHUB_SHA) labels['org.opencontainers.image.revision'] = env.GITHUB_SHA;
  if (inputs.version) labels['org.opencontainers.image.version'] = inputs.version;
  if (base) {
    labels['org.opencontainers.image.base.name'] = base.name;
    if (base.digest) labels['org.opencontainers.image.base.digest'] = base.digest;
  }
  for (const [key, value] of inputs.labels) labels[key] = value;
  return labels;
}

function sourceDateEpoch(env: NodeJS.ProcessEnv): number | undefined {
  const text = env.SOURCE_DATE_EPOCH?.trim();
  if (!text) return undefined;
  if (!/^\d+$/.test(text)) throw new Error(`SOURCE_DATE_EPOCH: "${text}" is not a number of seconds`);
  return Number(text);
}

async function build(inputs: Inputs, work: string): Promise<Layout> {
  const dockerfile = readDockerfile(inputs.file);
  const epoch = sourceDateEpoch(process.env);
  const created = epoch === undefined ? new Date() : new Date(epoch * 1000);
  const buildArgs: Array<[string, string]> = inputs.version ? [['ONE_VERSION', inputs.version]] : [];
  buildArgs.push(...inputs.buildArgs.filter(([key]) => key !== 'ONE_VERSION' || !inputs.version));
  const plan: BuildPlan = {
    builder: inputs.builder,
    context: inputs.context,
    file: inputs.file,
    platforms: inputs.platforms,
    buildArgs,
    labels: Object.entries(ociLabels(inputs, dockerfile, process.env, created)),
    cacheFrom: inputs.cacheFrom,
    cacheTo: inputs.cacheTo,
    sourceDateEpoch: epoch,
    layoutDir: join(work, 'layout'),
    listName: `build-scan-push-${process.pid}-${Date.now()}`,
    archive: join(work, 'image.tar'),
  };
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };
  if (!env.REGISTRY_AUTH_FILE && existsSync(dockerConfigPath())) env.REGISTRY_AUTH_FILE = dockerConfigPath();
  if (inputs.builder === 'docker') plan.dockerBuilder = await dockerBuilder(env);
  try {
    await core.group(`Build ${inputs.platforms.join(', ')} with ${inputs.builder}`, async () => {
      for (const command of buildCommands(plan)) await exec(command.command, command.args, { env });
      if (inputs.builder === 'docker') {
        mkdirSync(plan.layoutDir, { recursive: true });
        await exec('tar', ['-xf', plan.archive, '-C', plan.layoutDir]);
      }
    });
  } finally {
    for (const command of cleanupCommands(plan)) {
      await exec(command.command, command.args, { env, silent: true }).catch(() => undefined);
    }
  }
  return readLayout(plan.layoutDir, inputs.platforms);
}

async function main(): Promise<void> {
  const inputs = parseInputs((name) => core.getInput(name));
  guardSecrets(inputs.signing, process.env);
  if (inputs.signOnly) return signExisting(inputs);
  const work = mkdtempSync(join(process.env.RUNNER_TEMP || tmpdir(), 'build-scan-push-'));
  const timings: Array<[string, number]> = [];
  const timed = async <T>(stage: string, fn: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await fn();
    } finally {
      timings.push([stage, Date.now() - started]);
    }
  };
  try {
    const layout = await timed('build', () => build(inputs, work));
    const { findings, sboms, vulnReports, dbDigest } = await timed('scan', () => scan(inputs, layout, work));
    const counts = countFindings(findings);
    const failures = gateFailures(findings, inputs.severity, inputs.ignoreUnfixed);
    const gate = failures.length === 0 ? 'passed' : 'failed';
    // The digest is what was built, scanned and (to be) pushed: nothing, when the gate failed.
    core.setOutput('digest', gate === 'passed' ? layout.top.digest : '');
    core.setOutput('vulnerabilities', JSON.stringify(counts));
    core.setOutput('gate', gate);
    core.setOutput('sarif-file', inputs.sarifFile);
    core.setOutput('sbom-file', inputs.sbomFile);
    core.setOutput('sboms', JSON.stringify(sboms));
    core.setOutput('trivy-db-digest', dbDigest);
    let pushed: PushResult[] = [];
    if (gate === 'passed' && inputs.push) pushed = await timed('push', () => publish(inputs, layout));
    core.setOutput('image-refs', pushed.map((result) => `${result.image}@${result.digest}`).join('\n'));
    core.setOutput('tags-pushed', pushed.flatMap((r) => r.tags.map((tag) => `${r.image}:${tag}`)).join('\n'));
    const signed = await timed('sign', () => signStep({ inputs, layout, pushed, sboms, vulnReports, work }));
    core.setOutput('signatures', signed.result?.signatures.join('\n') ?? '');
    core.setOutput('attestations', signed.result?.attestations.join('\n') ?? '');
    await writeSummary([
      ...summaryBlocks({ inputs, layout, findings, counts, failures, gate, pushed }),
      ...signingBlocks(signed),
    ]);
    if (signed.error) throw signed.error;
    if (gate === 'failed') {
      const first = failures[0]!;
      throw new Error(
        `the Trivy gate failed: ${failures.length} finding(s) at ${inputs.severity.join('/')}` +
          `${inputs.ignoreUnfixed ? ' with a fix available' : ''} (e.g. ${first.id} in ${first.packageName} ` +
          `${first.installed}, ${first.where}); nothing was pushed`,
      );
    }
    if (!inputs.push) core.info('push is false: built and scanned; nothing was pushed');
  } finally {
    core.info(`Timings: ${timings.map(([stage, ms]) => `${stage} ${ms} ms`).join(', ')}`);
    rmSync(work, { recursive: true, force: true });
  }
}
