import { DEFAULT_MODEL_CONFIG, resolveModelConfig, type TrainingConfigInput } from '../src/config';

const zero: TrainingConfigInput = {
  dataDir: '/data',
  tower: 'unspecified',
  userDim: 0,
  lookalikeDim: 0,
  fieldDim: 0,
  attentionSize: 0,
  clusters: 0,
  phase1Epochs: 0,
  phase2Epochs: 0,
  batchSize: 0,
  learningRate: 0,
  negativesPerPositive: 0,
  maxPositivesPerUser: 0,
  alpha: 0,
  beta: 0,
  temperature: 0,
  seed: 0,
  validationFraction: 0,
};

describe('resolveModelConfig', () => {
  it("fills every zero with the paper's defaults and draws a seed", () => {
    expect(resolveModelConfig(zero, () => 42)).toEqual({
      ...DEFAULT_MODEL_CONFIG,
      dataDir: '/data',
      tower: 'attention_merge',
      userDim: 128,
      lookalikeDim: 128,
      fieldDim: 32,
      attentionSize: 64,
      clusters: 20,
      phase1Epochs: 10,
      phase2Epochs: 10,
      batchSize: 256,
      learningRate: 0.001,
      negativesPerPositive: 10,
      maxPositivesPerUser: 50,
      alpha: 0.3,
      beta: 0.7,
      temperature: undefined,
      seed: 42,
      validationFraction: 0.1,
    });
  });

  it('keeps explicit values', () => {
    const c = resolveModelConfig({ ...zero, tower: 'concatenation', clusters: 5, temperature: 8, seed: 7, alpha: 0.5 }, () => 1);
    expect(c).toMatchObject({ tower: 'concatenation', clusters: 5, temperature: 8, seed: 7, alpha: 0.5 });
  });

  it.each([
    [{ dataDir: ' ' }, 'config.data_dir'],
    [{ batchSize: -1 }, 'config.batch_size'],
    [{ userDim: 1025 }, 'config.user_dim'],
    [{ clusters: 2.5 }, 'config.clusters'],
    [{ learningRate: 2 }, 'config.learning_rate'],
    [{ alpha: Number.NaN }, 'config.alpha'],
    [{ beta: -0.1 }, 'config.beta'],
    [{ temperature: Infinity }, 'config.temperature'],
    [{ validationFraction: 0.9 }, 'config.validation_fraction'],
    [{ seed: -4 }, 'config.seed'],
  ])('refuses %j naming %s', (patch, field) => {
    expect(() => resolveModelConfig({ ...zero, ...patch }, () => 1)).toThrow(expect.objectContaining({ name: 'InvalidArgumentError', field }));
  });
});
