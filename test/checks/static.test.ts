// Every linter and formatter the project uses, run over the files it owns. A finding fails the test with
// the tool's own report.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT, projectFiles, runTool } from '../support/tools.js';

const npxBin = (name: string) => join(REPO_ROOT, 'node_modules', '.bin', name);
const workflowFiles = () => projectFiles('.github/workflows/*.yml', 'workflows-templates/*.yml');
const actionFiles = () => projectFiles('action.yml', 'actions/*/action.yml');

describe('TypeScript and formatting', () => {
  it('type-checks (tsc --noEmit, strict)', () => {
    runTool(npxBin('tsc'), ['--noEmit', '-p', 'tsconfig.json']);
  });

  it('passes eslint', () => {
    runTool(npxBin('eslint'), ['--max-warnings', '0', '.']);
  });

  it('is formatted with prettier', () => {
    runTool(npxBin('prettier'), ['--check', '.']);
  });
});

describe('shell, YAML and workflows', () => {
  it('shellcheck finds nothing in any shell script', () => {
    const scripts = [
      ...projectFiles('*.sh', '*.bash', '*.bats'),
      '.ci/run',
      'docker/rootfs/usr/local/bin/opennebula-entrypoint',
    ];
    expect(scripts.length).toBeGreaterThan(3);
    runTool('shellcheck', [
      '--external-sources',
      '--source-path=SCRIPTDIR',
      '--source-path=.',
      '--severity=style',
      ...scripts,
    ]);
  });

  it('yamllint finds nothing', () => {
    runTool('yamllint', ['--strict', '.']);
  });

  it('actionlint finds nothing in the workflows', () => {
    const files = workflowFiles();
    expect(files.length).toBeGreaterThan(0);
    runTool('actionlint', files);
  });

  it('zizmor finds nothing in workflows and actions', () => {
    runTool('zizmor', [
      '--offline',
      '--no-progress',
      '--persona',
      'regular',
      ...workflowFiles(),
      ...actionFiles(),
    ]);
  });
});

type Step = { uses?: string; run?: string; with?: Record<string, unknown> };
type Job = { permissions?: unknown; steps?: Step[]; uses?: string };

/** This project on GitHub: the starter templates call its reusable workflows and actions by the major tag. */
const OWN_REPOSITORY = 'pablodelarco/opennebula-helm';
type Workflow = { permissions?: unknown; jobs?: Record<string, Job> };

describe('workflow security policy', () => {
  const documents = () =>
    [...workflowFiles(), ...actionFiles()].map((file) => ({
      file,
      doc: parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as Workflow & { runs?: { steps?: Step[] } },
    }));

  const stepsOf = (doc: Workflow & { runs?: { steps?: Step[] } }): Step[] => [
    ...Object.values(doc.jobs ?? {}).flatMap((job) => job.steps ?? []),
    ...(doc.runs?.steps ?? []),
  ];

  it('pins every third-party action by full commit SHA with a version comment', () => {
    for (const { file } of documents()) {
      const text = readFileSync(join(REPO_ROOT, file), 'utf8');
      for (const match of text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)) {
        const [, ref, rest] = match;
        if (ref!.startsWith('./') || ref!.startsWith('$/')) continue;
        // The templates are copied into other repositories, where this project is the third party: they name
        // the moving major tag that `npm run release` maintains (zizmor's unpinned-uses is suppressed there,
        // with the reason, line by line).
        if (file.startsWith('workflows-templates/') && ref!.startsWith(`${OWN_REPOSITORY}/`)) {
          expect(ref, `${file}: ${ref}`).toMatch(/@v\d+$/);
          continue;
        }
        expect(ref, `${file}: ${ref}`).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
        expect(rest, `${file}: ${ref} needs a "# vX" comment`).toMatch(/#\s*v\d/);
      }
    }
  });

  it('declares least-privilege permissions at the top of every workflow', () => {
    for (const { file, doc } of documents()) {
      if (!doc.jobs) continue;
      expect(doc.permissions, `${file}: top-level permissions`).toBeDefined();
      expect(JSON.stringify(doc.permissions), `${file}`).not.toMatch(/write-all|"write"/);
    }
  });

  it('grants write access only per job, and only for what a job writes', () => {
    const writers: Record<string, string> = {
      contents: 'the Pages branch and the chart release (helm-release)',
      packages: 'GHCR pushes (build-scan-push)',
      'security-events': 'the SARIF upload',
      'id-token': 'the keyless cosign signature of the pushed image (build-scan-push)',
    };
    for (const { file, doc } of documents()) {
      for (const [name, job] of Object.entries(doc.jobs ?? {})) {
        // A job without its own permissions gets the read-only top level (checked above).
        for (const [scope, level] of Object.entries((job.permissions ?? {}) as Record<string, string>)) {
          if (level !== 'write') continue;
          expect(Object.keys(writers), `${file}: job ${name}: ${scope}: write`).toContain(scope);
        }
      }
    }
  });

  it('asks for an OIDC token (id-token: write) only on jobs that sign, and on every job that pushes an image', () => {
    const signs = (job: {
      uses?: string;
      steps?: Array<{ uses?: string; with?: Record<string, unknown> }>;
    }) =>
      /(publish|rebuild)-opennebula\.yml/.test(job.uses ?? '') ||
      (job.steps ?? []).some((step) =>
        /build-scan-push|^pablodelarco\/opennebula-helm@|^\.\/?$/.test(step.uses ?? ''),
      );
    for (const { file, doc } of documents()) {
      for (const [name, job] of Object.entries(doc.jobs ?? {})) {
        const token = ((job.permissions ?? {}) as Record<string, string>)['id-token'];
        expect(token === 'write', `${file}: job ${name}: id-token: ${token ?? 'none'}`).toBe(
          signs(job as never),
        );
      }
    }
  });

  it('checks out without persisted credentials (no job pushes with the token of checkout)', () => {
    for (const { file, doc } of documents()) {
      for (const step of stepsOf(doc)) {
        if (!step.uses?.startsWith('actions/checkout@')) continue;
        expect(step.with?.['persist-credentials'], `${file}: ${step.uses}`).toBe(false);
      }
    }
  });

  it('never expands ${{ }} expressions inside run: scripts', () => {
    for (const { file, doc } of documents()) {
      for (const step of stepsOf(doc)) {
        if (step.run) expect(step.run, `${file}: ${step.run}`).not.toContain('${{');
      }
    }
  });
});
