import { synthesize, type Dataset } from '@ralm/data';
import { catalogOf, ControlRecommender, History, replayWindow, treatmentSession, type Pick, type Session } from '@ralm/eval';

/** Draws from a session the way the simulator does: nothing shown twice in the day. */
function day(session: Session, n: number): Pick[] {
  const shown = new Set<number>();
  const picks: Pick[] = [];
  for (let j = 0; j < n; j++) {
    const pick = session.next((i) => shown.has(i));
    if (!pick) break;
    shown.add(pick.item);
    picks.push(pick);
  }
  return picks;
}

/** Three users, two categories of three items; `events` as [user, item, label] in time order. */
function tiny(events: Array<[number, number, number]>): Dataset {
  return {
    schema: { fields: [] },
    users: { ids: ['a', 'b', 'c'], fields: new Map() },
    items: { ids: ['x0', 'x1', 'x2', 'y0', 'y1', 'y2'], category: ['x', 'x', 'x', 'y', 'y', 'y'], tags: [[], [], [], [], [], []] },
    events: {
      user: Int32Array.from(events, (e) => e[0]),
      item: Int32Array.from(events, (e) => e[1]),
      timestamp: Float64Array.from(events, (_, j) => 1_700_000_000 + j),
      label: Uint8Array.from(events, (e) => e[2]),
    },
    fingerprint: 'sha256:test',
  };
}

function controlOn(data: Dataset): { history: History; control: ControlRecommender } {
  const history = History.fromLog(data, catalogOf(data), Int32Array.from(data.events.user, (_, e) => e));
  const control = new ControlRecommender(history);
  control.refresh();
  return { history, control };
}

describe('the control recommender', () => {
  it('never shows a user the same item twice a day, nor an item they read before, and stops when nothing is left', () => {
    const data = synthesize({ users: 300, items: 40, seed: 5 });
    const window = replayWindow(data);
    const history = History.fromLog(data, catalogOf(data), window.pastEvents);
    const control = new ControlRecommender(history);
    control.refresh();
    for (let u = 0; u < 300; u += 7) {
      const picks = day(control.session(u), 100).map((p) => p.item);
      expect(new Set(picks).size).toBe(picks.length);
      for (const i of picks) expect(history.hasSeen(u, i)).toBe(false);
      expect(picks.length).toBe(40 - (history.seen[u]?.size ?? 0));
    }
  });

  it('ranks by smoothed item CTR, lifted by the categories the user clicks', () => {
    // x0 has the best CTR; user a clicked y items only, user c nothing at all.
    const { control } = controlOn(
      tiny([
        [1, 0, 1], [1, 0, 1], [1, 0, 1], [1, 0, 0],
        [1, 3, 0], [1, 3, 0], [1, 4, 0], [1, 1, 0],
        [0, 5, 1], [0, 5, 1], [0, 4, 1], [0, 5, 0],
      ]),
    );
    expect(day(control.session(2), 1)[0]!.item).toBe(0);
    // a read y5 and y4 (never shown again); its y taste puts y3 before the x items.
    expect(day(control.session(0), 2).map((p) => p.item)).toEqual([3, 0]);
  });
});

describe('the treatment session', () => {
  const { history, control } = controlOn(tiny([[1, 0, 1], [1, 1, 0], [1, 3, 0]]));
  const seen = (i: number) => history.hasSeen(0, i);

  it('with extension share 0 shows exactly what control shows', () => {
    const plain = day(control.session(0), 6);
    const treated = day(treatmentSession(control.session(0), Int32Array.of(5, 4), 0, 0.7, seen), 6);
    expect(treated).toEqual(plain);
  });

  it('gives every other slot to the look-alike list at share 0.5, and falls back to control when the list runs out', () => {
    const picks = day(treatmentSession(control.session(0), Int32Array.of(5, 4), 0.5, 0, seen), 6);
    expect(picks.map((p) => p.extensionSlot)).toEqual([false, true, false, true, false, true]);
    expect(picks.filter((p) => p.extension).map((p) => p.item)).toEqual([5, 4]);
    expect(picks[5]!.extension).toBe(false);
    expect(new Set(picks.map((p) => p.item)).size).toBe(6);
  });

  it('never extends with an item already shown that day or read before', () => {
    // User c: control's first pick is x0 (best CTR); the extension slot after it skips x0.
    const c = day(treatmentSession(control.session(2), Int32Array.of(0, 2), 0.5, 0, (i) => history.hasSeen(2, i)), 2);
    expect(c.map((p) => [p.item, p.extension])).toEqual([[0, false], [2, true]]);
    // User b read x0 before the day.
    const b = day(treatmentSession(control.session(1), Int32Array.of(0, 2), 1, 0, (i) => history.hasSeen(1, i)), 1);
    expect(b).toEqual([{ item: 2, extension: true, extensionSlot: true }]);
  });
});
