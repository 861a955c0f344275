// What a rehearsal tells its user: a short text report (detected version, tags pushed with their digest,
// the gate with its counts, the chart version and index URL, time per stage) and one HTML page holding
// every step's job summary, as GitHub would show them on the run's page.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { marked } from 'marked';
import { readText, type RunRecord } from './runner.js';
import { actionSteps, type Stage } from './rehearse.js';

export interface RunFacts {
  label: string;
  result: string;
  detected?: { version: string; isNew: string; reason: string; tags: string[] };
  image?: {
    outcome: string;
    digest: string;
    gate: string;
    vulnerabilities: Record<string, { fixable: number; unfixed: number }>;
    tagsPushed: string[];
  };
  chart?: { outcome: string; version: string; indexUrl: string; released: string; digest: string };
  /** The other series' new versions release.yml built beside it (its other-series job), one per leg. */
  others: Array<{ job: string; outcome: string; digest: string; tagsPushed: string[] }>;
  /** Errors of the steps that failed. */
  errors: string[];
}

const lines = (text: string | undefined) =>
  (text ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);

export function runFacts(label: string, record: RunRecord): RunFacts {
  const facts: RunFacts = { label, result: record.result, others: [], errors: [] };
  // The version decided on is built by the publish job; other-series legs build the other series' versions.
  const publish = { ...record, jobs: record.jobs.filter((job) => !job.id.startsWith('other-series')) };
  for (const job of record.jobs.filter((candidate) => candidate.id.startsWith('other-series'))) {
    // The job's build, or its sign-only re-run path when that ran instead (one of the two is skipped).
    const steps = actionSteps({ ...record, jobs: [job] }, 'build-scan-push');
    const ran = steps.filter((step) => step.outcome !== 'skipped');
    for (const step of ran.length > 0 ? ran : steps.slice(0, 1)) {
      facts.others.push({
        job: job.id,
        outcome: step.outcome,
        digest: step.outputs.digest ?? '',
        tagsPushed: lines(step.outputs['tags-pushed']),
      });
    }
  }
  const detect = actionSteps(record, 'detect-opennebula-release')[0];
  if (detect?.outcome === 'success') {
    facts.detected = {
      version: detect.outputs.version ?? '',
      isNew: detect.outputs['is-new'] ?? '',
      reason: detect.outputs.reason ?? '',
      tags: lines(detect.outputs.tags),
    };
  }
  const build = actionSteps(publish, 'build-scan-push').at(-1);
  if (build) {
    let vulnerabilities: Record<string, { fixable: number; unfixed: number }>;
    try {
      vulnerabilities = JSON.parse(build.outputs.vulnerabilities || '{}');
    } catch {
      vulnerabilities = {};
    }
    facts.image = {
      outcome: build.outcome,
      digest: build.outputs.digest ?? '',
      gate: build.outputs.gate ?? '',
      vulnerabilities,
      tagsPushed: lines(build.outputs['tags-pushed']),
    };
  }
  const release = actionSteps(publish, 'helm-release').at(-1);
  if (release) {
    facts.chart = {
      outcome: release.outcome,
      version: release.outputs['chart-version'] ?? '',
      indexUrl: release.outputs['index-url'] ?? '',
      released: release.outputs.released ?? '',
      digest: release.outputs.digest ?? '',
    };
  }
  for (const job of record.jobs) {
    for (const step of job.steps) {
      if (step.outcome === 'failure')
        facts.errors.push(`${job.id} › ${step.name}: ${step.errors.join('; ')}`);
    }
    if (job.result === 'failure' && job.steps.length === 0 && job.note && !job.note.startsWith('calls ')) {
      facts.errors.push(`${job.id}: ${job.note}`);
    }
  }
  return facts;
}

function counts(vulnerabilities: Record<string, { fixable: number; unfixed: number }>): string {
  const entries = Object.entries(vulnerabilities).filter(([, count]) => count.fixable + count.unfixed > 0);
  if (entries.length === 0) return 'no findings at any severity';
  return entries
    .map(([severity, count]) => `${severity} ${count.fixable} fixable/${count.unfixed} unfixed`)
    .join(', ');
}

