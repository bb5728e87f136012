#!/usr/bin/env node
// ts-proto's forceLong=number decoder throws on an int64 beyond ±(2^53 - 1). The throw
// happens inside grpc-js' request deserialisation, so the whole call fails as INTERNAL
// and says nothing of which field: one bad timestamp lost a whole batch of valid clicks.
// Returning the nearest double instead loses nothing that matters: every value inside
// the safe range decodes exactly, every value outside it stays outside (>= 2^53), and
// the edge validation refuses that field by name (`requireSafeInteger`, the click and
// feedback time windows). Run on the generated folder by proto-gen.sh and proto-check.sh.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
const THROWING = /function longToNumber\(int64: \{ toString\(\): string \}\): number \{\n[\s\S]*?\n\}\n/;
const LENIENT = `function longToNumber(int64: { toString(): string }): number {
  // Patched by scripts/proto-patch-longs.mjs: beyond ±(2^53 - 1) the nearest double comes
  // back (still beyond it), and edge validation refuses the field by name.
  return globalThis.Number(int64.toString());
}
`;
let patched = 0;
for (const file of fs.readdirSync(dir, { recursive: true })) {
  const full = path.join(dir, String(file));
  if (!full.endsWith('.ts')) continue;
  const text = fs.readFileSync(full, 'utf8');
  if (!THROWING.test(text)) continue;
  fs.writeFileSync(full, text.replace(THROWING, LENIENT));
  patched++;
}
console.log(`proto-patch-longs: lenient int64 decoding in ${patched} files`);
