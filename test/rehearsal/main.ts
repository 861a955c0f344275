// `npm run main`: the whole release pipeline rehearsed on this machine (see rehearse.ts), then run again
// right after to show that a second run detects nothing new and publishes nothing; prints a short report
// and the path of an HTML page with every step's job summary. `--live`: the real upstreams and the real
// docker/ context, publishing nothing.
//
// Usage: node --import ./test/rehearsal/register.mjs test/rehearsal/main.ts [--live] [--out DIR]
//        [--context DIR] [--verbose]
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/tools.js';
import { checkLiveReachability, liveUpstreams } from './live.js';
import {
  closeSession,
  exercisedBy,
  OFFLINE_PLATFORMS,
  openSession,
  publishedTags,
  runPipeline,
  timed,
  type PipelineRun,
  type Session,
  type SessionSettings,
} from './rehearse.js';
import {
  describeExercised,
  describeRun,
  describeStages,
  runFacts,
  summaryPagePath,
  writeSummaryPage,
} from './report.js';
import { stopRunningSteps } from './steps.js';
import { rehearseFork } from './fork.js';
import { checkAsUser, type UserCheck } from './user-check.js';

export interface RehearsalOutcome {
  ok: boolean;
  report: string;
  page: string;
  runs: PipelineRun[];
  problems: string[];
}

/** The chart's default image: what the live rehearsal compares published tags against. */
export function chartDefaultImage(): string {
  const values = parse(readFileSync(join(REPO_ROOT, 'chart/opennebula/values.yaml'), 'utf8')) as {
    image: { repository: string };
  };
  return values.image.repository;
}

/** Runs the rehearsal; the session is opened and closed here. */
let openedSession: Session | undefined;

export async function rehearse(settings: SessionSettings): Promise<RehearsalOutcome> {
  const session = await openSession(settings);
  openedSession = session;
  try {
    return settings.live ? await rehearseLive(session) : await rehearseOffline(session);
  } finally {
    openedSession = undefined;
    await closeSession(session);
  }
}

async function rehearseOffline(session: Session): Promise<RehearsalOutcome> {
  const image = session.standIns!.image;
  const problems: string[] = [];
  const pages = session.standIns!.pages;
  const first = await runPipeline(session, 'run-1');
  const afterFirst = await publishedTags(image);
  // The private "Docker Hub" must hold the same tags on the same digests (read with its account).
  const standIns = session.standIns!;
  const onHub = await publishedTags(standIns.images[0]!, standIns.hubAccount);
  // The image's own tags; cosign's signatures and attestations (the referrers tag schema: sha256-<digest>
  // tags) are made per registry, so they differ between the two.
  const releaseTags = (tags: Record<string, string>) =>
    Object.fromEntries(Object.entries(tags).filter(([tag]) => !/^sha256-[0-9a-f]{64}/.test(tag)));
  if (JSON.stringify(releaseTags(onHub)) !== JSON.stringify(releaseTags(afterFirst)))
    problems.push(`run 1 left ${standIns.images[0]} and ${image} with different tags or digests`);
  const pagesAfterFirst = pages.tip();
  const facts = runFacts('run 1', first.record);
  if (first.record.result !== 'success') problems.push(`run 1 finished ${first.record.result}`);
  let userCheck: UserCheck | undefined;
  if (facts.chart?.indexUrl && facts.image?.digest) {
    try {
      userCheck = await timed(session, 'user check', () =>
        checkAsUser(session, { indexUrl: facts.chart!.indexUrl, image, facts, published: afterFirst }),
      );
      problems.push(...userCheck.problems);
    } catch (error) {
      problems.push(`user check: ${error instanceof Error ? error.message : String(error)}`);
    }
  } else {
    problems.push('run 1 published no chart, so there is nothing to install');
  }
  const second = await runPipeline(session, 'run-2');
  const afterSecond = await publishedTags(image);
  const secondFacts = runFacts('run 2 (right after)', second.record);
  if (secondFacts.detected?.isNew !== 'false')
    problems.push('run 2 did not find everything already published');
  if (JSON.stringify(afterSecond) !== JSON.stringify(afterFirst)) problems.push('run 2 changed the registry');
  const pagesUnchanged = pages.tip() === pagesAfterFirst;
  if (!pagesUnchanged) problems.push('run 2 changed the Pages branch');
  if (secondFacts.image || secondFacts.chart || secondFacts.others.length)
    problems.push('run 2 built or published something');
  if (second.record.result !== 'success') problems.push(`run 2 finished ${second.record.result}`);
  const fork = await rehearseFork(session);
  problems.push(...fork.problems);
  const exercised = await exercisedBy(session, facts.detected?.version);
  for (const [reference, platforms] of Object.entries(exercised.platforms)) {
    if (platforms.join(',') !== OFFLINE_PLATFORMS.join(','))
      problems.push(
        `${reference} holds ${platforms.join(', ') || 'nothing'}, not ${OFFLINE_PLATFORMS.join(', ')}`,
      );
  }
  const report = [
    ...describeRun(facts, afterFirst, image),
    ...(userCheck ? userCheck.lines : []),
    ...describeRun(secondFacts, afterSecond, image),
    `  registry   unchanged: ${JSON.stringify(afterSecond) === JSON.stringify(afterFirst)}; Pages branch unchanged: ${pagesUnchanged}`,
    ...fork.lines,
    ...describeExercised(exercised, [first.record, second.record, fork.run.record]),
    `stages: ${describeStages(session.stages)}`,
    ...problems.map((problem) => `PROBLEM: ${problem}`),
  ].join('\n');
  const page = writeSummaryPage(summaryPagePath(session.settings.outDir), report, [
    { label: 'Run 1', record: first.record },
    { label: 'Run 2 (right after)', record: second.record },
    { label: 'A fork calling the reusable workflows @v1', record: fork.run.record },
  ]);
  return { ok: problems.length === 0, report, page, runs: [first, second, fork.run], problems };
}

