import type { ChannelCredentials } from '@grpc/grpc-js';
import { checkHealth, commonConfigSchema, loadConfig, peerCredentials, type HealthStatus } from '@ralm/platform';
import { readMeshFile, type MeshFile } from '../mesh-file';

export interface ServiceHealth {
  name: string;
  address: string;
  status: HealthStatus;
}

/** Health of every service of a mesh; `creds` for a mesh started with GRPC_TLS (the same variables as its services). */
export async function probeMesh(mesh: Pick<MeshFile, 'services'>, creds?: ChannelCredentials): Promise<ServiceHealth[]> {
  return Promise.all(mesh.services.map(async (s) => ({ name: s.name, address: s.address, status: await checkHealth(s.address, '', 2000, creds) })));
}

export function formatHealth(rows: ServiceHealth[]): string {
  const width = Math.max(...rows.map((r) => r.name.length));
  return rows.map((r) => `  ${r.name.padEnd(width)}  ${r.address.padEnd(21)}  ${r.status}`).join('\n');
}

/** Prints each service's grpc.health.v1 status; exit code 1 unless all are SERVING. */
export async function statusCommand(meshFile: string): Promise<number> {
  const mesh = await readMeshFile(meshFile);
  if (!mesh) {
    process.stderr.write(`no mesh recorded at ${meshFile}; start one with \`npx ralm up\`\n`);
    return 1;
  }
  // `ralm up` passes the shell's GRPC_TLS* to its services: the probe dials with the same.
  const rows = await probeMesh(mesh, peerCredentials(loadConfig(commonConfigSchema, process.env)));
  process.stdout.write(`mesh started ${mesh.startedAt} (pid ${mesh.pid}, ${mesh.bus} bus)\n${formatHealth(rows)}\n`);
  return rows.every((r) => r.status === 'SERVING') ? 0 : 1;
}
