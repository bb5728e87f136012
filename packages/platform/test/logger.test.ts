import { Writable } from 'node:stream';
import { createLogger, idTag } from '@ralm/platform';

/** Lines a logger at `level` writes for the calls in `write`, parsed. */
function lines(level: string, write: (logger: ReturnType<typeof createLogger>) => void): Array<Record<string, unknown>> {
  const out: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (out.push(String(chunk)), done()) });
  write(createLogger('t', level, sink));
  return out.map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('createLogger', () => {
  it('replaces user, item and event ids by keyed tags at info and above, whatever the call site passed', () => {
    const [info, warn] = lines('debug', (log) => {
      log.info({ candidateId: 'cand-42', users: 3 }, 'x');
      log.warn({ userId: 'u-7', eventIds: ['e1', 'e2'] }, 'y');
    });
    expect(info).toMatchObject({ candidateId: idTag('cand-42'), users: 3, msg: 'x' });
    expect(warn).toMatchObject({ userId: idTag('u-7'), eventIds: '2 ids' });
    expect(JSON.stringify([info, warn])).not.toMatch(/cand-42|u-7|e1/);
    expect(idTag('cand-42')).toBe(idTag('cand-42'));
    expect(idTag('cand-42')).not.toBe(idTag('cand-43'));
  });

  it('keeps them at debug', () => {
    const [debug] = lines('debug', (log) => log.debug({ candidateId: 'cand-42' }, 'z'));
    expect(debug).toMatchObject({ candidateId: 'cand-42' });
  });
});
