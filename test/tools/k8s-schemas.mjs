#!/usr/bin/env node
// Turns a Kubernetes OpenAPI v2 document (api/openapi-spec/swagger.json of k8s.io/kubernetes) into the
// per-kind JSON schemas kubeconform reads from a local schema location:
//   <out>/<kind>-<group>-<version>.json   (group = first DNS label; core kinds: <kind>-<version>.json)
// Each file is self-contained: the definitions it reaches are copied under "definitions" and $refs point
// there (recursive types such as JSONSchemaProps stay finite). With --strict every object with declared
// properties rejects unknown keys, which is what `kubeconform -strict` expects of a "-strict" directory.
//
// Usage: node k8s-schemas.mjs SWAGGER_JSON OUT_DIR [--strict]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [swaggerPath, outDir, flag] = process.argv.slice(2);
if (!swaggerPath || !outDir) {
  console.error('usage: k8s-schemas.mjs SWAGGER_JSON OUT_DIR [--strict]');
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
