// The workflows' `if:` conditions, `env:` decisions and `with:` values do what issue #12 says, evaluated from
// the real YAML files with GitHub's expression evaluator (test/support/github-expressions.ts) for the cases
// that matter: a new version, nothing new, force, dry-run, pull requests from forks, a fork without the IMAGES
// variable, a failed gate, a failed build, a re-run after the image was pushed, and the weekly rebuild.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  callInputs,
  evaluateIf,
  runSteps,
  runWorkflow,
  stepOf,
  loadYaml,
  type Scenario,
  type StepPlan,
  type Value,
} from '../support/github-expressions.js';
import {
  NO_INPUTS,
  REPOSITORY,
  TAGS,
  detected,
  gatePassed,
  planRebuild,
  publishGroup,
  ran,
  scenario,
} from './workflow-scenarios.js';

function release(s: Scenario) {
  const jobs = runWorkflow('.github/workflows/release.yml', s);
  const publish = jobs.publish![0]!;
  const image = publish.jobs?.image?.[0];
  const chart = publish.jobs?.chart?.[0];
  return { jobs, publish, image, chart };
}

describe('release.yml: detect → publish', () => {
  it('a new version on the schedule: build, scan, push, upload SARIF and SBOM, then publish the chart', () => {
    const { publish, image, chart } = release(
      scenario({ inputs: NO_INPUTS, steps: { 'detect.detect': detected(true), 'image.build': gatePassed } }),
    );
    expect(publish.ran).toBe(true);
    expect(image!.concurrency).toEqual(publishGroup('7.4'));
    expect(publish.with).toMatchObject({
      version: '7.4.1',
      tags: TAGS,
      push: true,
      'dry-run': false,
      overwrite: false,
    });
    expect(image!.env.PUBLISH).toBe('true');
    expect(ran(image, 'Log in to the registries')).toBe(true);
    expect(ran(image, 'already')).toBe(true);
    const build = stepOf(image!, 'build');
    expect(build.ran).toBe(true);
    expect(build.with).toMatchObject({ push: 'true', overwrite: 'false', version: '7.4.1', tags: TAGS });
    expect(build.with['build-args']).toBe('ONE_PACKAGE_VERSION=7.4.1-1\nONE_REPOSITORY_DIR=7.4\n');
    expect(build.env.SOURCE_DATE_EPOCH).toBe('');
    expect(ran(image, 'Upload the findings to code scanning')).toBe(true);
    expect(stepOf(image!, 'Upload the findings to code scanning').with.category).toBe('trivy-7.4');
    expect(ran(image, 'Keep the SBOM and the SARIF')).toBe(true);
    expect(image!.outputs.pushed).toBe('true');
    expect(chart!.ran).toBe(true);
    expect(stepOf(chart!, 'release').with).toMatchObject({
      'app-version': '7.4.1',
      chart: 'chart/opennebula',
    });
  });

  it('nothing new on the schedule: publish does not run', () => {
    const { publish, jobs } = release(
      scenario({ inputs: NO_INPUTS, steps: { 'detect.detect': detected(false) } }),
    );
    expect(publish.ran).toBe(false);
    expect(jobs['other-series']).toEqual([expect.objectContaining({ ran: false })]);
  });

  it('a hotfix of an older series while the newest is published: built and pushed, without a chart', () => {
    const hotfix = {
      version: '7.0.1.1',
      series: '7.0',
      tags: '7.0.1.1\n7.0',
      'is-new': true,
      'package-version': '7.0.1.1-1',
      'repository-dir': '7.0',
    };
    const newer = {
      ...hotfix,
      version: '7.2.0.1',
      series: '7.2',
      tags: '7.2.0.1\n7.2',
      'repository-dir': '7.2',
    };
    const others = JSON.stringify([hotfix, newer]);
    const { publish, jobs } = release(
      scenario({
        inputs: NO_INPUTS,
        steps: {
          'detect.detect': detected(false, { 'new-versions': others, 'other-new-versions': others }),
          'image.build': gatePassed,
        },
      }),
    );
    expect(publish.ran).toBe(false);
    const legs = jobs['other-series']!;
    expect(legs.map((leg) => leg.with?.version)).toEqual(['7.0.1.1', '7.2.0.1']);
    for (const leg of legs) {
      expect(leg.ran).toBe(true);
      expect(leg.with).toMatchObject({ chart: '', push: true, 'dry-run': false, overwrite: false });
      expect(leg.jobs!.image![0]!.concurrency).toEqual(publishGroup(String(leg.with?.series)));
      const image = leg.jobs!.image![0]!;
      expect(image.env.PUBLISH).toBe('true');
      expect(stepOf(image, 'build').with).toMatchObject({ push: 'true', tags: leg.with?.tags });
      expect(leg.jobs!.chart![0]!.ran).toBe(false);
    }
    expect(legs[0]!.with).toMatchObject({ tags: '7.0.1.1\n7.0', 'package-version': '7.0.1.1-1' });
  });

  it('a failed detection: publish does not run', () => {
    const { publish } = release(
      scenario({ inputs: NO_INPUTS, steps: { 'detect.detect': { outcome: 'failure', outputs: {} } } }),
    );
    expect(publish.ran).toBe(false);
  });

  it('force: publish runs, detect is told to force, and the full-version tag may move (overwrite)', () => {
    const inputs = { version: '7.4.1', force: true, 'dry-run': false };
    const { jobs, publish, image, chart } = release(
      scenario({
        event: 'workflow_dispatch',
        inputs,
        steps: { 'detect.detect': detected(true), 'image.build': gatePassed },
      }),
    );
    expect(jobs.detect![0]!.with).toMatchObject({ version: '7.4.1', force: true });
    expect(publish.with).toMatchObject({ overwrite: true, 'dry-run': false });
    expect(ran(image, 'already')).toBe(false);
    expect(stepOf(image!, 'build').with.overwrite).toBe('true');
    expect(chart!.ran).toBe(true);
  });

  it('force runs publish even if detection reported is-new false', () => {
    const { publish } = release(
      scenario({
        event: 'workflow_dispatch',
        inputs: { version: '', force: true, 'dry-run': false },
        steps: { 'detect.detect': detected(false) },
      }),
    );
    expect(publish.ran).toBe(true);
  });

  it('dry-run: builds and scans, logs in nowhere, pushes nothing, publishes no chart, and says why', () => {
    const { image, chart } = release(
      scenario({
        event: 'workflow_dispatch',
        inputs: { version: '', force: false, 'dry-run': true },
        steps: { 'detect.detect': detected(true), 'image.build': { outputs: { gate: 'passed' } } },
      }),
    );
    expect(image!.env.PUBLISH).toBe('false');
    expect(ran(image, 'Log in to the registries')).toBe(false);
    expect(ran(image, 'already')).toBe(false);
    expect(stepOf(image!, 'build').with.push).toBe('false');
    expect(stepOf(image!, 'result').env).toMatchObject({ DRY_RUN: 'true' });
    expect(image!.outputs.pushed).toBe('false');
    expect(chart!.ran).toBe(false);
  });

  it('a pull request from a fork: builds and scans with a read-only token, pushes and uploads nothing', () => {
    const { publish, image, chart } = release(
      scenario({
        event: 'pull_request',
        inputs: NO_INPUTS,
        github: {
          ref: 'refs/pull/7/merge',
          event: { pull_request: { head: { repo: { full_name: 'someone/opennebula-helm', fork: true } } } },
        },
        secrets: {},
        steps: { 'detect.detect': detected(false), 'image.build': { outputs: { gate: 'passed' } } },
      }),
    );
    expect(publish.ran).toBe(true);
    expect(image!.concurrency!.group).toBe('opennebula-verify-refs/pull/7/merge-7.4');
    expect(publish.with).toMatchObject({ push: false });
    expect(image!.env.PUBLISH).toBe('false');
    expect(ran(image, 'Log in to the registries')).toBe(false);
    expect(stepOf(image!, 'build').with.push).toBe('false');
    expect(ran(image, 'Upload the findings to code scanning')).toBe(false);
    expect(ran(image, 'Keep the SBOM and the SARIF')).toBe(true);
    expect(stepOf(image!, 'result').env).toMatchObject({ EVENT: 'pull_request' });
    expect(image!.outputs.pushed).toBe('false');
    expect(chart!.ran).toBe(false);
  });

  it('a pull request from a branch of the repository uploads its SARIF but still pushes nothing', () => {
    const { image, chart } = release(
      scenario({
        event: 'pull_request',
        inputs: NO_INPUTS,
        github: { event: { pull_request: { head: { repo: { full_name: REPOSITORY, fork: false } } } } },
        steps: { 'detect.detect': detected(true), 'image.build': { outputs: { gate: 'passed' } } },
      }),
    );
    expect(ran(image, 'Upload the findings to code scanning')).toBe(true);
    expect(stepOf(image!, 'build').with.push).toBe('false');
    expect(chart!.ran).toBe(false);
  });

  it('a fork without the IMAGES variable: builds and scans its own GHCR name, pushes nothing, stays green', () => {
    const { jobs, image, chart } = release(
      scenario({
        inputs: NO_INPUTS,
        vars: {},
        secrets: {},
        steps: { 'detect.detect': detected(true), 'image.build': { outputs: { gate: 'passed' } } },
      }),
    );
    expect(jobs.detect![0]!.with).toMatchObject({ image: '' });
    expect(image!.env.PUBLISH).toBe('false');
    expect(stepOf(image!, 'build').with.push).toBe('false');
    expect(stepOf(image!, 'result').env).toMatchObject({ IMAGES_INPUT: '' });
    expect(image!.outputs.pushed).toBe('false');
    expect(image!.result).toBe('success');
    expect(chart!.ran).toBe(false);
  });

  it('a failed gate: the SARIF and the SBOM are still uploaded, nothing is pushed, no chart', () => {
    const { publish, image, chart } = release(
      scenario({
        inputs: NO_INPUTS,
        steps: {
          'detect.detect': detected(true),
          'image.build': { outcome: 'failure', outputs: { gate: 'failed' } },
        },
      }),
    );
    expect(ran(image, 'Upload the findings to code scanning')).toBe(true);
    expect(ran(image, 'Keep the SBOM and the SARIF')).toBe(true);
    expect(ran(image, 'result')).toBe(true);
    expect(ran(image, 'Log out of the registries')).toBe(true);
    expect(image!.outputs.pushed).toBe('false');
    expect(image!.result).toBe('failure');
    expect(chart!.ran).toBe(false);
    expect(publish.result).toBe('failure');
  });

  it('a build that fails before any scan: nothing to upload, no chart', () => {
    const { image, chart } = release(
      scenario({
        inputs: NO_INPUTS,
        files: [],
        steps: { 'detect.detect': detected(true), 'image.build': { outcome: 'failure', outputs: {} } },
      }),
    );
    expect(ran(image, 'Upload the findings to code scanning')).toBe(false);
    expect(ran(image, 'Keep the SBOM and the SARIF')).toBe(false);
    expect(chart!.ran).toBe(false);
  });

  it('a re-run after the image was pushed: nothing is rebuilt, the chart is published', () => {
    const { image, chart } = release(
      scenario({
        inputs: NO_INPUTS,
        github: { run_attempt: 2 },
        files: [],
        steps: { 'detect.detect': detected(true), 'image.already': { outputs: { 'is-new': 'false' } } },
      }),
    );
    expect(stepOf(image!, 'already').with).toMatchObject({ version: '7.4.1' });
    expect(ran(image, 'build')).toBe(false);
    expect(ran(image, 'docker/setup-buildx-action@37fe631027851001ddb9b187196cc803df7f5f0e')).toBe(false);
    expect(ran(image, 'Upload the findings to code scanning')).toBe(false);
    expect(image!.outputs.pushed).toBe('true');
    expect(chart!.ran).toBe(true);
  });
  it('a re-run of all jobs after the Pages push failed: detect says not new, the chart is still published', () => {
    const { publish, image, chart } = release(
      scenario({
        inputs: NO_INPUTS,
        github: { run_attempt: '2' },
        files: [],
        steps: {
          'detect.detect': detected(false, { 'chart-published': 'false' }),
          'image.already': { outputs: { 'is-new': 'false' } },
        },
      }),
    );
    expect(publish.ran).toBe(true);
    expect(publish.with).toMatchObject({ 'moves-chart': true, 'chart-published': false });
    expect(ran(image, 'build')).toBe(false);
    expect(image!.outputs.pushed).toBe('true');
    expect(ran(chart, 'release')).toBe(true);
  });

  it('a re-run of a run that had finished: nothing is rebuilt and no second chart version is published', () => {
    const { image, chart } = release(
      scenario({
        inputs: NO_INPUTS,
        github: { run_attempt: '2' },
        files: [],
        steps: {
          'detect.detect': detected(false),
          'image.already': { outputs: { 'is-new': 'false' } },
        },
      }),
    );
    expect(ran(image, 'build')).toBe(false);
    expect(chart!.ran).toBe(false);
  });

  it('the first publish (no Pages branch yet): the chart is published', () => {
    const { chart } = release(
      scenario({
        inputs: NO_INPUTS,
        steps: { 'detect.detect': detected(true), 'image.build': gatePassed },
      }),
    );
    expect(chart!.steps.map((step) => step.outcome)).toEqual(['success', 'success']);
    expect(ran(chart, 'release')).toBe(true);
  });
});

