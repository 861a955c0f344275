// Issue 20, the workflows: one truth about what is published (detect's moves-chart and chart-published), an
// older version that is image only, one concurrency group per image repository and series for every publisher,
// REGISTRY_USERNAME as a variable, a first run in a brand-new fork without red annotations, templates that
// need only docker/ and chart/, and the README facts about schedules and organisation templates. Evaluated
// from the real YAML with GitHub's expression evaluator (test/support/github-expressions.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadYaml, runWorkflow, stepOf, type JobRun } from '../support/github-expressions.js';
import { REPO_ROOT } from '../support/tools.js';
import {
  NO_INPUTS,
  detected,
  gatePassed,
  planRebuild,
  publishGroup,
  ran,
  scenario,
} from './workflow-scenarios.js';

const RELEASE = '.github/workflows/release.yml';
const TEMPLATE = 'workflows-templates/opennebula-release.yml';
const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const files = (dir: string) =>
  readdirSync(join(REPO_ROOT, dir))
    .filter((name) => name.endsWith('.yml'))
    .map((name) => `${dir}/${name}`);
const WORKFLOWS = [...files('.github/workflows'), ...files('workflows-templates')];

const entry = (version: string, series: string, isNew: boolean) => ({
  version,
  series,
  tags: `${version}\n${series}`,
  'is-new': isNew,
  'package-version': `${version}-1`,
  'repository-dir': series,
});

describe('one truth about what is published', () => {
  it('the newest image is out but its chart is not (a failed chart job): the next scheduled run publishes it', () => {
    for (const file of [RELEASE, TEMPLATE]) {
      const jobs = runWorkflow(
        file,
        scenario({
          inputs: NO_INPUTS,
          steps: {
            'detect.detect': detected(false, { 'chart-published': 'false' }),
            'image.already': { outputs: { 'is-new': 'false' } },
          },
        }),
      );
      const publish = jobs.publish![0]!;
      expect(publish.ran, file).toBe(true);
      const image = publish.jobs!.image![0]!;
      expect(ran(image, 'build'), file).toBe(false);
      expect(image.outputs.pushed, file).toBe('true');
      expect(ran(publish.jobs!.chart![0], 'release'), file).toBe(true);
    }
  });

  it('detect is asked about the chart: release.yml names it, the reusable detect workflow passes it on', () => {
    const jobs = runWorkflow(
      RELEASE,
      scenario({ inputs: NO_INPUTS, steps: { 'detect.detect': detected(false) } }),
    );
    const detect = stepOf(jobs.detect![0]!.jobs!.detect![0]!, 'detect');
    expect(detect.with).toMatchObject({ 'chart-name': 'opennebula', 'index-branch': 'gh-pages' });
    expect(jobs.detect![0]!.outputs).toMatchObject({ 'moves-chart': 'true', 'chart-published': 'true' });
  });

  it('nothing new and the chart published: nothing runs', () => {
    const jobs = runWorkflow(
      RELEASE,
      scenario({ inputs: NO_INPUTS, steps: { 'detect.detect': detected(false) } }),
    );
    expect(jobs.publish![0]!.ran).toBe(false);
  });

  it('the weekly rebuild leaves new versions to the release workflow and says so', () => {
    const matrix = JSON.stringify([entry('7.2.3', '7.2', false), entry('7.4.1', '7.4', true)]);
    const plan = planRebuild(matrix);
    expect(JSON.parse(plan.outputs.matrix)).toEqual([entry('7.2.3', '7.2', false)]);
    expect(plan.summary).toContain(
      'New, left to the release workflow (it publishes their chart too): 7.4.1.',
    );
    const jobs = runWorkflow(
      '.github/workflows/security-rebuild.yml',
      scenario({
        inputs: { 'dry-run': null },
        steps: {
          'detect.detect': detected(false, { matrix }),
          'plan.plan': plan,
          'rebuild[7.2].build': gatePassed,
        },
      }),
    );
    const legs = jobs.rebuild![0]!.jobs!.rebuild!;
    expect(legs.map((leg) => leg.matrix!.version)).toEqual(['7.2.3']);
  });

  it('a brand-new fork (every version new): the rebuild has no leg, and no empty matrix is started', () => {
    const matrix = JSON.stringify([entry('7.4.1', '7.4', true)]);
    const plan = planRebuild(matrix);
    expect(plan.outputs.matrix).toBe('[]');
    const jobs = runWorkflow(
      '.github/workflows/security-rebuild.yml',
      scenario({
        inputs: { 'dry-run': null },
        steps: { 'detect.detect': detected(true, { matrix }), 'plan.plan': plan },
      }),
    );
    const call = jobs.rebuild![0]!;
    expect(call.jobs!.rebuild![0]!.ran).toBe(false);
    expect(call.jobs!.report![0]!.ran).toBe(true);
  });
});

