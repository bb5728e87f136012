import { createLogger, createMemoryBus, Subjects, type BusLogger } from '@ralm/platform';
import { Candidate } from '@ralm/proto/common';
import { loadClustererConfig } from '../src/config';
import { SeedTracker } from '../src/domain/seed-tracker';
import type { ClustererDeps } from '../src/ports';
import { subscribeClusterer } from '../src/subscriptions';

describe('clusterer subscriptions', () => {
  it('ignores (and logs) a lifecycle event without a candidate instead of failing on it, and keeps consuming', async () => {
    const busComplaints: string[] = [];
    const busLogger: BusLogger = { info() {}, warn: (_o, msg) => void busComplaints.push(msg), error: (_o, msg) => void busComplaints.push(msg) };
    const bus = createMemoryBus({ logger: busLogger, redeliveryDelayMs: 1 });
    const deps = { config: loadClustererConfig({}), tracker: new SeedTracker() } as unknown as ClustererDeps;
    const logger = createLogger('clusterer', 'silent');
    const warn = jest.spyOn(logger, 'warn');
    const subscriptions = await subscribeClusterer(bus, deps, logger);
    try {
      await bus.publish(Subjects.candidateRegistered, { candidate: undefined, created: true });
      await bus.publish(Subjects.candidateRetired, { candidate: undefined });
      await bus.publish(Subjects.candidateRegistered, { candidate: Candidate.fromPartial({ candidateId: 'c1' }), created: true });
      const tracked = () => {
        try {
          deps.tracker.get('c1');
          return true;
        } catch {
          return false; // NotFoundError until the registration is applied
        }
      };
      for (let i = 0; i < 500 && (warn.mock.calls.length < 2 || !tracked()); i++) await new Promise((r) => setImmediate(r));
      expect(deps.tracker.get('c1')).toMatchObject({ active: true });
      expect(warn.mock.calls.map(([fields, msg]) => [(fields as { subject: string }).subject, msg])).toEqual([
        [Subjects.candidateRegistered.name, 'lifecycle event without a candidate id; ignored'],
        [Subjects.candidateRetired.name, 'lifecycle event without a candidate id; ignored'],
      ]);
      // Acknowledged, not failed: the bus neither retried nor gave up on anything.
      expect(busComplaints).toEqual([]);
    } finally {
      await Promise.all(subscriptions.map((s) => s.stop()));
      await bus.close();
    }
  });
});
