import { ResourceExhaustedError } from '@ralm/platform/errors';
import { SeedBook, type Click } from '../src/domain/seed-book';

const NOW = 1_800_000_000_000;
const options = { seedCap: 4, dedupeCap: 1000, maxFutureSkewMs: 60_000, maxClickAgeMs: 86_400_000 };

function click(eventId: string, userId: string, candidateId = 'item-1', timestampMs = NOW - 1000): Click {
  return { eventId, userId, candidateId, timestampMs };
}

describe('SeedBook', () => {
  let book: SeedBook;
  beforeEach(() => {
    book = new SeedBook(options);
    book.register('item-1', 'sports', ['football', 'football', 'league'], NOW);
  });

  it('refuses a registration past the active-candidate cap until one retires or expires; re-registering and loading are never refused', () => {
    const capped = new SeedBook({ ...options, maxActiveCandidates: 2 });
    capped.register('a', '', [], NOW);
    capped.register('b', '', [], NOW);
    expect(() => capped.register('c', '', [], NOW)).toThrow(ResourceExhaustedError);
    expect(() => capped.register('c', '', [], NOW)).toThrow(/2 candidates are active, the most this collector holds \(MAX_ACTIVE_CANDIDATES\); retire some before registering 'c'/);
    expect(capped.register('a', 'news', [], NOW).created).toBe(false); // an update of an active one
    capped.retire('a', 'done', NOW);
    expect(capped.register('c', '', [], NOW).created).toBe(true);
    expect(capped.expireIdle(NOW + 10_000, 1_000).map((r) => r.candidateId)).toEqual(['b', 'c']);
    capped.register('d', '', [], NOW);
    // A restart loads what was accepted, even beyond a cap lowered since.
    const lowered = new SeedBook({ ...options, maxActiveCandidates: 1 });
    for (const id of ['x', 'y']) lowered.loadRecord({ ...capped.get('d'), candidateId: id });
    expect(() => lowered.register('z', '', [], NOW)).toThrow(ResourceExhaustedError);
  });

  it('keeps the latest distinct clickers up to the cap, newest first', () => {
    for (const [i, u] of ['u1', 'u2', 'u3', 'u1', 'u4', 'u5'].entries()) {
      expect(book.apply(click(`e${i}`, u), NOW).kind).toBe('applied');
    }
    // u2 and u3 are the oldest distinct clickers; u1 was refreshed by its repeat click, so u2 falls out first.
    expect(book.newestSeeds('item-1', 10)).toEqual(['u5', 'u4', 'u1', 'u3']);
    // Five distinct users joined (versions 1..5); u1's repeat only refreshed recency.
    expect(book.get('item-1')).toMatchObject({ totalClicks: 6, seedVersion: 5, tags: ['football', 'league'] });
  });

  it('applies an event id at most once', () => {
    expect(book.apply(click('e1', 'u1'), NOW)).toMatchObject({ kind: 'applied', seedCount: 1, seedVersion: 1 });
    expect(book.apply(click('e1', 'u2'), NOW)).toEqual({ kind: 'duplicate' });
    expect(book.seedCount('item-1')).toBe(1);
    expect(book.get('item-1').totalClicks).toBe(1);
  });

  it.each([
    [click('', 'u1'), 'invalid_event_id', 'event_id'],
    [click('e', ''), 'invalid_user_id', 'user_id'],
    [click('e', 'u', ''), 'invalid_candidate_id', 'candidate_id'],
    [click('e', 'u', 'item-1', 0), 'invalid_timestamp', 'timestamp_ms'],
    [click('e', 'u', 'item-1', NOW + 3_600_000), 'timestamp_in_future', 'timestamp_ms'],
    [click('e', 'u', 'item-1', NOW - 2 * 86_400_000), 'timestamp_too_old', 'timestamp_ms'],
    [click('e', 'u', 'nope'), 'unknown_candidate', 'candidate_id'],
    [click('e', 'u\u0000x'), 'invalid_user_id', 'user_id'],
  ])('rejects a bad click (%#) with its reason and field', (bad, reason, field) => {
    const outcome = book.apply(bad, NOW);
    expect(outcome).toMatchObject({ kind: 'rejected', rejection: { reason, field } });
    expect(book.get('item-1').totalClicks).toBe(0);
    // A rejected event id is not remembered: a corrected resend with the same id is applied.
    if (bad.eventId) expect(book.hasSeen(bad.eventId)).toBe(false);
  });

  it('refuses clicks for a retired candidate, for good', () => {
    book.apply(click('e1', 'u1'), NOW);
    expect(book.retire('item-1', 'campaign over', NOW)).toMatchObject({ state: 'retired', retiredReason: 'campaign over', retiredAtMs: NOW });
    expect(book.apply(click('e2', 'u2'), NOW)).toMatchObject({ kind: 'rejected', rejection: { reason: 'retired_candidate' } });
    expect(() => book.register('item-1', 'sports', [], NOW)).toThrow(expect.objectContaining({ name: 'FailedPreconditionError' }));
    expect(book.retire('item-1', 'again', NOW + 5).retiredAtMs).toBe(NOW);
    expect(book.seedCount('item-1')).toBe(1);
  });

  it('reports each changed candidate once per flush, however many clicks it got', () => {
    book.register('item-2', 'news', [], NOW);
    for (let i = 0; i < 10; i++) book.apply(click(`a${i}`, `u${i}`), NOW);
    book.apply(click('b0', 'u0', 'item-2'), NOW);
    expect(book.takeDirty().sort()).toEqual(['item-1', 'item-2']);
    expect(book.takeDirty()).toEqual([]);
  });

  it('throws NotFoundError for an unknown candidate', () => {
    expect(() => book.get('missing')).toThrow(expect.objectContaining({ name: 'NotFoundError' }));
  });
});