describe('the single-job template decides the chart the same way', () => {
  const chartRan = (detect: ReturnType<typeof detected>, build = gatePassed) => {
    const job = runWorkflow(
      'workflows-templates/opennebula-release-steps.yml',
      scenario({ inputs: {}, steps: { 'release.detect': detect, 'release.build': build } }),
    ).release![0]!;
    expect(stepOf(job, 'detect').with['chart-name']).toBe('opennebula');
    return ran(job, 'chart');
  };
  it('publishes a new newest version, repairs a missing chart, and leaves an older version image only', () => {
    expect(chartRan(detected(true))).toBe(true);
    expect(chartRan(detected(false, { 'chart-published': 'false' }), { outputs: {} })).toBe(true);
    expect(chartRan(detected(false), { outputs: {} })).toBe(false);
    expect(chartRan(detected(true, { version: '7.0.2', 'moves-chart': 'false' }))).toBe(false);
  });
});

describe('an older version does not move the chart', () => {
  it('dispatching 7.0.2 while 7.4 is current builds and pushes its image only, and the summary says so', () => {
    for (const file of [RELEASE, TEMPLATE]) {
      const jobs = runWorkflow(
        file,
        scenario({
          event: 'workflow_dispatch',
          inputs: { version: '7.0.2', force: false, 'dry-run': false },
          steps: {
            'detect.detect': detected(true, {
              version: '7.0.2',
              series: '7.0',
              tags: '7.0.2\n7.0',
              'moves-chart': 'false',
              'chart-published': 'false',
            }),
            'image.build': gatePassed,
          },
        }),
      );
      const publish = jobs.publish![0]!;
      expect(publish.with, file).toMatchObject({ version: '7.0.2', 'moves-chart': false });
      const image = publish.jobs!.image![0]!;
      expect(stepOf(image, 'build').with.push, file).toBe('true');
      expect(image.outputs.pushed, file).toBe('true');
      expect(publish.jobs!.chart![0]!.ran, file).toBe(false);
      expect(stepOf(image, 'result').env, file).toMatchObject({ MOVES_CHART: 'false' });
    }
    const script = stepOf(
      runWorkflow(RELEASE, scenario({ inputs: NO_INPUTS, steps: { 'detect.detect': detected(true) } }))
        .publish![0]!.jobs!.image![0]!,
      'result',
    );
    expect(script.ran).toBe(true);
    const doc = loadYaml<{ jobs: { image: { steps: Array<{ id?: string; run?: string }> } } }>(
      '.github/workflows/publish-opennebula.yml',
    );
    expect(doc.jobs.image.steps.find((step) => step.id === 'result')!.run).toMatch(
      /not the newest release of the newest followed/,
    );
  });
});

describe('concurrency: one group per image repository and series for every publisher', () => {
  const imageJobs = (): Array<[string, JobRun]> => {
    const others = JSON.stringify([entry('7.4.1', '7.4', true)]);
    const release = runWorkflow(
      RELEASE,
      scenario({
        event: 'workflow_dispatch',
        inputs: { version: '', force: true, 'dry-run': false },
        steps: { 'detect.detect': detected(true, { 'other-new-versions': others }) },
      }),
    );
    const matrix = JSON.stringify([entry('7.4.1', '7.4', false)]);
    const rebuild = runWorkflow(
      '.github/workflows/security-rebuild.yml',
      scenario({
        inputs: { 'dry-run': null },
        steps: { 'detect.detect': detected(false, { matrix }), 'plan.plan': planRebuild(matrix) },
      }),
    );
    const template = runWorkflow(
      TEMPLATE,
      scenario({ inputs: NO_INPUTS, steps: { 'detect.detect': detected(true) } }),
    );
    return [
      ['release publish', release.publish![0]!.jobs!.image![0]!],
      ['release other-series', release['other-series']![0]!.jobs!.image![0]!],
      ['security rebuild leg', rebuild.rebuild![0]!.jobs!.rebuild![0]!],
      ['template publish', template.publish![0]!.jobs!.image![0]!],
    ];
  };

  it('the release, the other-series legs, the rebuild legs and the templates share it, never cancelling', () => {
    for (const [what, job] of imageJobs()) expect(job.concurrency, what).toEqual(publishGroup('7.4'));
  });

  it('no calling job holds a group itself (its callee would wait for it forever)', () => {
    for (const file of WORKFLOWS) {
      const doc = loadYaml<{ jobs?: Record<string, { uses?: string; concurrency?: unknown }> }>(file);
      for (const [name, job] of Object.entries(doc.jobs ?? {}))
        if (job.uses) expect(job.concurrency, `${file}: ${name}`).toBeUndefined();
    }
  });

  it('says why no run is cancelled, and that a dropped pending run loses nothing', () => {
    const text = read('.github/workflows/publish-opennebula.yml');
    expect(text).toMatch(/only one pending job per group/);
    expect(text).toMatch(/loses nothing/);
    for (const file of WORKFLOWS)
      expect(read(file), file).not.toMatch(/cancel-in-progress: true[\s\S]*opennebula-publish/);
  });
});

