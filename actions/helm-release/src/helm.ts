// helm itself: installed from the download site and checked against its published SHA-256 before it runs,
// then lint and package. Packaging is reproducible: the chart is staged in a temporary directory with every
// file's modification time set to one timestamp (SOURCE_DATE_EPOCH, else the last commit that touched the
// chart), because helm 4 writes file times into the archive and a fresh clone has new ones.
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { run } from '../../shared/src/exec.js';
import { installTool, sha256File } from '../../shared/src/tool.js';
import { setChartVersions } from './chart-yaml.js';

export function helmArchitecture(arch: string = process.arch): string {
  const names: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
    s390x: 's390x',
  };
  const name = names[arch];
  if (!name) throw new Error(`helm is not published for this runner's architecture (${arch})`);
  return name;
}

export async function installHelm(version: string, downloadUrl: string): Promise<string> {
  const file = `helm-v${version}-linux-${helmArchitecture()}.tar.gz`;
  return installTool({
    name: 'helm',
    version,
    url: `${downloadUrl}/${file}`,
    checksumUrl: `${downloadUrl}/${file}.sha256sum`,
    fileName: file,
    executable: `linux-${helmArchitecture()}/helm`,
  });
}

/** Seconds since the epoch every packaged file is dated: SOURCE_DATE_EPOCH, else the chart's last commit. */
export async function sourceDateEpoch(
  chartDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const fromEnv = env.SOURCE_DATE_EPOCH?.trim();
  if (fromEnv) {
    if (!/^\d+$/.test(fromEnv)) throw new Error(`SOURCE_DATE_EPOCH: "${fromEnv}" is not a number of seconds`);
    return Number(fromEnv);
  }
  let output: string;
  try {
    output = (await run('git', ['log', '-1', '--format=%ct', '--', '.'], { cwd: chartDir, silent: true }))
      .stdout;
  } catch (error) {
    throw new Error(
      `chart: cannot read the last commit of ${chartDir} (reproducible packages are dated by it; ` +
        `set SOURCE_DATE_EPOCH outside a git checkout): ${(error as Error).message}`,
      { cause: error },
    );
  }
  const seconds = Number(output.trim());
  if (!output.trim() || !Number.isFinite(seconds)) {
    throw new Error(`chart: ${chartDir} has no commit yet (commit it, or set SOURCE_DATE_EPOCH)`);
  }
  return seconds;
}

function touchAll(dir: string, seconds: number): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) touchAll(path, seconds);
    utimesSync(path, seconds, seconds);
  }
  utimesSync(dir, seconds, seconds);
}

export interface StagedChart {
  dir: string;
  cleanup(): void;
}

/** A copy of the chart with version/appVersion set and every file dated `seconds`. */
export function stageChart(
  chartDir: string,
  name: string,
  version: string,
  appVersion: string | undefined,
  seconds: number,
  tempRoot: string,
): StagedChart {
  mkdirSync(tempRoot, { recursive: true });
  const root = mkdtempSync(join(tempRoot, 'chart-'));
  const dir = join(root, name);
  cpSync(chartDir, dir, { recursive: true, dereference: true });
  const chartYaml = join(dir, 'Chart.yaml');
  writeFileSync(chartYaml, setChartVersions(readFileSync(chartYaml, 'utf8'), version, appVersion));
  touchAll(dir, seconds);
  return { dir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export class Helm {
  constructor(
    readonly binary: string,
    private readonly env: Record<string, string>,
  ) {}

  async lint(chartDir: string): Promise<void> {
    await run(this.binary, ['lint', '--strict', chartDir], { env: this.env });
  }

  /** Packages into `destination` and returns the .tgz path and its SHA-256 (hex). */
  async package(chartDir: string, destination: string): Promise<{ path: string; digest: string }> {
    mkdirSync(destination, { recursive: true });
    const result = await run(this.binary, ['package', chartDir, '--destination', destination], {
      env: this.env,
      silent: true,
    });
    const match = /saved it to: (.+\.tgz)\s*$/m.exec(result.stdout);
    if (!match) throw new Error(`helm package did not say where it saved the chart:\n${result.stdout}`);
    const path = match[1]!.trim();
    return { path, digest: await sha256File(path) };
  }

  async push(packagePath: string, registry: string, plainHttp: boolean): Promise<string> {
    const args = ['push', packagePath, registry];
    if (plainHttp) args.push('--plain-http');
    return (await run(this.binary, args, { env: this.env })).stdout + '';
  }

  /** `helm registry login` with the password on standard input (never on the command line). */
  async login(host: string, username: string, password: string, plainHttp: boolean): Promise<void> {
    const args = ['registry', 'login', host, '--username', username, '--password-stdin'];
    if (plainHttp) args.push('--plain-http');
    await run(this.binary, args, { env: this.env, input: password, silent: true });
  }
}
