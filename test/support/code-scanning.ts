// GitHub code scanning as github/codeql-action/upload-sarif and the code scanning API see an upload: the
// stand-in refuses what they refuse, with their messages. Rules, read from upload-lib.ts and GitHub's docs:
// - SARIF 2.1.0 schema validation, reported as the `jsonschema` package reports it to upload-sarif
//   ("instance.runs[0] requires property \"tool\""), against the subset of the OASIS schema in
//   sarif-schema.ts.
// - One run per category (since July 2025): two runs with equal tool (name, fullName, version,
//   semanticVersion, guid) and automationDetails.id are refused. `category` fills automationDetails.id
//   (with a trailing "/") only where a run has none. One upload per tool and category per job.
// - Hard limits: 10 MB gzip-compressed, 20 runs per file, 25,000 results and 25,000 rules per run, 100
//   tool extensions per run, 1,000 locations and 10,000 thread flow locations per result, 20 tags per rule.
import { gzipSync } from 'node:zlib';
import { schemaErrors } from './sarif-schema.js';

export interface SarifUploadOptions {
  /** upload-sarif's `category` input. */
  category?: string;
  /** The file name upload-sarif names in its schema errors. */
  file?: string;
  /** Sentinels of the uploads already made in this job (one set per job), as upload-sarif exports them. */
  job?: Set<string>;
}

export interface SarifUpload {
  /** The log as it is sent: automationDetails.id filled from the category. */
  sarif: { version: string; runs: SarifRun[] };
  /** automationDetails.id of each run ('' for none), in order. */
  categories: string[];
  results: number;
  gzipBytes: number;
}

interface SarifRun {
  tool: { driver: Record<string, unknown>; extensions?: unknown[] };
  automationDetails?: { id?: string };
  results: Array<Record<string, unknown>>;
}

export const LIMITS = {
  gzipBytes: 10 * 1024 * 1024,
  runsPerFile: 20,
  resultsPerRun: 25_000,
  rulesPerRun: 25_000,
  extensionsPerRun: 100,
  locationsPerResult: 1_000,
  threadFlowLocationsPerResult: 10_000,
  tagsPerRule: 20,
};

export class InvalidSarifUploadError extends Error {}

/** Validates `text` as upload-sarif and the code scanning API would; throws their refusal. */
export function validateSarifUpload(text: string, options: SarifUploadOptions = {}): SarifUpload {
  const file = options.file ?? 'results.sarif';
  let log: unknown;
  try {
    log = JSON.parse(text);
  } catch (error) {
    throw new InvalidSarifUploadError(`Invalid SARIF. JSON syntax error: ${(error as Error).message}`);
  }
  const errors = schemaErrors(log);
  if (errors.length > 0) {
    throw new InvalidSarifUploadError(
      `Unable to upload "${file}" as it is not valid SARIF:\n${errors.map((e) => `- ${e}`).join('\n')}`,
    );
  }
  // upload-sarif counts results after validation; a log or run without them is refused there.
  const runs = (log as { runs: Array<{ results?: unknown }> | null }).runs;
  if (!Array.isArray(runs)) throw new InvalidSarifUploadError("Invalid SARIF. Missing 'runs' array.");
  if (runs.some((run) => !Array.isArray(run.results))) {
    throw new InvalidSarifUploadError("Invalid SARIF. Missing 'results' array in run.");
  }
  const sarif = log as SarifUpload['sarif'];
  refuseDuplicateCategories(sarif.runs);
  if (options.category !== undefined) {
    const id = options.category.endsWith('/') ? options.category : `${options.category}/`;
    for (const run of sarif.runs) run.automationDetails ??= { id };
  }
  if (options.job) claimCategories(sarif.runs, options.job);
  const payload = JSON.stringify(sarif);
  const gzipBytes = gzipSync(payload).length;
  if (gzipBytes > LIMITS.gzipBytes) {
    throw new InvalidSarifUploadError(
      `SARIF upload is rejected (bigger than allowed size for zip archive): ${gzipBytes} bytes compressed, ` +
        `the maximum is ${LIMITS.gzipBytes}`,
    );
  }
  checkLimits(sarif.runs);
  checkUriSchemes(sarif.runs);
  return {
    sarif,
    categories: sarif.runs.map((run) => run.automationDetails?.id ?? ''),
    results: sarif.runs.reduce((sum, run) => sum + run.results.length, 0),
    gzipBytes,
  };
}

