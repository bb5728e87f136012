import fs from 'node:fs/promises';
import { startMesh } from '@ralm/mesh';
import { describeMesh, writeMeshFile } from '../mesh-file';
import { formatHealth, probeMesh } from './status';

export interface UpOptions {
  natsUrl?: string;
  portBase: number;
  host: string;
  logLevel: string;
  meshFile: string;
  /** Environment the services' configs are read from (the CLI passes its own). */
  baseEnv: NodeJS.ProcessEnv;
}

/** Runs the mesh until SIGINT/SIGTERM, then stops it gracefully. */
export async function upCommand(options: UpOptions): Promise<number> {
  const mesh = await startMesh(options);
  const description = describeMesh(mesh, options.host);
  await writeMeshFile(options.meshFile, description);
  process.stdout.write(`RALM mesh up on the ${mesh.bus.kind} bus (Ctrl-C to stop); recorded in ${options.meshFile}\n`);
  process.stdout.write(`${formatHealth(await probeMesh(description))}\n`);
  for (const s of description.services) process.stdout.write(`  ${s.name} metrics: ${s.metricsUrl}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stdout.write('stopping…\n');
  await mesh.stop();
  await fs.rm(options.meshFile, { force: true });
  process.stdout.write('stopped\n');
  return 0;
}
