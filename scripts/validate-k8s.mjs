#!/usr/bin/env node
// Validates every object of rendered manifests (files, or stdin) against the Kubernetes
// OpenAPI schemas, offline: kubernetes-models ships them as precompiled validators, and
// @kubernetes-models/prometheus-operator adds ServiceMonitor and PrometheusRule.
// An object whose apiVersion/kind has no schema here fails too: a typo in either must
// not pass as "unknown, so fine". ESM because kubernetes-models exports ESM only.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import * as core from 'kubernetes-models/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as batch from 'kubernetes-models/batch/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

const models = new Map();
for (const mod of [core, apps, batch, policy, autoscaling, networking, monitoring]) {
  for (const Model of Object.values(mod)) {
    if (typeof Model === 'function' && Model.apiVersion && Model.kind) models.set(`${Model.apiVersion} ${Model.kind}`, Model);
  }
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
    } catch (err) {
      failures++;
      console.error(`${file}: ${what}: ${err.message}`);
    }
  }
}
console.log(`validate-k8s: ${objects} objects, ${failures} invalid`);
process.exit(failures > 0 || objects === 0 ? 1 : 0);
