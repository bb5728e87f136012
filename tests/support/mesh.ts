import { connectClients, startMesh, type Mesh, type MeshClients } from '@ralm/mesh';
import { startNatsServer, type NatsServer } from '@ralm/platform/testing/nats-server';

/** A mesh on loopback for tests and benchmarks, with its clients and (for `nats`) its own nats-server. */
export interface LoopbackMesh {
  mesh: Mesh;
  clients: MeshClients;
  nats: NatsServer | undefined;
  stop(): Promise<void>;
}

/**
 * Starts the five services on free loopback ports, silent, configured only by
 * `env` (nothing leaks in from the shell), on the embedded bus or a fresh
 * nats-server with JetStream. `env` should name a fresh STATE_DIR.
 */
export async function startLoopbackMesh(bus: 'memory' | 'nats', env: NodeJS.ProcessEnv): Promise<LoopbackMesh> {
  const nats = bus === 'nats' ? await startNatsServer({ jetstream: true }) : undefined;
  let mesh: Mesh;
  try {
    mesh = await startMesh({ natsUrl: nats?.url, portBase: 0, host: '127.0.0.1', logLevel: 'silent', baseEnv: {}, env: { SHUTDOWN_GRACE_SECONDS: '2', ...env } });
  } catch (err) {
    await nats?.stop();
    throw err;
  }
  const clients = connectClients(mesh);
  return {
    mesh,
    clients,
    nats,
    async stop() {
      clients.close();
      await mesh.stop();
      await nats?.stop();
    },
  };
}