describe('security-rebuild.yml: every series, overwrite, independent legs', () => {
  const matrix = JSON.stringify([
    {
      version: '7.4.1',
      series: '7.4',
      tags: TAGS,
      'is-new': false,
      'package-version': '7.4.1-1',
      'repository-dir': '7.4',
    },
    {
      version: '7.2.3',
      series: '7.2',
      tags: '7.2.3\n7.2',
      'is-new': false,
      'package-version': '7.2.3-1',
      'repository-dir': '7.2',
    },
  ]);

  it('rebuilds each entry with overwrite, pushes where the gate passes, and a failing series stops no other', () => {
    const jobs = runWorkflow(
      '.github/workflows/security-rebuild.yml',
      scenario({
        inputs: { 'dry-run': null },
        steps: {
          'detect.detect': detected(false, { matrix }),
          'plan.plan': planRebuild(matrix),
          'rebuild[7.4].build': gatePassed,
          'rebuild[7.2].build': { outcome: 'failure', outputs: { gate: 'failed' } },
        },
      }),
    );
    const call = jobs.rebuild![0]!;
    const legs = call.jobs!.rebuild!;
    expect(legs.map((leg) => leg.matrix!.series)).toEqual(['7.4', '7.2']);
    for (const leg of legs) {
      expect(leg.concurrency).toEqual(publishGroup(String(leg.matrix!.series)));
      const build = stepOf(leg, 'build');
      expect(build.ran).toBe(true);
      expect(build.with).toMatchObject({ overwrite: 'true', push: 'true', version: leg.matrix!.version });
      expect(ran(leg, 'Summary of this series')).toBe(true);
      expect(ran(leg, 'Upload the findings to code scanning')).toBe(true);
    }
    expect(legs.map((leg) => leg.result)).toEqual(['success', 'failure']);
    expect(stepOf(legs[1]!, 'Summary of this series').env).toMatchObject({ SERIES: '7.2', GATE: 'failed' });
    for (const leg of legs) expect(ran(leg, "Keep this series' row for the run's summary")).toBe(true);
    const report = call.jobs!.report![0]!;
    expect(report.ran).toBe(true);
    expect(stepOf(report, 'Summary of every series').env.RESULT).toBe('failure');
    const doc = loadYaml<{ jobs: { rebuild: { strategy: { 'fail-fast': boolean } } } }>(
      '.github/workflows/rebuild-opennebula.yml',
    );
    expect(doc.jobs.rebuild.strategy['fail-fast']).toBe(false);
  });

  it('does not start the rebuild when detection found no series', () => {
    const jobs = runWorkflow(
      '.github/workflows/security-rebuild.yml',
      scenario({
        inputs: { 'dry-run': null },
        steps: { 'detect.detect': detected(false, { matrix: '[]' }) },
      }),
    );
    expect(jobs.rebuild![0]!.ran).toBe(false);
  });

  it('dry-run rebuilds and scans every series and pushes none', () => {
    const jobs = runWorkflow(
      '.github/workflows/security-rebuild.yml',
      scenario({
        event: 'workflow_dispatch',
        inputs: { 'dry-run': true },
        steps: { 'detect.detect': detected(false, { matrix }), 'plan.plan': planRebuild(matrix) },
      }),
    );
    for (const leg of jobs.rebuild![0]!.jobs!.rebuild!) {
      expect(stepOf(leg, 'build').with.push).toBe('false');
      expect(ran(leg, 'Log in to the registries')).toBe(false);
    }
  });
});