function runKey(run: SarifRun): string {
  const driver = run.tool.driver;
  return JSON.stringify([
    driver.name,
    driver.fullName,
    driver.version,
    driver.semanticVersion,
    driver.guid,
    run.automationDetails?.id,
  ]);
}

function refuseDuplicateCategories(runs: SarifRun[]): void {
  const keys = runs.map(runKey);
  if (new Set(keys).size !== keys.length) {
    throw new InvalidSarifUploadError(
      'The CodeQL Action does not support uploading multiple SARIF runs with the same category. Please ' +
        'update your workflow to upload a single run per category. For more information, see ' +
        'https://github.blog/changelog/2025-07-21-code-scanning-will-stop-combining-multiple-sarif-runs-uploaded-in-the-same-sarif-file/',
    );
  }
}

function claimCategories(runs: SarifRun[], job: Set<string>): void {
  const sanitize = (text: unknown) =>
    (typeof text === 'string' ? text : '_').replace(/[^a-zA-Z0-9_]/g, '_').toUpperCase();
  const claims = runs.map((run) => {
    const [id, tool] = [run.automationDetails?.id, run.tool.driver.name as string];
    return { id, tool, sentinel: `CODEQL_UPLOAD_SARIF_${sanitize(id)}_${sanitize(tool)}` };
  });
  const taken = claims.find((claim) => job.has(claim.sentinel));
  if (taken) {
    throw new InvalidSarifUploadError(
      'Aborting upload: only one run of the codeql/analyze or codeql/upload-sarif actions is allowed per ' +
        'job per tool/category. The easiest fix is to specify a unique value for the `category` input. ' +
        `Category: (${taken.id ?? 'none'}) Tool: (${taken.tool})`,
    );
  }
  for (const claim of claims) job.add(claim.sentinel);
}

/** Processing: a location URI's scheme must be the checkout's (file); "localhost:5000/x" has the scheme localhost. */
function checkUriSchemes(runs: SarifRun[]): void {
  for (const result of runs.flatMap((run) => run.results)) {
    for (const location of (result.locations ?? []) as Array<{
      physicalLocation?: { artifactLocation?: { uri?: string } };
    }>) {
      const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(
        location.physicalLocation?.artifactLocation?.uri ?? '',
      )?.[1];
      if (scheme && scheme.toLowerCase() !== 'file') {
        throw new InvalidSarifUploadError(
          `SARIF URI scheme ${scheme} did not match the checkout URI scheme file`,
        );
      }
    }
  }
}

function checkLimits(runs: SarifRun[]): void {
  const over = (what: string, count: number, max: number) => {
    if (count > max) {
      throw new InvalidSarifUploadError(
        `rejecting SARIF, as there are more ${what} than allowed (${count} > ${max})`,
      );
    }
  };
  over('runs', runs.length, LIMITS.runsPerFile);
  for (const run of runs) {
    over('results per run', run.results.length, LIMITS.resultsPerRun);
    const rules = (run.tool.driver.rules as Array<{ properties?: { tags?: unknown[] } }> | undefined) ?? [];
    over('rules per run', rules.length, LIMITS.rulesPerRun);
    over('tool extensions per run', run.tool.extensions?.length ?? 0, LIMITS.extensionsPerRun);
    for (const rule of rules) over('tags per rule', rule.properties?.tags?.length ?? 0, LIMITS.tagsPerRule);
    for (const result of run.results) {
      over(
        'locations per result',
        (result.locations as unknown[] | undefined)?.length ?? 0,
        LIMITS.locationsPerResult,
      );
      const flows = JSON.stringify(result.codeFlows ?? []).match(/"location":/g)?.length ?? 0;
      over('thread flow locations per result', flows, LIMITS.threadFlowLocationsPerResult);
    }
  }
}
