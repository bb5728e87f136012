import fs from 'node:fs/promises';
import path from 'node:path';
import { checkLmdbFile, repairJournal, StorageCorruptError } from '@ralm/platform';

/**
 * `ralm repair`: the embedded deployment's damaged state, salvaged where it can be.
 * The bus journal keeps every intact record (repairJournal); an LMDB store cannot be
 * salvaged record by record, so a damaged one is reported with what to do. Exit 0
 * when everything is intact or repaired, 1 when something still needs a hand.
 */
export async function repairCommand(stateDir: string, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  let failed = false;
  const journalDir = path.join(stateDir, 'bus');
  if (await exists(path.join(journalDir, 'journal'))) {
    const report = await repairJournal(journalDir);
    if (report.movedTo === undefined) out(`bus journal ${report.file}: intact`);
    else {
      const lost = report.lostSeqs.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ') || 'none';
      out(`bus journal ${report.file}: repaired; ${report.kept} messages kept, lost sequences ${lost} (placeholders keep the numbering), damaged bytes ${report.damagedBytes.map(([a, b]) => `${a}-${b}`).join(', ')}; the original is at ${report.movedTo}`);
    }
  } else out(`bus journal: none under ${journalDir}`);
  for (const entry of await fs.readdir(stateDir, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory() || !(await exists(path.join(stateDir, entry.name, 'data.mdb')))) continue;
    const dir = path.join(stateDir, entry.name);
    try {
      await checkLmdbFile(dir);
      out(`state store ${dir}: intact`);
    } catch (err) {
      if (!(err instanceof StorageCorruptError)) throw err;
      failed = true;
      out(`state store ${dir}: DAMAGED: ${err.message}`);
    }
  }
  return failed ? 1 : 0;
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}