describe('the starter templates call the same reusable workflows with the same decisions', () => {
  it('opennebula-release.yml: a new version is published, nothing new is not, force rebuilds, other series built', () => {
    const run = (s: Scenario) => runWorkflow('workflows-templates/opennebula-release.yml', s).publish![0]!;
    const published = run(
      scenario({ inputs: NO_INPUTS, steps: { 'detect.detect': detected(true), 'image.build': gatePassed } }),
    );
    expect(published.jobs!.chart![0]!.ran).toBe(true);
    expect(run(scenario({ inputs: NO_INPUTS, steps: { 'detect.detect': detected(false) } })).ran).toBe(false);
    const forced = run(
      scenario({
        event: 'workflow_dispatch',
        inputs: { version: '7.4.1', force: true, 'dry-run': false },
        steps: { 'detect.detect': detected(true), 'image.build': gatePassed },
      }),
    );
    expect(stepOf(forced.jobs!.image![0]!, 'build').with.overwrite).toBe('true');
    const hotfix = JSON.stringify([{ version: '7.0.1.1', series: '7.0', tags: '7.0.1.1\n7.0' }]);
    const others = runWorkflow(
      'workflows-templates/opennebula-release.yml',
      scenario({
        inputs: NO_INPUTS,
        steps: {
          'detect.detect': detected(false, { 'other-new-versions': hotfix }),
          'image.build': gatePassed,
        },
      }),
    )['other-series']!;
    expect(others.map((leg) => [leg.with?.version, leg.with?.chart])).toEqual([['7.0.1.1', '']]);
    expect(stepOf(others[0]!.jobs!.image![0]!, 'build').with).toMatchObject({ push: 'true' });
  });

  it('opennebula-security-rebuild.yml: every series of the matrix', () => {
    const matrix = JSON.stringify([{ version: '7.4.1', series: '7.4', tags: TAGS }]);
    const jobs = runWorkflow(
      'workflows-templates/opennebula-security-rebuild.yml',
      scenario({
        inputs: {},
        steps: { 'detect.detect': detected(false, { matrix }), 'plan.plan': planRebuild(matrix) },
      }),
    );
    expect(stepOf(jobs.rebuild![0]!.jobs!.rebuild![0]!, 'build').with.overwrite).toBe('true');
  });
});

