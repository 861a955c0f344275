// The chart as helm packages it, reproducibly: a copy in a temporary directory with version/appVersion set
// and every file dated one timestamp (SOURCE_DATE_EPOCH, else the last commit that touched the chart),
// because helm 4 writes file times into the archive and a fresh clone has new ones. Dependencies that
// charts/ does not hold are built into the copy (`helm dependency build`), never into the checkout: local
// file:// charts are staged beside it, dated the same, so the archives helm makes of them are reproducible
// too, and a Chart.lock that helm generates (it holds the time) is not packaged.
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { run } from '../../shared/src/exec.js';
import { setChartVersions } from './chart-yaml.js';
import { missingDependencies, stagingLayout } from './dependencies.js';
import type { Helm } from './helm.js';

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

function copyDated(from: string, to: string, seconds: number): void {
  cpSync(from, to, { recursive: true, dereference: true });
  touchAll(to, seconds);
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
  const { depth } = stagingLayout(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8'));
  const dir = join(root, ...Array<string>(depth).fill('staged'), name);
  copyDated(chartDir, dir, seconds);
  const chartYaml = join(dir, 'Chart.yaml');
  writeFileSync(chartYaml, setChartVersions(readFileSync(chartYaml, 'utf8'), version, appVersion));
  touchAll(dir, seconds);
  return { dir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * Builds the dependencies charts/ does not hold into the staged chart; returns their names (empty: all
 * vendored, nothing run).
 */
export async function buildDependencies(
  helm: Helm,
  chartDir: string,
  staged: StagedChart,
  seconds: number,
): Promise<string[]> {
  const chartYaml = readFileSync(join(staged.dir, 'Chart.yaml'), 'utf8');
  const charts = join(staged.dir, 'charts');
  const missing = missingDependencies(chartYaml, existsSync(charts) ? readdirSync(charts) : []);
  if (missing.length === 0) return [];
  for (const path of stagingLayout(chartYaml).local) {
    const target = resolve(staged.dir, path);
    if (!existsSync(target)) copyDated(resolve(chartDir, path), target, seconds);
  }
  const lock = join(staged.dir, 'Chart.lock');
  const locked = existsSync(lock);
  await helm.dependencyBuild(staged.dir);
  if (!locked) rmSync(lock, { force: true });
  touchAll(staged.dir, seconds);
  return missing;
}