async function rehearseLive(session: Session): Promise<RehearsalOutcome> {
  const live = { ...session, liveImage: chartDefaultImage() };
  const run = await runPipeline(live, 'live (dry run)');
  const facts = runFacts('live dry run', run.record);
  const problems = run.record.result === 'success' ? [] : [`the live dry run finished ${run.record.result}`];
  const report = [
    ...describeRun(facts, {}, live.liveImage),
    '  published  nothing (dry run)',
    `stages: ${describeStages(session.stages)}`,
    ...problems.map((problem) => `PROBLEM: ${problem}`),
  ].join('\n');
  const page = writeSummaryPage(summaryPagePath(session.settings.outDir), report, [
    { label: 'Live dry run', record: run.record },
  ]);
  return { ok: problems.length === 0, report, page, runs: [run], problems };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      live: { type: 'boolean', default: false },
      out: { type: 'string' },
      context: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const outDir = values.out ? resolve(values.out) : mkdtempSync(join(tmpdir(), 'opennebula-rehearsal-'));
  if (values.live) {
    const unreachable = await checkLiveReachability(liveUpstreams(chartDefaultImage()));
    if (unreachable.length) {
      console.error('error: --live rehearses against the real upstreams, and these cannot be reached:');
      for (const line of unreachable) console.error(`  - ${line}`);
      console.error('Without network, run the offline rehearsal: npm run main');
      return 2;
    }
  }
  const outcome = await rehearse({
    outDir,
    live: values.live,
    ...(values.context ? { context: resolve(values.context) } : {}),
    log: (line) => {
      if (values.verbose || !line.startsWith('[rehearsal]     ')) console.error(line);
    },
  });
  writeFileSync(join(outDir, 'report.txt'), `${outcome.report}\n`);
  writeFileSync(
    join(outDir, 'runs.json'),
    JSON.stringify(
      outcome.runs.map(({ label, record }) => ({ label, ...record })),
      null,
      2,
    ),
  );
  console.log(`\n${outcome.report}`);
  console.log(`\nJob summaries: ${outcome.page}`);
  console.log(`Run files and logs: ${outDir} (report.txt, runs.json: every job, step, output and log path)`);
  return outcome.ok ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.dirname, 'main.ts')) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n[rehearsal] ${signal}: stopping the running step and the stand-ins`);
      stopRunningSteps();
      const stopped = openedSession ? closeSession(openedSession) : Promise.resolve();
      const deadline = new Promise((done) => setTimeout(done, 5000));
      void Promise.race([stopped, deadline]).finally(() => process.exit(130));
    });
  }
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