describe('the root action (one job)', () => {
  type Action = {
    inputs: Record<string, { default?: string }>;
    runs: { steps: Parameters<typeof runSteps>[0] };
  };
  const action = loadYaml<Action>('action.yml');

  function root(given: Record<string, string>, plans: Record<string, StepPlan>) {
    const inputs: Record<string, Value> = {};
    for (const [name, spec] of Object.entries(action.inputs))
      inputs[name] = given[name] ?? spec.default ?? '';
    return runSteps(action.runs.steps, { inputs, github: { repository: REPOSITORY, token: 't' } }, (id) =>
      id ? plans[id] : undefined,
    ).steps;
  }
  /** The three stages (the setup steps before the build have no id). */
  const stages = (given: Record<string, string>, plans: Record<string, StepPlan>) =>
    root(given, plans).filter((step) => step.id);

  it('sets up QEMU and a buildx docker-container builder before a docker build, and only then', () => {
    const uses = (given: Record<string, string>, isNew = true) =>
      root(given, { detect: detected(isNew), build: gatePassed })
        .filter((step) => step.ran && !step.id)
        .map((step) => step.name.split('@')[0]);
    expect(uses({ image: 'ghcr.io/o/opennebula' })).toEqual(['docker/setup-buildx-action']);
    expect(uses({ image: 'ghcr.io/o/opennebula', platforms: 'linux/amd64,linux/arm64' })).toEqual([
      'docker/setup-qemu-action',
      'docker/setup-buildx-action',
    ]);
    expect(uses({ image: 'ghcr.io/o/opennebula', builder: 'buildah' })).toEqual([]);
    expect(uses({ image: 'ghcr.io/o/opennebula' }, false)).toEqual([]);
  });

  it('a new version: detect, build and push, then the chart', () => {
    const steps = stages({ image: 'ghcr.io/o/opennebula' }, { detect: detected(true), build: gatePassed });
    expect(steps.map((s) => [s.id, s.ran])).toEqual([
      ['detect', true],
      ['build', true],
      ['chart', true],
    ]);
    expect(steps[1]!.env).toMatchObject({ INPUT_PUSH: 'true', INPUT_OVERWRITE: 'false', INPUT_TAGS: TAGS });
    expect(steps[2]!.env).toMatchObject({ 'INPUT_APP-VERSION': '7.4.1', 'INPUT_DRY-RUN': 'false' });
  });

  it('nothing new: neither build nor chart', () => {
    const steps = stages({ image: 'ghcr.io/o/opennebula' }, { detect: detected(false) });
    expect(steps.map((s) => s.ran)).toEqual([true, false, false]);
  });

  it('a failed gate stops before the chart', () => {
    const steps = stages(
      { image: 'ghcr.io/o/opennebula' },
      { detect: detected(true), build: { outcome: 'failure', outputs: { gate: 'failed' } } },
    );
    expect(steps.map((s) => s.outcome)).toEqual(['success', 'failure', 'skipped']);
  });

  it('push false (a fork without secrets): build and scan, no chart', () => {
    const steps = stages(
      { image: 'ghcr.io/o/opennebula', push: 'false' },
      { detect: detected(true), build: gatePassed },
    );
    expect(steps[1]!.env.INPUT_PUSH).toBe('false');
    expect(steps[2]!.ran).toBe(false);
  });

  it('dry-run: pushes nothing and runs the chart as a dry run', () => {
    const steps = stages(
      { image: 'ghcr.io/o/opennebula', 'dry-run': 'true' },
      { detect: detected(true), build: gatePassed },
    );
    expect(steps[1]!.env.INPUT_PUSH).toBe('false');
    expect(steps[2]!.ran).toBe(true);
    expect(steps[2]!.env['INPUT_DRY-RUN']).toBe('true');
  });

  it('force moves the full-version tag (overwrite)', () => {
    const steps = stages(
      { image: 'ghcr.io/o/opennebula', force: 'true' },
      { detect: detected(true), build: gatePassed },
    );
    expect(steps[1]!.env.INPUT_OVERWRITE).toBe('true');
  });
});

