// The subset of the OASIS SARIF 2.1.0 JSON schema that code scanning's upload validates a tool's log against
// (see code-scanning.ts): required properties, closed objects, enums and integer minimums, derived from the
// schema (not vendored), with errors worded as the `jsonschema` package words them for upload-sarif.
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
      else if (child !== undefined) check(child, `${at}.${name}`, errors);
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
/** Properties the subset checks for their JSON type only: `names` (space-separated) → `check`. */
const typed = (names: string, check: Check) => Object.fromEntries(names.split(' ').map((n) => [n, check]));
const TOOL_COMPONENT =
  'guid name organization product productSuite fullName version semanticVersion ' +
  'dottedQuadFileVersion releaseDateUtc downloadUri informationUri language ' +
  'localizedDataSemanticVersion minimumRequiredLocalizedDataSemanticVersion';
const toolComponent = object(
  {
    ...typed(TOOL_COMPONENT, text),
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
    ...typed('ruleId guid correlationGuid hostedViewerUri', text),
    ...typed('rule partialFingerprints fingerprints provenance webRequest webResponse', anyObject),
    ...typed('stacks codeFlows graphs graphTraversals suppressions attachments fixes taxa', anyArray),
    ruleIndex: integer(-1),
    kind: oneOf('notApplicable', 'pass', 'fail', 'review', 'open', 'informational'),
    level: oneOf(...LEVELS),
    message,
    analysisTarget: artifactLocation,
    locations: arrayOf(location),
    occurrenceCount: integer(1),
    relatedLocations: arrayOf(location),
    baselineState: oneOf('new', 'unchanged', 'updated', 'absent'),
    rank: ofType('number'),
    workItemUris: arrayOf(text),
    properties: bag,
  },
  ['message'],
);
const RUN_OPEN =
  'invocations versionControlProvenance artifacts logicalLocations graphs redactionTokens ' +
  'newlineSequences threadFlowLocations taxonomies addresses translations policies ' +
  'webRequests webResponses';
const run = object(
  {
    ...typed(RUN_OPEN, anyArray),
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
    runs: (value, at, errors) => (value === null ? undefined : arrayOf(run)(value, at, errors)),
    inlineExternalProperties: anyArray,
    properties: bag,
  },
  ['version', 'runs'],
);

/** The schema errors of `log`, as upload-sarif lists them; empty when it is valid. */
export function schemaErrors(log: unknown): string[] {
  const errors: string[] = [];
  sarifLog(log, 'instance', errors);
  return errors;
}
