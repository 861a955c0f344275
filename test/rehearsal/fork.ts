// Reuse without forking, rehearsed: the rehearsed repository released as a maintainer releases it (a clone
// of the working-tree snapshot, tagged by test/release.sh, which writes the tag's workflows to name this
// repository's actions at the tested commit), and a second repository that has only docker/, chart/ and
// the starter workflow of workflows-templates/, calling the reusable workflows `@v1` as a fork's maintainer
// would. The runner resolves `OWNER/REPO/...@REF` from the released clone (RunOptions.repositories).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/tools.js';
import {
  OFFLINE_CONTEXT,
  REPOSITORY,
  publishedTags,
  runPipeline,
  timed,
  type PipelineRun,
  type Session,
} from './rehearse.js';
import { describeRun, runFacts, type RunFacts } from './report.js';
import { startStandIns } from './stand-ins.js';

/** The starter workflow a fork copies, and the repository name it is written for. */
export const STARTER_WORKFLOW = 'workflows-templates/opennebula-release.yml';
const TEMPLATE_REPOSITORY = 'pablodelarco/opennebula-helm';
/** github.repository of the fork's runs. */
export const FORK_REPOSITORY = 'rehearsal-fork/opennebula';

const gitEnv = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
const identity = ['-c', 'user.name=rehearsal', '-c', 'user.email=rehearsal@example.invalid'];
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8', stdio: 'pipe' });

/**
 * A clone of the snapshot (its uncommitted changes committed on top, so the release is of what is being
 * changed) released as 1.0.0 with test/release.sh; returns the clone, which holds the tags v1.0.0 and v1.
 */
export function releaseLibrary(snapshot: string, dir: string, repository: string): string {
  rmSync(dir, { recursive: true, force: true });
  git(REPO_ROOT, 'clone', '--quiet', '--shared', snapshot, dir);
  // Exactly the snapshot's files, committed (the tag must name what is tested).
  for (const entry of git(dir, 'ls-files', '-z').split('\0').filter(Boolean)) {
    rmSync(join(dir, entry), { force: true });
  }
  execFileSync('sh', ['-c', 'tar -C "$1" --exclude=./.git -cf - . | tar -C "$2" -xf -', 'sh', snapshot, dir]);
  git(dir, 'add', '--all');
  git(dir, ...identity, 'commit', '--quiet', '--allow-empty', '-m', 'rehearsal: the working tree');
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, '.git/info/exclude'), 'node_modules\n');
  // The bundles as built here: ncc's module ids depend on where node_modules is from the repository (a
  // symbolic link here), not on what they do; test/checks/dist.test.ts checks the committed ones.
  execFileSync(process.execPath, ['test/build-actions.mjs'], { cwd: dir, stdio: 'pipe' });
  git(dir, 'add', '--all', 'actions');
  git(dir, ...identity, 'commit', '--quiet', '--allow-empty', '-m', 'rehearsal: bundles built in this clone');
  try {
    execFileSync('bash', ['test/release.sh', '1.0.0'], {
      cwd: dir,
      env: {
        ...gitEnv,
        GIT_AUTHOR_NAME: 'rehearsal',
        GIT_AUTHOR_EMAIL: 'rehearsal@example.invalid',
        GIT_COMMITTER_NAME: 'rehearsal',
        GIT_COMMITTER_EMAIL: 'rehearsal@example.invalid',
        RELEASE_TEST_COMMAND: 'true',
        RELEASE_REPOSITORY: repository,
      },
      encoding: 'utf8',
      stdio: 'pipe',
    });
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`test/release.sh 1.0.0 in the released clone failed: ${stderr}`, { cause: error });
  }
  return dir;
}

/**
 * The fork's repository: docker/ (the build context given), chart/, and .github/workflows/release.yml from
 * the starter workflow, calling `repository`'s reusable workflows @v1. No actions/.
 */
export function forkRepository(snapshot: string, dir: string, repository: string, context: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, '.github/workflows'), { recursive: true });
  cpSync(context, join(dir, 'docker'), { recursive: true });
  cpSync(join(snapshot, 'chart'), join(dir, 'chart'), { recursive: true });
  const starter = readFileSync(join(snapshot, STARTER_WORKFLOW), 'utf8');
  writeFileSync(
    join(dir, '.github/workflows/release.yml'),
    starter.split(TEMPLATE_REPOSITORY).join(repository),
  );
  git(dir, 'init', '--quiet', '--initial-branch', 'main');
  git(dir, 'add', '--all');
  git(dir, ...identity, 'commit', '--quiet', '-m', 'a fork: docker/, chart/ and the starter workflow');
  return dir;
}

export interface ForkRehearsal {
  run: PipelineRun;
  facts: RunFacts;
  /** The report's lines, and what went wrong. */
  lines: string[];
  problems: string[];
}

/**
 * The fork's first run, in a world of its own (a brand-new fork: empty registry, no Pages branch, no
 * releases): the rehearsed repository released, the fork calling its reusable workflows @v1.
 */
export async function rehearseFork(session: Session): Promise<ForkRehearsal> {
  const outDir = session.settings.outDir;
  const library = await timed(session, 'fork: release v1', () =>
    releaseLibrary(session.checkoutSource, join(outDir, 'released'), REPOSITORY),
  );
  const standIns = await timed(session, 'fork: stand-ins', () =>
    startStandIns({ repository: FORK_REPOSITORY, token: session.token }),
  );
  try {
    const dir = forkRepository(
      session.checkoutSource,
      join(outDir, 'fork'),
      REPOSITORY,
      session.settings.context ?? OFFLINE_CONTEXT,
    );
    const fork: Session = {
      ...session,
      checkoutSource: dir,
      head: git(dir, 'rev-parse', 'HEAD').trim(),
      standIns,
    };
    const run = await runPipeline(fork, 'fork-run-1', {
      repository: FORK_REPOSITORY,
      repositories: { [REPOSITORY]: library },
    });
    const facts = runFacts(
      `fork run 1 (${FORK_REPOSITORY}: docker/, chart/, ${STARTER_WORKFLOW})`,
      run.record,
    );
    const published = await publishedTags(standIns.image);
    const problems: string[] = [];
    if (run.record.result !== 'success') problems.push(`the fork's run finished ${run.record.result}`);
    if (!facts.chart?.indexUrl) problems.push("the fork's run published no chart");
    if (!facts.image?.tagsPushed.length) problems.push("the fork's run pushed no image");
    const lines = describeRun(facts, published, standIns.image);
    return { run, facts, lines, problems };
  } finally {
    await standIns.close();
  }
}