describe('the evaluator itself', () => {
  it('adds the implicit success() and honours status functions', () => {
    expect(evaluateIf("'a' == 'a'", {}, { status: 'failure' })).toBe(false);
    expect(evaluateIf("always() && 'a' == 'a'", {}, { status: 'failure' })).toBe(true);
    expect(evaluateIf('failure()', {}, { status: 'failure' })).toBe(true);
    expect(evaluateIf(undefined, {}, { status: 'skipped' })).toBe(false);
    expect(evaluateIf('${{ inputs.force == true }}', { inputs: { force: null } })).toBe(false);
  });

  it('rejects what GitHub rejects (an unknown function)', () => {
    expect(() => evaluateIf('nosuch()', {})).toThrow();
  });
});

describe('these tests catch a changed condition (mutated copies of publish-opennebula.yml)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'workflow-mutants-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const original = readFileSync('.github/workflows/publish-opennebula.yml', 'utf8');
  type Publish = {
    jobs: {
      chart: { if?: string };
      image: { env: Record<string, string>; steps: Array<{ name?: string; if?: string }> };
    };
  };

  /** Runs a copy of publish-opennebula.yml changed by `mutate`, as release.yml calls it for a new version. */
  function publishCopy(
    mutate: (doc: Publish) => void,
    steps: Record<string, StepPlan>,
    event: Partial<Scenario> & { event?: string; github?: Record<string, Value> } = {},
  ) {
    const doc = parse(original) as Publish;
    mutate(doc);
    const path = join(dir, `publish-${Math.random().toString(36).slice(2)}.yml`);
    writeFileSync(path, stringify(doc));
    const s = scenario({ inputs: NO_INPUTS, steps, ...event });
    const given = { images: 'ghcr.io/o/opennebula', version: '7.4.1', series: '7.4', tags: TAGS };
    return runWorkflow(path, s, callInputs(path, given), {});
  }
  const failedGate = { 'image.build': { outcome: 'failure' as const, outputs: { gate: 'failed' } } };

  it('unchanged, a failed gate publishes no chart and still uploads the SARIF', () => {
    const jobs = publishCopy(() => {}, failedGate);
    expect(jobs.chart![0]!.ran).toBe(false);
    expect(ran(jobs.image![0], 'Upload the findings to code scanning')).toBe(true);
  });

  it('a chart job on always() would publish a chart after a failed gate', () => {
    const jobs = publishCopy((doc) => (doc.jobs.chart.if = 'always()'), failedGate);
    expect(jobs.chart![0]!.ran).toBe(true);
  });

  it('a SARIF upload without always() would be skipped after a failed gate', () => {
    const jobs = publishCopy((doc) => {
      const upload = doc.jobs.image.steps.find((step) => step.name?.startsWith('Upload'));
      upload!.if = "steps.build.outcome != 'skipped'";
    }, failedGate);
    expect(ran(jobs.image![0], 'Upload the findings to code scanning')).toBe(false);
  });

  it('PUBLISH without its pull-request rule would push from a pull request whose caller left push at true', () => {
    const pullRequest = {
      event: 'pull_request',
      github: { event: { pull_request: { head: { repo: {} } } } },
    };
    const unchanged = publishCopy(() => {}, { 'image.build': gatePassed }, pullRequest);
    expect(stepOf(unchanged.image![0]!, 'build').with.push).toBe('false');
    const mutated = publishCopy(
      (doc) => (doc.jobs.image.env.PUBLISH = "${{ inputs.push && !inputs.dry-run && inputs.images != '' }}"),
      { 'image.build': gatePassed },
      pullRequest,
    );
    expect(stepOf(mutated.image![0]!, 'build').with.push).toBe('true');
    expect(mutated.chart![0]!.ran).toBe(true);
  });
});
