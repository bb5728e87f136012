import path from 'node:path';
import { startServiceProcess, type ServiceProcess } from '@ralm/platform/testing/service-process';

export type ReplicaProcess = ServiceProcess;

/** One seed-collector replica as its own process, named as StatefulSet pod `ordinal` (its HOSTNAME ends in it). */
export function startReplicaProcess(ordinal: number, env: NodeJS.ProcessEnv): Promise<ReplicaProcess> {
  return startServiceProcess(path.join(__dirname, '..', 'main.ts'), path.join(__dirname, '..', '..', '..', '..'), { HOSTNAME: `ralm-seed-collector-${ordinal}`, ...env });
}
