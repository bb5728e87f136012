import { ConfigError } from '@ralm/platform';
import { batchJobOf, seedFromJobId } from '../src/batch';
import { loadTrainerConfig } from '../src/config';

const BATCH = { TRAINING_JOB_DATA_DIR: '/data/2024-06-01' };

/** The ConfigError loading `env` raises. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadTrainerConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('the config loaded');
}

describe('batch mode config', () => {
  it('is off unless TRAINING_JOB_DATA_DIR is set', () => {
    const config = loadTrainerConfig({});
    expect(batchJobOf(config)).toBeUndefined();
    expect(config.TRAINING_JOB_PUBLISH).toBe(true);
    expect(batchJobOf(loadTrainerConfig({ TRAINING_JOB_DATA_DIR: '' }))).toBeUndefined();
  });

  it('reads the job: data dir, camelCase TrainingConfig fields, id and publish flag', () => {
    const config = loadTrainerConfig({
      ...BATCH,
      TRAINING_JOB_CONFIG: '{"phase1Epochs":3,"userDim":64,"tower":"USER_TOWER_CONCATENATION","learningRate":0.01,"seed":0}',
      TRAINING_JOB_ID: 'ralm-train-28712345',
      TRAINING_JOB_PUBLISH: 'false',
    });
    expect(batchJobOf(config)).toEqual({
      dataDir: '/data/2024-06-01',
      config: { phase1Epochs: 3, userDim: 64, tower: 'concatenation', learningRate: 0.01, seed: 0 },
      jobId: 'ralm-train-28712345',
      publish: false,
    });
    expect(batchJobOf(loadTrainerConfig(BATCH))).toEqual({ dataDir: '/data/2024-06-01', config: {}, jobId: undefined, publish: true });
  });

  it.each([
    ['{"phase1Epochs":-3}', /^config TRAINING_JOB_CONFIG: phase1Epochs: must be 0 \(default 10\) or an integer in \[1, 1000\], got -3/],
    ['{"phase1Epochs":2.5}', /TRAINING_JOB_CONFIG: phase1Epochs: .*got 2\.5/],
    ['{"negativesPerPositive":5000}', /TRAINING_JOB_CONFIG: negativesPerPositive: .*got 5000/],
    ['{"learningRate":2}', /TRAINING_JOB_CONFIG: learningRate: must be 0 \(default 0\.001\) or in \(0, 1\], got 2/],
    ['{"userDim":"64"}', /TRAINING_JOB_CONFIG: userDim: .*expected number/],
    ['{"tower":"towerless"}', /TRAINING_JOB_CONFIG: tower: .*USER_TOWER_CONCATENATION/],
    ['{"phase1Epoch":3}', /TRAINING_JOB_CONFIG: .*phase1Epoch\b/],
    ['{"dataDir":"/elsewhere"}', /TRAINING_JOB_CONFIG: dataDir: set TRAINING_JOB_DATA_DIR instead/],
    ['[3]', /TRAINING_JOB_CONFIG: must be a JSON object/],
    ['{phase1Epochs: 3}', /TRAINING_JOB_CONFIG: is not valid JSON/],
  ])('refuses TRAINING_JOB_CONFIG=%s naming the field', (value, message) => {
    const err = configError({ ...BATCH, TRAINING_JOB_CONFIG: value });
    expect(err.key).toBe('TRAINING_JOB_CONFIG');
    expect(err.message).toMatch(message);
  });

  it('refuses a job id that is not a safe folder name, and batch settings without a data dir', () => {
    for (const id of ['../escape', '.hidden', 'a/b', 'x'.repeat(254)]) expect(configError({ ...BATCH, TRAINING_JOB_ID: id }).key).toBe('TRAINING_JOB_ID');
    expect(configError({ TRAINING_JOB_ID: 'ralm-train-1' }).message).toMatch(/TRAINING_JOB_ID: applies to batch mode only: set TRAINING_JOB_DATA_DIR too/);
    expect(configError({ TRAINING_JOB_CONFIG: '{}' }).key).toBe('TRAINING_JOB_CONFIG');
    expect(configError({ ...BATCH, TRAINING_JOB_PUBLISH: 'maybe' }).key).toBe('TRAINING_JOB_PUBLISH');
  });

  it('derives the same non-zero seed from the same job id, and another from another', () => {
    const seed = seedFromJobId('ralm-train-28712345');
    expect(seedFromJobId('ralm-train-28712345')).toBe(seed);
    expect(seedFromJobId('ralm-train-28712346')).not.toBe(seed);
    expect(Number.isSafeInteger(seed) && seed >= 1 && seed <= 2 ** 31).toBe(true);
  });
});
