// The scan, as its list of steps: install Trivy, scan each platform image of the layout once into a JSON
// report (every severity, every package), name the image instead of the temporary path, then convert the
// reports into one SARIF log (a category per platform) and one SBOM per platform.
import * as core from '@actions/core';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { run as exec } from '../../shared/src/exec.js';
import { singleImageLayout, type Layout } from '../../shared/src/oci-layout.js';
import { sha256File } from '../../shared/src/tool.js';
import type { Inputs } from './inputs.js';
import { findingsOf, type Finding } from './report.js';
import { combineSarif, platformSlug, sbomPaths, stableReport, type SarifLog } from './sarif.js';
import { convertArgs, installTrivy, scanArgs, trivyEnv } from './trivy.js';

export interface ScanResult {
  findings: Finding[];
  /** Every platform's SBOM path. */
  sboms: Record<string, string>;
  /** Every platform's vulnerability report as cosign's vuln predicate (for the attestation). */
  vulnReports: Record<string, string>;
  /** sha256:… of the vulnerability database used ('' when Trivy left none where expected). */
  dbDigest: string;
}

interface Trivy {
  run(args: string[], silent?: boolean): Promise<unknown>;
  cacheDir: string;
}

interface PlatformReport {
  platform: string;
  path: string;
}

export function trivyCacheDir(inputs: Inputs, env: NodeJS.ProcessEnv): string {
  return (
    inputs.trivyCacheDir || env.TRIVY_CACHE_DIR || join(env.RUNNER_TOOL_CACHE || tmpdir(), 'trivy-cache')
  );
}

async function setUp(inputs: Inputs, work: string): Promise<Trivy> {
  const executable = await core.group(`Trivy ${inputs.trivyVersion}`, () =>
    installTrivy(inputs.trivyVersion, inputs.trivyDownloadUrl),
  );
  const cwd = join(work, 'trivy-cwd');
  mkdirSync(cwd, { recursive: true });
  const env = trivyEnv(process.env);
  return {
    run: (args, silent = false) => exec(executable, args, { cwd, env, silent }),
    cacheDir: resolve(trivyCacheDir(inputs, process.env)),
  };
}

async function scanPlatforms(trivy: Trivy, inputs: Inputs, layout: Layout, work: string) {
  const ignoreFile = inputs.trivyignore ? resolve(inputs.trivyignore) : join(work, 'none.trivyignore');
  if (!inputs.trivyignore) writeFileSync(ignoreFile, '');
  const name = inputs.images[0]!.input;
  const reports: PlatformReport[] = [];
  for (const image of layout.images) {
    const slug = platformSlug(image.platform);
    const single = singleImageLayout(layout, image, join(work, `scan-${slug}`));
    const report = join(work, `trivy-${slug}.json`);
    const options = {
      layoutDir: single,
      report,
      cacheDir: trivy.cacheDir,
      dbRepositories: inputs.trivyDbRepositories,
      ignoreFile,
      timeout: inputs.trivyTimeout,
    };
    await core.group(`Scan ${image.platform} (${image.descriptor.digest})`, () =>
      trivy.run(scanArgs(options)),
    );
    writeFileSync(report, stableReport(readFileSync(report, 'utf8'), single, name));
    reports.push({ platform: image.platform, path: report });
  }
  return reports;
}

async function writeSarif(trivy: Trivy, inputs: Inputs, reports: PlatformReport[], work: string) {
  const logs: Array<{ platform: string; log: SarifLog }> = [];
  for (const report of reports) {
    const sarif = join(work, `${platformSlug(report.platform)}.sarif`);
    await trivy.run(convertArgs(report.path, 'sarif', sarif), true);
    logs.push({ platform: report.platform, log: JSON.parse(readFileSync(sarif, 'utf8')) as SarifLog });
  }
  mkdirSync(dirname(resolve(inputs.sarifFile)), { recursive: true });
  writeFileSync(inputs.sarifFile, JSON.stringify(combineSarif(logs, inputs.sarifCategory), null, 2));
}

async function writeSboms(trivy: Trivy, inputs: Inputs, reports: PlatformReport[]) {
  const paths = sbomPaths(
    inputs.sbomFile,
    reports.map((report) => report.platform),
  );
  for (const report of reports) {
    const path = resolve(paths[report.platform]!);
    mkdirSync(dirname(path), { recursive: true });
    await trivy.run(convertArgs(report.path, 'cyclonedx', path), true);
  }
  return paths;
}

async function dbDigest(cacheDir: string): Promise<string> {
  const db = join(cacheDir, 'db', 'trivy.db');
  return existsSync(db) ? `sha256:${await sha256File(db)}` : '';
}

export async function scan(inputs: Inputs, layout: Layout, work: string): Promise<ScanResult> {
  const trivy = await setUp(inputs, work);
  const reports = await scanPlatforms(trivy, inputs, layout, work);
  const findings = reports.flatMap((report) =>
    findingsOf(readFileSync(report.path, 'utf8'), report.platform, report.path),
  );
  await writeSarif(trivy, inputs, reports, work);
  const sboms = await writeSboms(trivy, inputs, reports);
  const vulnReports: Record<string, string> = {};
  for (const report of reports) {
    vulnReports[report.platform] = report.path.replace(/\.json$/, '.cosign-vuln.json');
    await trivy.run(convertArgs(report.path, 'cosign-vuln', vulnReports[report.platform]!), true);
  }
  return { findings, sboms, vulnReports, dbDigest: await dbDigest(trivy.cacheDir) };
}
