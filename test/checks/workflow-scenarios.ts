// The scenarios the workflow condition tests share: what detect reports, a passed gate, and the GitHub context
// of a run (schedule by default), for test/support/github-expressions.ts's runWorkflow.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadYaml,
  stepOf,
  type JobRun,
  type Scenario,
  type StepPlan,
  type Value,
} from '../support/github-expressions.js';

/** The value of IMAGES in the default scenario. */
export const IMAGES = 'docker.io/pablodelarco/opennebula, ghcr.io/pablodelarco/opennebula';
export const REPOSITORY = 'pablodelarco/opennebula-helm';
export const TAGS = '7.4.1\n7.4\n7\nlatest';

export const detected = (isNew: boolean, extra: Record<string, string> = {}): StepPlan => ({
  outputs: {
    version: '7.4.1',
    series: '7.4',
    'package-version': '7.4.1-1',
    'repository-dir': '7.4',
    'is-new': String(isNew),
    tags: TAGS,
    matrix: '[]',
    'new-versions': '[]',
    'other-new-versions': '[]',
    'moves-chart': 'true',
    // A new version has no chart yet; an old one's chart was published with it.
    'chart-published': String(!isNew),
    ...extra,
  },
});

export const gatePassed: StepPlan = {
  outputs: { gate: 'passed', digest: 'sha256:aa', 'tags-pushed': 'ghcr.io/o/opennebula:7.4.1' },
};
export const ALL_FILES = ['trivy-results.sarif', 'sbom.cdx.json'];

export function scenario(
  overrides: Partial<Scenario> & { event?: string; github?: Record<string, Value> },
): Scenario {
  const event = overrides.event ?? 'schedule';
  return {
    github: {
      event_name: event,
      repository: REPOSITORY,
      repository_owner: 'pablodelarco',
      ref: 'refs/heads/main',
      run_attempt: 1,
      event: {},
      ...overrides.github,
    },
    inputs: overrides.inputs ?? {},
    vars: overrides.vars ?? { IMAGES, REGISTRY_USERNAME: 'bot' },
    secrets: overrides.secrets ?? { REGISTRY_PASSWORD: 'secret' },
    steps: overrides.steps ?? {},
    files: overrides.files ?? ALL_FILES,
  };
}

/** Dispatch inputs as GitHub gives them on other events: null. */
export const NO_INPUTS = { version: null, force: null, 'dry-run': null };

export const ran = (run: JobRun | undefined, step: string) => (run ? stepOf(run, step).ran : false);

/** The publishers' concurrency group for a series (every publisher of an image repository and series). */
export const publishGroup = (series: string, images = IMAGES) => ({
  group: `opennebula-publish-${images}-${series}`,
  cancelInProgress: false,
});

/**
 * rebuild-opennebula.yml's plan step run for real (bash and jq, as on the runner): the matrix the legs get
 * from `matrix`, and what it writes to the job summary.
 */
export function planRebuild(matrix: string): { outputs: { matrix: string }; summary: string } {
  type Doc = { jobs: { plan: { steps: Array<{ id?: string; run?: string }> } } };
  const script = loadYaml<Doc>('.github/workflows/rebuild-opennebula.yml').jobs.plan.steps.find(
    (step) => step.id === 'plan',
  )!.run!;
  const dir = mkdtempSync(join(tmpdir(), 'rebuild-plan-'));
  try {
    const output = join(dir, 'output');
    const summary = join(dir, 'summary');
    writeFileSync(output, '');
    writeFileSync(summary, '');
    execFileSync('bash', ['-e', '-c', script], {
      env: { PATH: process.env.PATH, MATRIX: matrix, GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary },
    });
    const line = readFileSync(output, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('matrix='));
    return { outputs: { matrix: line!.slice('matrix='.length) }, summary: readFileSync(summary, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
