#!/usr/bin/env node
// Turns a Kubernetes OpenAPI v2 document (api/openapi-spec/swagger.json of k8s.io/kubernetes) into the
// per-kind JSON schemas kubeconform reads from a local schema location:
//   <out>/<kind>-<group>-<version>.json   (group = first DNS label; core kinds: <kind>-<version>.json)
// Each file is self-contained: the definitions it reaches are copied under "definitions" and $refs point
// there (recursive types such as JSONSchemaProps stay finite). With --strict every object with declared
// properties rejects unknown keys, which is what `kubeconform -strict` expects of a "-strict" directory.
//
// With --crd, the inputs are CustomResourceDefinition manifests (e.g. the Gateway API's) and every served
// version's openAPIV3Schema becomes one file, named the same way.
//
// Usage: node k8s-schemas.mjs SWAGGER_JSON OUT_DIR [--strict]
//        node k8s-schemas.mjs --crd OUT_DIR [--strict] CRD_YAML...
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
if (args[0] === '--crd') {
  await crdSchemas(args.slice(1));
  process.exit(0);
}
const [swaggerPath, outDir, flag] = args;
if (!swaggerPath || !outDir) {
  console.error(
    'usage: k8s-schemas.mjs SWAGGER_JSON OUT_DIR [--strict] | --crd OUT_DIR [--strict] CRD_YAML...',
  );
  process.exit(2);
}
const strict = flag === '--strict';
const swagger = JSON.parse(readFileSync(swaggerPath, 'utf8'));
const definitions = swagger.definitions ?? {};
if (Object.keys(definitions).length === 0) {
  console.error(`${swaggerPath}: no "definitions" found; is this a Kubernetes swagger.json?`);
  process.exit(1);
}

const refName = (ref) => ref.replace('#/definitions/', '');

// Kubernetes serialises these as either a string or a number; the OpenAPI document only says "string".
const STRING_OR_NUMBER = new Set(['io.k8s.apimachinery.pkg.api.resource.Quantity']);

function convert(node, inRequired = true) {
  if (Array.isArray(node)) return node.map((n) => convert(n));
  if (node === null || typeof node !== 'object') return node;
  if (node.$ref) {
    return { $ref: `#/definitions/${refName(node.$ref)}` };
  }
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties') {
      const required = new Set(node.required ?? []);
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, prop]) => [name, convert(prop, required.has(name))]),
      );
    } else if (key === 'items' || key === 'additionalProperties') {
      out[key] = convert(value);
    } else if (key.startsWith('x-kubernetes-') || key === 'description') {
      continue; // not validation keywords; dropping them keeps the files small
    } else {
      out[key] = value;
    }
  }
  if (out.format === 'int-or-string') {
    delete out.type;
    delete out.format;
    out.oneOf = [{ type: 'string' }, { type: 'integer' }];
  }
  // Optional fields may be written as null (`annotations:` with nothing after it); Kubernetes accepts that.
  if (!inRequired && typeof out.type === 'string') out.type = [out.type, 'null'];
  if (strict && out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function definitionSchema(name) {
  if (STRING_OR_NUMBER.has(name)) return { oneOf: [{ type: 'string' }, { type: 'number' }] };
  return convert(definitions[name]);
}

function reachable(root) {
  const seen = new Set();
  const stack = [root];
  while (stack.length > 0) {
    const name = stack.pop();
    if (seen.has(name)) continue;
    seen.add(name);
    JSON.stringify(definitions[name], (key, value) => {
      if (key === '$ref' && typeof value === 'string') stack.push(refName(value));
      return value;
    });
  }
  return seen;
}

mkdirSync(outDir, { recursive: true });
let written = 0;
for (const [name, definition] of Object.entries(definitions)) {
  const gvks = definition['x-kubernetes-group-version-kind'];
  if (!Array.isArray(gvks)) continue;
  const schema = definitionSchema(name);
  const deps = {};
  for (const dep of reachable(name)) if (dep !== name) deps[dep] = definitionSchema(dep);
  for (const { group, version, kind } of gvks) {
    const apiVersion = group ? `${group}/${version}` : version;
    const file = group
      ? `${kind}-${group.split('.')[0]}-${version}`.toLowerCase()
      : `${kind}-${version}`.toLowerCase();
    const document = {
      $schema: 'http://json-schema.org/schema#',
      ...schema,
      properties: {
        ...schema.properties,
        apiVersion: { type: 'string', enum: [apiVersion] },
        kind: { type: 'string', enum: [kind] },
      },
      definitions: deps,
    };
    writeFileSync(join(outDir, `${file}.json`), JSON.stringify(document));
    written += 1;
  }
}
if (written === 0) {
  console.error(`${swaggerPath}: no definition carries x-kubernetes-group-version-kind`);
  process.exit(1);
}
console.error(`wrote ${written} schemas to ${outDir}`);

async function crdSchemas(argv) {
  const [out, ...rest] = argv;
  const strictCrd = rest[0] === '--strict';
  const files = strictCrd ? rest.slice(1) : rest;
  if (!out || files.length === 0) {
    console.error('usage: k8s-schemas.mjs --crd OUT_DIR [--strict] CRD_YAML...');
    process.exit(2);
  }
  const { parseAllDocuments } = await import('yaml');
  const tighten = (node) => {
    if (Array.isArray(node)) return node.map(tighten);
    if (node === null || typeof node !== 'object') return node;
    const copy = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, tighten(v)]));
    if (
      strictCrd &&
      copy.properties &&
      copy.additionalProperties === undefined &&
      !copy['x-kubernetes-preserve-unknown-fields']
    ) {
      copy.additionalProperties = false;
    }
    return copy;
  };
  mkdirSync(out, { recursive: true });
  let count = 0;
  for (const file of files) {
    for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const crd = document.toJS();
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      const { group, names, versions } = crd.spec;
      for (const version of versions ?? []) {
        if (!version.served || !version.schema?.openAPIV3Schema) continue;
        const name = `${names.kind}-${group.split('.')[0]}-${version.name}`.toLowerCase();
        writeFileSync(join(out, `${name}.json`), JSON.stringify(tighten(version.schema.openAPIV3Schema)));
        count += 1;
      }
    }
  }
  if (count === 0) {
    console.error(`no served CRD versions found in ${files.join(', ')}`);
    process.exit(1);
  }
  console.error(`wrote ${count} CRD schemas to ${out}`);
}
