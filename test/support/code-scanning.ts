// GitHub code scanning as github/codeql-action/upload-sarif and the code scanning API see an upload: the
// stand-in refuses what they refuse, with their messages. Rules, from the sources they are read from:
// - SARIF 2.1.0 schema validation (upload-lib validateSarifFileSchema, against the OASIS SARIF 2.1.0 JSON
//   schema). The schema is not vendored: SARIF below is the subset of its constraints that a tool's log
//   exercises (required properties, closed objects, enums, integer minimums), derived from the schema and
//   reported in the format the `jsonschema` package gives upload-sarif ("instance.runs[0] requires property
//   \"tool\""). Objects the subset does not describe are checked for their JSON type only.
// - One run per category (codeql-action since July 2025, github.blog changelog 2025-07-21): two runs whose
//   tool (name, fullName, version, semanticVersion, guid) and automationDetails.id are equal are refused.
//   The `category` input fills automationDetails.id (with a trailing "/") only where a run has none.
// - One upload per tool and category per job (upload-lib validateUniqueCategory).
// - Code scanning's hard limits (docs "SARIF results exceed hard limit", "SARIF file is too large"): 10 MB
//   gzip-compressed, 20 runs per file, 25,000 results and 25,000 rules per run, 100 tool extensions per
//   run, 1,000 locations and 10,000 thread flow locations per result, 20 tags per rule.
import { gzipSync } from 'node:zlib';

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
  for (const run of runs) {
    const id = run.automationDetails?.id;
    const tool = run.tool.driver.name as string;
    const sentinel = `CODEQL_UPLOAD_SARIF_${sanitize(id)}_${sanitize(tool)}`;
    if (job.has(sentinel)) {
      throw new InvalidSarifUploadError(
        'Aborting upload: only one run of the codeql/analyze or codeql/upload-sarif actions is allowed per ' +
          'job per tool/category. The easiest fix is to specify a unique value for the `category` input. ' +
          `Category: (${id ?? 'none'}) Tool: (${tool})`,
      );
    }
  }
  for (const run of runs) {
    job.add(`CODEQL_UPLOAD_SARIF_${sanitize(run.automationDetails?.id)}_${sanitize(run.tool.driver.name)}`);
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

// ---- The SARIF 2.1.0 schema subset -------------------------------------------------------------------

type Check = (value: unknown, at: string, errors: string[]) => void;

const typeName = (value: unknown) =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'array'
      : Number.isInteger(value)
        ? 'integer'
        : typeof value;

function ofType(...types: string[]): Check {
  return (value, at, errors) => {
    const actual = typeName(value);
    const ok = types.some((t) => t === actual || (t === 'number' && actual === 'integer'));
    if (!ok) errors.push(`${at} is not of a type(s) ${types.join(',')}`);
  };
}

function oneOf(...values: string[]): Check {
  return (value, at, errors) => {
    if (typeof value !== 'string') return ofType('string')(value, at, errors);
    if (!values.includes(value)) errors.push(`${at} is not one of enum values: ${values.join(',')}`);
  };
}

function integer(minimum: number): Check {
  return (value, at, errors) => {
    if (!Number.isInteger(value)) return ofType('integer')(value, at, errors);
    if ((value as number) < minimum) errors.push(`${at} must be greater than or equal to ${minimum}`);
  };
}

function arrayOf(item: Check): Check {
  return (value, at, errors) => {
    if (!Array.isArray(value)) return ofType('array')(value, at, errors);
    value.forEach((element, i) => item(element, `${at}[${i}]`, errors));
  };
}

function object(properties: Record<string, Check>, required: string[] = [], anyOf: string[][] = []): Check {
  return (value, at, errors) => {
    if (typeName(value) !== 'object') return ofType('object')(value, at, errors);
    const record = value as Record<string, unknown>;
    for (const name of required) {
      if (!(name in record)) errors.push(`${at} requires property "${name}"`);
    }
    if (anyOf.length > 0 && !anyOf.some((names) => names.every((name) => name in record))) {
      errors.push(`${at} is not any of ${anyOf.map((_, i) => `[subschema ${i}]`).join(',')}`);
    }
    for (const [name, child] of Object.entries(record)) {
      const check = properties[name];
      if (!check) errors.push(`${at} is not allowed to have the additional property "${name}"`);
      else child === undefined || check(child, `${at}.${name}`, errors);
    }
  };
}

const text = ofType('string');
const anything: Check = () => undefined;
const bag: Check = (value, at, errors) => {
  if (typeName(value) !== 'object') return ofType('object')(value, at, errors);
  const tags = (value as { tags?: unknown }).tags;
  if (tags !== undefined) arrayOf(text)(tags, `${at}.tags`, errors);
};
const anyObject = ofType('object');
const anyArray = ofType('array');
const bool = ofType('boolean');
const LEVELS = ['none', 'note', 'warning', 'error'];

const message = object(
  { text, markdown: text, id: text, arguments: arrayOf(text), properties: bag },
  [],
  [['text'], ['id']],
);
const multiformat = object({ text, markdown: text, properties: bag }, ['text']);
const artifactLocation = object({
  uri: text,
  uriBaseId: text,
  index: integer(-1),
  description: message,
  properties: bag,
});
const region = object({
  startLine: integer(1),
  startColumn: integer(1),
  endLine: integer(1),
  endColumn: integer(1),
  charOffset: integer(-1),
  charLength: integer(0),
  byteOffset: integer(-1),
  byteLength: integer(0),
  snippet: anyObject,
  message,
  sourceLanguage: text,
  properties: bag,
});
const physicalLocation = object(
  { address: anyObject, artifactLocation, region, contextRegion: region, properties: bag },
  [],
  [['address'], ['artifactLocation']],
);
const location = object({
  id: integer(-1),
  physicalLocation,
  logicalLocations: anyArray,
  message,
  annotations: anyArray,
  relationships: anyArray,
  properties: bag,
});
const reportingConfiguration = object({
  enabled: bool,
  level: oneOf(...LEVELS),
  rank: ofType('number'),
  parameters: bag,
  properties: bag,
});
const reportingDescriptor = object(
  {
    id: text,
    deprecatedIds: arrayOf(text),
    guid: text,
    deprecatedGuids: arrayOf(text),
    name: text,
    deprecatedNames: arrayOf(text),
    shortDescription: multiformat,
    fullDescription: multiformat,
    messageStrings: anyObject,
    defaultConfiguration: reportingConfiguration,
    helpUri: text,
    help: multiformat,
    relationships: anyArray,
    properties: bag,
  },
  ['id'],
);
const TOOL_COMPONENT = [
  'guid',
  'name',
  'organization',
  'product',
  'productSuite',
  'fullName',
  'version',
  'semanticVersion',
  'dottedQuadFileVersion',
  'releaseDateUtc',
  'downloadUri',
  'informationUri',
  'language',
  'localizedDataSemanticVersion',
  'minimumRequiredLocalizedDataSemanticVersion',
];
const toolComponent = object(
  {
    ...Object.fromEntries(TOOL_COMPONENT.map((name) => [name, text])),
    shortDescription: multiformat,
    fullDescription: multiformat,
    globalMessageStrings: anyObject,
    notifications: arrayOf(reportingDescriptor),
    rules: arrayOf(reportingDescriptor),
    taxa: arrayOf(reportingDescriptor),
    locations: anyArray,
    contents: arrayOf(oneOf('localizedData', 'nonLocalizedData')),
    isComprehensive: bool,
    associatedComponent: anyObject,
    translationMetadata: anyObject,
    supportedTaxonomies: anyArray,
    properties: bag,
  },
  ['name'],
);
const result = object(
  {
    ruleId: text,
    ruleIndex: integer(-1),
    rule: anyObject,
    kind: oneOf('notApplicable', 'pass', 'fail', 'review', 'open', 'informational'),
    level: oneOf(...LEVELS),
    message,
    analysisTarget: artifactLocation,
    locations: arrayOf(location),
    guid: text,
    correlationGuid: text,
    occurrenceCount: integer(1),
    partialFingerprints: anyObject,
    fingerprints: anyObject,
    stacks: anyArray,
    codeFlows: anyArray,
    graphs: anyArray,
    graphTraversals: anyArray,
    relatedLocations: arrayOf(location),
    suppressions: anyArray,
    baselineState: oneOf('new', 'unchanged', 'updated', 'absent'),
    rank: ofType('number'),
    attachments: anyArray,
    hostedViewerUri: text,
    workItemUris: arrayOf(text),
    provenance: anyObject,
    fixes: anyArray,
    taxa: anyArray,
    webRequest: anyObject,
    webResponse: anyObject,
    properties: bag,
  },
  ['message'],
);
const RUN_OPEN = [
  'invocations',
  'versionControlProvenance',
  'artifacts',
  'logicalLocations',
  'graphs',
  'redactionTokens',
  'newlineSequences',
  'threadFlowLocations',
  'taxonomies',
  'addresses',
  'translations',
  'policies',
  'webRequests',
  'webResponses',
];
const run = object(
  {
    ...Object.fromEntries(RUN_OPEN.map((name) => [name, anyArray])),
    tool: object({ driver: toolComponent, extensions: arrayOf(toolComponent), properties: bag }, ['driver']),
    conversion: anyObject,
    language: text,
    originalUriBaseIds: anything,
    results: arrayOf(result),
    automationDetails: object({
      description: message,
      id: text,
      guid: text,
      correlationGuid: text,
      properties: bag,
    }),
    runAggregates: anyArray,
    baselineGuid: text,
    defaultEncoding: text,
    defaultSourceLanguage: text,
    columnKind: oneOf('utf16CodeUnits', 'unicodeCodePoints'),
    externalPropertyFileReferences: anyObject,
    specialLocations: anyObject,
    properties: bag,
  },
  ['tool'],
);
const sarifLog = object(
  {
    $schema: text,
    version: oneOf('2.1.0'),
    runs: (value, at, errors) => value === null || arrayOf(run)(value, at, errors),
    inlineExternalProperties: anyArray,
    properties: bag,
  },
  ['version', 'runs'],
);

/** The schema errors of `log`, as upload-sarif lists them; empty when it is valid. */
export function schemaErrors(log: unknown): string[] {
  const errors: string[] = [];
  sarifLog(log, 'instance', errors);
  // upload-sarif counts results after validation; a run without them is refused there.
  if (errors.length === 0) {
    const runs = (log as { runs: Array<{ results?: unknown }> | null }).runs;
    if (!Array.isArray(runs)) throw new InvalidSarifUploadError("Invalid SARIF. Missing 'runs' array.");
    for (const r of runs) {
      if (!Array.isArray(r.results)) {
        throw new InvalidSarifUploadError("Invalid SARIF. Missing 'results' array in run.");
      }
    }
  }
  return errors;
}
