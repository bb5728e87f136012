import fs from 'node:fs/promises';
import path from 'node:path';
import type { Mesh } from '@ralm/mesh';

/** What `ralm up` records so `ralm status` (another process) can find the services. */
export interface MeshFile {
  pid: number;
  startedAt: string;
  bus: 'memory' | 'nats';
  services: Array<{ name: string; address: string; metricsUrl: string }>;
}

export function describeMesh(mesh: Mesh, host: string): MeshFile {
  return {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    bus: mesh.bus.kind,
    services: mesh.services.map((s) => ({
      name: s.name,
      address: s.host.address,
      metricsUrl: `http://${host}:${s.host.metricsPort}/metrics`,
    })),
  };
}

export async function writeMeshFile(file: string, content: MeshFile): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, JSON.stringify(content, null, 2) + '\n');
}

export async function readMeshFile(file: string): Promise<MeshFile | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as MeshFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
