import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserTower, type ModelInfo } from '@ralm/proto/trainer';
import { z } from 'zod';
import type { Logger } from '@ralm/platform';
import type { ModelRegistry } from '../ports';

/** The fields of a model manifest the registry lists; the model package writes the full manifest. */
const manifestSummary = z.object({
  version: z.string().min(1),
  createdAtMs: z.number().int().nonnegative(),
  userDim: z.number().int().positive(),
  lookalikeDim: z.number().int().positive(),
  tower: z.enum(['attention_merge', 'concatenation']),
  metrics: z.record(z.string(), z.number()).default({}),
  dataFingerprint: z.string().default(''),
  jobId: z.string().default(''),
  alpha: z.number(),
  beta: z.number(),
  temperature: z.number(),
});

async function readManifest(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { unreadable: String(err) };
  }
}

/** Lists `<root>/<version>/manifest.json`, newest first; a bad manifest is logged and skipped, never fatal. */
export function createFsModelRegistry(root: string, logger: Logger): ModelRegistry {
  return {
    async list() {
      const entries = await fs.readdir(root).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [] as string[];
        throw err;
      });
      const models: ModelInfo[] = [];
      for (const entry of entries) {
        const dir = path.join(root, entry);
        const raw = await readManifest(path.join(dir, 'manifest.json'));
        if (raw === undefined) continue;
        const parsed = manifestSummary.safeParse(raw);
        if (!parsed.success) {
          logger.warn({ dir, issue: parsed.error.issues[0]?.message }, 'skipping a model with an unreadable manifest');
          continue;
        }
        const m = parsed.data;
        models.push({
          modelVersion: m.version,
          createdAtMs: m.createdAtMs,
          userDim: m.userDim,
          lookalikeDim: m.lookalikeDim,
          tower: m.tower === 'concatenation' ? UserTower.USER_TOWER_CONCATENATION : UserTower.USER_TOWER_ATTENTION_MERGE,
          metrics: m.metrics,
          dataFingerprint: m.dataFingerprint,
          artifactUri: pathToFileURL(path.resolve(dir)).href,
          jobId: m.jobId,
          alpha: m.alpha,
          beta: m.beta,
          temperature: m.temperature,
        });
      }
      return models.sort((a, b) => b.createdAtMs - a.createdAtMs);
    },
  };
}
