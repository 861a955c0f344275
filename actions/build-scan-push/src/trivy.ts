// Trivy: the verified download (shared tool.ts) and the scan of one platform image, written once as a JSON
// report with every severity and every package, from which the SARIF file and the SBOM are converted.
// Trivy runs in an empty working directory with its ignore file named explicitly, so a stray ./.trivyignore
// or ./trivy.yaml of the runner's workspace never changes the result, and without the job's TRIVY_*
// variables (TRIVY_SEVERITY would hide findings from the gate, the SARIF and the SBOM; TRIVY_EXIT_CODE would
// fail the step on any finding): the gate is this action's alone.
import { SEVERITIES } from './inputs.js';
import { installTool } from '../../shared/src/tool.js';

export function trivyAsset(version: string, arch: string = process.arch): string {
  const platform = arch === 'arm64' ? 'Linux-ARM64' : 'Linux-64bit';
  return `trivy_${version}_${platform}.tar.gz`;
}

export async function installTrivy(version: string, downloadUrl: string): Promise<string> {
  const asset = trivyAsset(version);
  return installTool({
    name: 'trivy',
    version,
    url: `${downloadUrl}/v${version}/${asset}`,
    checksumUrl: `${downloadUrl}/v${version}/trivy_${version}_checksums.txt`,
    executable: 'trivy',
  });
}

export interface ScanOptions {
  layoutDir: string;
  report: string;
  cacheDir: string;
  dbRepositories: string[];
  /** Always a file: without one, Trivy would read ./.trivyignore (an empty file when the user has none). */
  ignoreFile: string;
  /** --timeout, a Go duration. */
  timeout: string;
}

/** The environment Trivy runs in: the job's, without any TRIVY_* variable (every setting is a flag). */
export function trivyEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !/^TRIVY_/i.test(name)) clean[name] = value;
  }
  return clean;
}

export function scanArgs(options: ScanOptions): string[] {
  const args = [
    'image',
    '--input',
    options.layoutDir,
    '--scanners',
    'vuln',
    '--format',
    'json',
    '--list-all-pkgs',
    '--output',
    options.report,
    '--cache-dir',
    options.cacheDir,
    '--severity',
    SEVERITIES.join(','),
    '--exit-code',
    '0',
    '--timeout',
    options.timeout,
    '--skip-version-check',
    '--quiet',
  ];
  for (const repository of options.dbRepositories) args.push('--db-repository', repository);
  args.push('--ignorefile', options.ignoreFile);
  return args;
}

export function convertArgs(
  report: string,
  format: 'sarif' | 'cyclonedx' | 'cosign-vuln',
  output: string,
): string[] {
  return ['convert', '--format', format, '--output', output, report];
}