describe('REGISTRY_USERNAME is a variable', () => {
  it('no workflow, template or README reads it as a secret', () => {
    for (const file of [...WORKFLOWS, 'README.md'])
      expect(read(file), file).not.toMatch(/secrets\.REGISTRY_USERNAME/);
  });

  it('reaches detect, the login and the registry checks from vars, so outputs holding it are kept', () => {
    const jobs = runWorkflow(
      RELEASE,
      scenario({
        inputs: NO_INPUTS,
        vars: { IMAGES: 'docker.io/bot/opennebula', REGISTRY_USERNAME: 'bot' },
        secrets: { REGISTRY_PASSWORD: 'secret' },
        steps: { 'detect.detect': detected(true), 'image.build': gatePassed },
      }),
    );
    expect(stepOf(jobs.detect![0]!.jobs!.detect![0]!, 'detect').with['registry-username']).toBe('bot');
    const image = jobs.publish![0]!.jobs!.image![0]!;
    expect(stepOf(image, 'Log in to the registries').env.REGISTRY_USERNAME).toBe('bot');
    expect(stepOf(image, 'already').with['registry-username']).toBe('bot');
  });
});

describe('a first run in a brand-new fork (no gh-pages, empty registry, no releases)', () => {
  it('no step is allowed to fail (continue-on-error) and nothing checks out the Pages branch', () => {
    for (const file of WORKFLOWS) {
      const doc = loadYaml<{ jobs?: Record<string, { steps?: Array<Record<string, unknown>> }> }>(file);
      for (const [name, job] of Object.entries(doc.jobs ?? {})) {
        for (const step of job.steps ?? []) {
          expect(step['continue-on-error'], `${file}: ${name}`).toBeUndefined();
          const ref = (step.with as Record<string, unknown> | undefined)?.ref;
          expect(String(ref ?? ''), `${file}: ${name}`).not.toMatch(/pages/);
        }
      }
    }
  });

  it('publishes image and chart with every step green', () => {
    const jobs = runWorkflow(
      RELEASE,
      scenario({ inputs: NO_INPUTS, steps: { 'detect.detect': detected(true), 'image.build': gatePassed } }),
    );
    const publish = jobs.publish![0]!;
    for (const job of [publish.jobs!.image![0]!, publish.jobs!.chart![0]!]) {
      expect(job.result).toBe('success');
      for (const step of job.steps) expect(step.outcome, step.name).not.toBe('failure');
    }
  });
});

describe('the templates work in a repository that has only docker/ and chart/', () => {
  it('call only this project by its major tag, with no workspace-relative action or workflow', () => {
    for (const file of files('workflows-templates')) {
      const text = read(file);
      expect(text, file).not.toMatch(/uses:\s*\.\//);
      for (const [, path] of text.matchAll(/uses:\s*pablodelarco\/opennebula-helm\/([^@\s]+)@v\d+/g)) {
        const target = path!.endsWith('.yml') ? path! : `${path}/action.yml`;
        expect(() => read(target), `${file}: ${path}`).not.toThrow();
      }
    }
  });
});

describe('README', () => {
  const text = read('README.md');
  it('says schedules stop after 60 days without activity and what keeps them running', () => {
    expect(text).toMatch(/60 days/);
    expect(text).toMatch(/re-enable|Enable workflow/i);
  });
  it('says organisation templates live in workflow-templates/ of the organisation .github repository', () => {
    expect(text).toMatch(/`workflow-templates\/` folder\s+of\s+the\s+organisation's\s+`\.github` repository/);
  });
  it('stores REGISTRY_USERNAME as a variable', () => {
    expect(text).toMatch(/`REGISTRY_USERNAME` variable \(a variable, not a secret/);
  });
});
