/**
 * A JetStream whose storage is full (issue 15): a real nats-server with a 1 MiB file store.
 * A publish and a state write it refuses reach the caller as UnavailableError naming
 * JetStream's lack of room (gRPC UNAVAILABLE, retryable), not INTERNAL; what was stored
 * before stays readable.
 */
import { connectNatsBus, connectNatsStore, UnavailableError, type EventBus } from '@ralm/platform';
import { startNatsServer, type NatsServer } from '@ralm/platform/testing/nats-server';
import { toGrpcStatus } from '../src/grpc/status';
import { status } from '@grpc/grpc-js';

jest.setTimeout(60_000);

const subject = { name: 'ralm.v1.test.full', encode: (b: Uint8Array) => b, decode: (b: Uint8Array) => b };

describe('a full JetStream', () => {
  let nats: NatsServer;
  // A fresh full-to-be server per case: the first would leave none for the second.
  beforeEach(async () => {
    nats = await startNatsServer({ jetstream: true, maxFileStoreBytes: 1 << 20 });
  });
  afterEach(() => nats?.stop());

  it('refuses a publish as UNAVAILABLE, naming the lack of room', async () => {
    const bus: EventBus = await connectNatsBus({ servers: [nats.url], name: 'full-test', stream: { name: 'FULL', subjects: ['ralm.v1.test.>'] } });
    try {
      const chunk = new Uint8Array(64 * 1024).fill(7);
      let refused: unknown;
      for (let i = 0; i < 64 && refused === undefined; i++) await bus.publish(subject, chunk).catch((err: unknown) => (refused = err));
      expect(refused).toBeInstanceOf(UnavailableError);
      expect(String((refused as Error).message)).toMatch(/nats bus: publish to ralm\.v1\.test\.full failed: JetStream is out of room \(.+\); nothing was stored, retry once space is freed/);
      expect(toGrpcStatus(refused).code).toBe(status.UNAVAILABLE);
    } finally {
      await bus.close();
    }
  });

  it('refuses a state write as UNAVAILABLE and keeps what was stored', async () => {
    const store = await connectNatsStore({ servers: [nats.url], bucket: 'full-state', name: 'full-test' });
    try {
      let refused: unknown;
      let stored = 0;
      for (let i = 0; i < 32 && refused === undefined; i++) {
        await store.put(`k${i}`, new Uint8Array(256 * 1024).fill(i)).then(() => stored++, (err: unknown) => (refused = err));
      }
      expect(refused).toBeInstanceOf(UnavailableError);
      expect(String((refused as Error).message)).toMatch(/JetStream is out of room/);
      expect(stored).toBeGreaterThan(0);
      expect((await store.get('k0'))?.[0]).toBe(0);
    } finally {
      await store.close();
    }
  });
});
