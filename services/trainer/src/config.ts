import { z } from 'zod';
import { resolveModelConfig, type TrainingConfigInput } from '@ralm/model';
import { commonConfigShape, env, InvalidArgumentError, loadConfig } from '@ralm/platform';
import { fromTrainingConfigProto } from './mapping';

/** The TrainingConfig fields a batch job may set; `dataDir` is TRAINING_JOB_DATA_DIR's. */
export type BatchTrainingConfig = Partial<Omit<TrainingConfigInput, 'dataDir'>>;

const TOWERS = {
  USER_TOWER_UNSPECIFIED: 'unspecified',
  USER_TOWER_ATTENTION_MERGE: 'attention_merge',
  USER_TOWER_CONCATENATION: 'concatenation',
  attention_merge: 'attention_merge',
  concatenation: 'concatenation',
} as const;

/** The generated TrainingConfig's camelCase fields; numbers are range-checked by resolveModelConfig. */
const trainingConfigFields = z
  .strictObject({
    dataDir: z.never({ error: 'set TRAINING_JOB_DATA_DIR instead' }),
    tower: z.enum(Object.keys(TOWERS) as [keyof typeof TOWERS]).transform((t) => TOWERS[t]),
    userDim: z.number(),
    lookalikeDim: z.number(),
    fieldDim: z.number(),
    attentionSize: z.number(),
    clusters: z.number(),
    phase1Epochs: z.number(),
    phase2Epochs: z.number(),
    batchSize: z.number(),
    learningRate: z.number(),
    negativesPerPositive: z.number(),
    maxPositivesPerUser: z.number(),
    alpha: z.number(),
    beta: z.number(),
    temperature: z.number(),
    seed: z.number(),
    validationFraction: z.number(),
  })
  .partial();

const snakeToCamel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * JSON text → the fields it sets, every problem named by its field: loadConfig reports
 * only the variable, so the field path goes into the message.
 */
const trainingJobConfig = z.string().transform((text, ctx): BatchTrainingConfig => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `is not valid JSON (${(err as Error).message})` });
    return z.NEVER;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON object of TrainingConfig fields, e.g. {"phase1Epochs":3}' });
    return z.NEVER;
  }
  const parsed = trainingConfigFields.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    ctx.addIssue({ code: 'custom', message: issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message });
    return z.NEVER;
  }
  const { dataDir: _, ...fields } = parsed.data;
  try {
    // Only the limits are checked here; the data dir and the seed are the batch job's to resolve.
    resolveModelConfig({ ...fromTrainingConfigProto(undefined), ...fields, dataDir: '.' }, () => 1);
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    ctx.addIssue({ code: 'custom', message: `${snakeToCamel(err.field.replace(/^config\./, ''))}: ${err.reason}` });
    return z.NEVER;
  }
  return fields;
});

const schema = z
  .object({
    ...commonConfigShape,
    /** Directory holding one sub-directory per model version (`<root>/<version>/manifest.json`). */
    MODEL_ROOT: env.path('.ralm/models'),
    /**
     * The one directory StartTraining may read datasets from: `data_dir` names a directory
     * under it (relative, no `..`, no symlink out). A caller can read or probe nothing else.
     */
    TRAINING_DATA_ROOT: env.path('.ralm/data'),
    /** Checkpoints of running jobs, one directory per run; a restarted job resumes from its latest epoch. */
    TRAINING_WORK_DIR: env.path('.ralm/training'),
    /** tfjs backend: auto picks tfjs-node-gpu, tfjs-node, wasm, cpu in that order of preference. */
    TRAINING_BACKEND: z.enum(['auto', 'wasm', 'cpu']).default('auto'),
    /** Least time between two progress updates of a running job (WatchJob messages), ms. */
    PROGRESS_INTERVAL_MS: env.nonNegativeInt(250),
    /** Jobs that may wait behind the running one; StartTraining beyond it is RESOURCE_EXHAUSTED (jobs run one at a time). */
    MAX_QUEUED_JOBS: env.positiveInt(8),
    /**
     * Batch mode (a Kubernetes Job): the dataset directory of the one job to run, after
     * which the process exits (0 = model written, see batch.ts for the other codes).
     * Unset = service mode: jobs come from StartTraining.
     */
    TRAINING_JOB_DATA_DIR: z.string().min(1).optional(),
    /**
     * Batch mode: a JSON object of TrainingConfig fields in camelCase, e.g.
     * `{"phase1Epochs":3,"userDim":64,"tower":"USER_TOWER_CONCATENATION"}`; a missing or
     * 0 field takes its default, as in StartTraining. Unset = all defaults.
     */
    TRAINING_JOB_CONFIG: trainingJobConfig.optional(),
    /**
     * Batch mode: the job's stable id (the Kubernetes Job name; letters, digits, `.`, `_`, `-`,
     * at most 253). A rerun with the same id resumes from its checkpoints in
     * TRAINING_WORK_DIR/job-<id>, and a seed left unset is derived from it. Unset = random id.
     */
    TRAINING_JOB_ID: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/, 'must be 1..253 letters, digits, ".", "_" or "-", starting with a letter or digit')
      .optional(),
    /** Batch mode: announce the model on ralm.v1.model.published; false writes it to MODEL_ROOT only (a canary). */
    TRAINING_JOB_PUBLISH: env.bool(true),
  })
  .superRefine((c, ctx) => {
    // Without a data dir the process would serve forever: a Kubernetes Job that never completes.
    for (const key of ['TRAINING_JOB_CONFIG', 'TRAINING_JOB_ID'] as const) {
      if (c[key] !== undefined && c.TRAINING_JOB_DATA_DIR === undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'applies to batch mode only: set TRAINING_JOB_DATA_DIR too' });
      }
    }
  });

export type TrainerConfig = z.output<typeof schema>;

export function loadTrainerConfig(environment: NodeJS.ProcessEnv): TrainerConfig {
  return loadConfig(schema, environment);
}
