import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { synthesizeToDir } from '@ralm/data';
import { loadModel, selectBackend } from '@ralm/model';

// Training is CPU-bound and the suite runs two workers on two cores: a generous safety net, not a speed check.
jest.setTimeout(180_000);


const ROOT = path.resolve(__dirname, '../../..');
const BIN = path.join(ROOT, 'apps/ralm/bin/ralm.js');
const env = { PATH: process.env.PATH, HOME: process.env.HOME };
const SMALL = ['--user-dim', '16', '--lookalike-dim', '16', '--field-dim', '8', '--attention-size', '8', '--clusters', '3', '--batch-size', '64'];

describe('ralm train', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ralm-cli-train-'));
  const data = path.join(dir, 'data');
  beforeAll(async () => {
    await synthesizeToDir({ users: 700, items: 90, seed: 8 }, data);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes a verified model, printing plain progress lines when not on a terminal', async () => {
    const out = path.join(dir, 'model');
    const run = spawnSync(process.execPath, [BIN, 'train', '--data', data, '--out', out, ...SMALL, '--epochs1', '2', '--epochs2', '1'], { cwd: ROOT, env, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^tfjs backend: (wasm|cpu|tensorflow)/m);
    expect(run.stdout).toMatch(/^phase 1 \(users\) epoch 2\/2 batch (\d+)\/\1 loss \d+\.\d+ val AUC [\d.–]+ \d+ samples\/s$/m);
    expect(run.stdout).toMatch(/^phase 2 \(look-alike\) epoch 1\/1 /m);
    expect(run.stdout).not.toMatch(/\u001b\[/); // no terminal control codes in a log
    const version = /model (\S+) written to/.exec(run.stdout)![1];
    await selectBackend();
    const model = await loadModel(out);
    expect(model.info.version).toBe(version);
    model.dispose();
    expect(fs.existsSync(`${out}.checkpoint`)).toBe(false);
  });

  it('names the flag of a bad option and exits 2', () => {
    const run = spawnSync(process.execPath, [BIN, 'train', '--data', data, '--out', path.join(dir, 'x'), '--clusters', 'many'], { cwd: ROOT, env, encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stdout).toMatch(/ralm train: --clusters: must be 0 \(default 20\) or an integer/);
  });

  it('stops on Ctrl-C keeping its checkpoint, and the same command resumes from it', async () => {
    const out = path.join(dir, 'resumed');
    const args = [BIN, 'train', '--data', data, '--out', out, ...SMALL, '--epochs1', '4', '--epochs2', '1'];
    const first = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let interrupted = false;
    const code = new Promise<number | null>((resolve) => first.once('exit', resolve));
    first.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (!interrupted && /phase 1 \(users\) epoch 2\/4 batch (\d+)\/\1/.test(stdout)) {
        interrupted = true; // one Ctrl-C: a second one means "quit at once"
        first.kill('SIGINT');
      }
    });
    await expect(code).resolves.toBe(130);
    expect(stdout).toMatch(/interrupted; run the same command again to resume/);
    expect(fs.existsSync(path.join(`${out}.checkpoint`, 'state.json'))).toBe(true);

    const second = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8' });
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/resuming from .*phase 1 \(users\), [12] epochs done/);
    expect(second.stdout).not.toMatch(/phase 1 \(users\) epoch 1\/4/);
    expect(fs.existsSync(`${out}.checkpoint`)).toBe(false);
  });
});
