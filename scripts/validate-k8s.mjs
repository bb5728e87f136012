#!/usr/bin/env node
// Validates every object of rendered manifests (files, or stdin) against the Kubernetes
// OpenAPI schemas, offline: kubernetes-models ships them as precompiled validators, and
// @kubernetes-models/prometheus-operator adds ServiceMonitor and PrometheusRule,
// @kubernetes-models/cert-manager the Certificate.
// An object whose apiVersion/kind has no schema here fails too: a typo in either must
// not pass as "unknown, so fine". ESM because kubernetes-models exports ESM only.
//
// The schemas allow unknown fields (so does the API server, which drops them silently: a
// misspelt `namespaceSelectr` in a NetworkPolicy peer would widen access). So every field
// is also checked against the field lists of the official client's generated models
// (@kubernetes/client-node); the Prometheus Operator's and cert-manager's kinds have no such models here and
// get the schema check only.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import * as core from 'kubernetes-models/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as batch from 'kubernetes-models/batch/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as certManager from '@kubernetes-models/cert-manager/cert-manager.io/v1';

const models = new Map();
for (const mod of [core, apps, batch, policy, autoscaling, networking, monitoring, certManager]) {
  for (const Model of Object.values(mod)) {
    if (typeof Model === 'function' && Model.apiVersion && Model.kind) models.set(`${Model.apiVersion} ${Model.kind}`, Model);
  }
}

const PRIMITIVES = new Set(['string', 'number', 'boolean', 'Date', 'any', 'object', 'IntOrString']);
const fieldCache = new Map();

/** The model's fields by name, or undefined when the client has no such model. */
async function fieldsOf(type) {
  if (!fieldCache.has(type)) {
    // Deep imports: the package's entry point pulls in an HTTP client that needs Node 22.
    const mod = await import(`@kubernetes/client-node/dist/gen/models/${type}.js`).catch(() => undefined);
    const Model = mod?.[type];
    fieldCache.set(type, Model ? new Map(Model.getAttributeTypeMap().map((a) => [a.baseName, a.type])) : undefined);
  }
  return fieldCache.get(type);
}

/** Paths of fields the type does not have, anywhere in `value`. */
async function unknownFields(value, type, path, out) {
  if (value === null || value === undefined || PRIMITIVES.has(type)) return out;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) for (const [i, item] of value.entries()) await unknownFields(item, array[1], `${path}[${i}]`, out);
    return out;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    for (const [k, v] of Object.entries(value)) await unknownFields(v, map[1], `${path}.${k}`, out);
    return out;
  }
  const fields = await fieldsOf(type);
  if (!fields || typeof value !== 'object') return out;
  for (const [k, v] of Object.entries(value)) {
    if (!fields.has(k)) out.push(`${path}.${k}`);
    else await unknownFields(v, fields.get(k), `${path}.${k}`, out);
  }
  return out;
}

/** `apps/v1` + `Deployment` → `V1Deployment`, the client's name for the model. */
function modelName(apiVersion, kind) {
  const version = apiVersion.split('/').pop();
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

const files = process.argv.slice(2);
const sources = files.length > 0 ? files.map((f) => [f, readFileSync(f, 'utf8')]) : [['<stdin>', readFileSync(0, 'utf8')]];
let objects = 0;
let failures = 0;
for (const [file, text] of sources) {
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      console.error(`${file}: YAML error: ${doc.errors[0].message}`);
      failures++;
      continue;
    }
    const obj = doc.toJS();
    if (obj === null || obj === undefined) continue;
    objects++;
    const what = `${obj.apiVersion} ${obj.kind} ${obj.metadata?.name ?? '<no name>'}`;
    const Model = models.get(`${obj.apiVersion} ${obj.kind}`);
    try {
      if (!Model) throw new Error('no schema for this apiVersion and kind');
      new Model(obj).validate();
      if (!obj.apiVersion.includes('monitoring.coreos.com') && !obj.apiVersion.includes('cert-manager.io')) {
        const unknown = await unknownFields(obj, modelName(obj.apiVersion, obj.kind), '', []);
        if (unknown.length > 0) throw new Error(`unknown field(s): ${unknown.join(', ')}`);
      }
    } catch (err) {
      failures++;
      console.error(`${file}: ${what}: ${err.message}`);
    }
  }
}
console.log(`validate-k8s: ${objects} objects, ${failures} invalid`);
process.exit(failures > 0 || objects === 0 ? 1 : 0);