/** The report's lines for one run. */
export function describeRun(facts: RunFacts, published: Record<string, string>, image: string): string[] {
  const out = [`${facts.label}: workflow ${facts.result}`];
  const detected = facts.detected;
  out.push(
    detected
      ? `  detected   ${detected.version || '(none)'} — new: ${detected.isNew}; ${detected.reason}`
      : '  detected   (detection did not complete)',
  );
  if (facts.image) {
    const { image: built } = facts;
    out.push(`  gate       ${built.gate || '(none)'} — ${counts(built.vulnerabilities)}`);
    if (built.tagsPushed.length) {
      out.push(`  pushed     ${image}@${built.digest}`);
      for (const tag of built.tagsPushed)
        out.push(`             ${tag} → ${published[tag.split(':').at(-1)!] ?? '(not in the registry!)'}`);
    } else {
      out.push(`  pushed     nothing (build-scan-push ${built.outcome})`);
    }
  } else {
    out.push('  image      not built');
  }
  out.push(
    facts.chart
      ? `  chart      ${facts.chart.version || '(none)'} (released: ${facts.chart.released || facts.chart.outcome}) — index ${facts.chart.indexUrl || '(none)'}`
      : '  chart      not published',
  );
  for (const other of facts.others) {
    const what = other.tagsPushed.length
      ? `pushed ${other.digest}: ${other.tagsPushed.map((tag) => tag.split(':').at(-1)).join(', ')}`
      : `nothing pushed (build-scan-push ${other.outcome})`;
    out.push(`  also       ${other.job.replace(/\/image$/, '')}: ${what}`);
  }
  for (const error of facts.errors) out.push(`  error      ${error}`);
  return out;
}

export function describeStages(stages: Stage[]): string {
  return stages.map((stage) => `${stage.name} ${(stage.durationMs / 1000).toFixed(1)}s`).join(', ');
}

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** One HTML page: the report, then every step's job summary, run by run, job by job. */
export function writeSummaryPage(
  file: string,
  report: string,
  runs: Array<{ label: string; record: RunRecord }>,
): string {
  const sections: string[] = [];
  for (const { label, record } of runs) {
    sections.push(`<h2>${escape(label)} — ${escape(record.result)}</h2>`);
    for (const job of record.jobs) {
      const summaries = job.steps.filter((step) => step.summary.trim());
      const note = job.note ? ` <small>(${escape(job.note)})</small>` : '';
      sections.push(`<h3>Job ${escape(job.id)}: ${escape(job.result)}${note}</h3>`);
      for (const step of summaries) {
        sections.push(
          `<section class="summary"><h4>${escape(step.name)}</h4>${marked.parse(step.summary, { async: false })}</section>`,
        );
      }
    }
  }
  const html = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><title>Release pipeline rehearsal</title>',
    '<style>body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}',
    'pre{background:#f6f8fa;padding:1rem;overflow:auto;white-space:pre-wrap}table{border-collapse:collapse}',
    'td,th{border:1px solid #d0d7de;padding:.2rem .5rem}.summary{border-left:3px solid #0969da;padding-left:1rem}</style>',
    '</head><body><h1>Release pipeline rehearsal</h1>',
    `<pre>${escape(report)}</pre>`,
    ...sections,
    '</body></html>',
  ].join('\n');
  writeFileSync(file, html);
  return file;
}

export const summaryPagePath = (outDir: string) => join(outDir, 'summary.html');

/** What a rehearsal exercised beyond the pipeline's facts: registries, credentials (names only), platforms. */
export interface Exercised {
  /** Each registry's image and how it is reached (who may push, who may pull). */
  registries: Array<{ image: string; access: string }>;
  /** Names of the repository's secrets and variables the runs were given (never their values). */
  secrets: string[];
  vars: string[];
  /** The platforms each published tag holds, read from the registry: image:tag → platforms. */
  platforms: Record<string, string[]>;
}

/**
 * The logins of a run, from the steps' logs: docker/login-action's (job › registry), and `run:` steps whose
 * `docker login` succeeded (job › step, how many; the CLI does not print the registry).
 */
export function loginsOf(record: RunRecord): string[] {
  return record.jobs.flatMap((job) =>
    job.steps
      .filter((step) => step.outcome === 'success')
      .flatMap((step) => {
        const log = readText(step.log);
        if (step.uses?.startsWith('docker/login-action'))
          return [`${job.id} › ${/logged in to (\S+)/.exec(log)?.[1] ?? '?'}`];
        const cli = log.match(/^Login Succeeded$/gm)?.length ?? 0;
        return cli > 0 ? [`${job.id} › ${step.name} (docker login ×${cli})`] : [];
      }),
  );
}

export function describeExercised(exercised: Exercised, records: RunRecord[]): string[] {
  const out = ['exercised'];
  for (const { image, access } of exercised.registries) out.push(`  registry   ${image} (${access})`);
  out.push(`  secrets    ${exercised.secrets.join(', ') || '(none)'} (names; values masked)`);
  out.push(`  variables  ${exercised.vars.join(', ') || '(none)'}`);
  const logins = [...new Set(records.flatMap(loginsOf))];
  out.push(`  logins     ${logins.length ? logins.join('; ') : '(no login step ran)'}`);
  for (const [reference, platforms] of Object.entries(exercised.platforms)) {
    out.push(`  platforms  ${reference}: ${platforms.join(', ') || '(not in the registry)'}`);
  }
  return out;
}
