import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMesh, type MeshOptions } from '@ralm/mesh';

const options = { portBase: 0, host: '127.0.0.1', logLevel: 'silent', env: { STATE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'ralm-mesh-env-')) } };

describe('startMesh environment', () => {
  it('takes the base environment explicitly: it is a required option', () => {
    // @ts-expect-error baseEnv is required, so no caller falls back to process.env by omission (checked by tsc).
    const omitted: MeshOptions = { ...options };
    expect(omitted.baseEnv).toBeUndefined();
  });

  it('configures the services from baseEnv only, whatever process.env holds', async () => {
    process.env.SEED_CAP = 'not-a-number';
    try {
      const mesh = await startMesh({ ...options, baseEnv: {} });
      await mesh.stop();
      await expect(startMesh({ ...options, baseEnv: { SEED_CAP: 'nope' } })).rejects.toThrow(/^config SEED_CAP: /);
    } finally {
      delete process.env.SEED_CAP;
    }
  });
});
