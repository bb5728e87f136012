import { Writable } from 'node:stream';
import { createLogger, FailedPreconditionError, idTag, NotFoundError } from '@ralm/platform';
import { errorFields } from '../src/bus/shared';

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
      log.warn({ userId: 'u-7', eventIds: ['evt-1', 'evt-2'] }, 'y');
    });
    expect(info).toMatchObject({ candidateId: idTag('cand-42'), users: 3, msg: 'x' });
    expect(warn).toMatchObject({ userId: idTag('u-7'), eventIds: '2 ids' });
    // Ids with a '-': a tag's hex digits can never spell one (a bare "e1" can: this test failed on it once).
    expect(JSON.stringify([info, warn])).not.toMatch(/cand-42|u-7|evt-1|evt-2/);
    expect(idTag('cand-42')).toBe(idTag('cand-42'));
    expect(idTag('cand-42')).not.toBe(idTag('cand-43'));
  });

  it('replaces the ids a line names, and those its errors quote, in every text of the line', () => {
    // Reproduced: the scorer's "GetClusters failed" warning carried "candidate 'c-secret' not found" in err.message.
    const retired = new FailedPreconditionError("candidate 'c-retired' is retired", { ids: ['c-retired'] });
    const wrapped = new Error('clustering failed', { cause: new NotFoundError('user', 'u-inner') });
    const out = lines('info', (log) => {
      log.warn({ err: new NotFoundError('candidate', 'c-secret'), candidateId: 'c-secret' }, 'GetClusters failed; retrying');
      log.warn({ subject: 'ralm.v1.x', ...errorFields(retired) }, 'bus handler failed; will redeliver');
      log.error({ err: wrapped, note: 'for u-inner' }, 'x');
      log.error(retired, 'about c-retired');
      log.info({ candidateId: 'c-9' }, 'loaded c-9');
    });
    const text = JSON.stringify(out);
    expect(text).not.toMatch(/c-secret|c-retired|u-inner|c-9/);
    expect(out[0]).toMatchObject({ candidateId: idTag('c-secret'), err: { type: 'NotFoundError', message: `candidate '${idTag('c-secret')}' not found` } });
    expect((out[0]!['err'] as { stack: string }).stack).toMatch(/logger\.test/);
    expect(out[1]).toMatchObject({ subject: 'ralm.v1.x', err: { name: 'FailedPreconditionError', message: `candidate '${idTag('c-retired')}' is retired` } });
    expect(out[2]).toMatchObject({ note: `for ${idTag('u-inner')}`, err: { message: 'clustering failed' } });
    expect(out[3]).toMatchObject({ msg: `about ${idTag('c-retired')}` });
    expect(out[4]).toMatchObject({ msg: `loaded ${idTag('c-9')}` });
  });

  it('leaves lines without ids as they are, errors included', () => {
    const [line] = lines('info', (log) => log.error({ err: new Error("file '/x' unreadable"), path: '/x' }, 'y'));
    expect(line).toMatchObject({ path: '/x', err: { type: 'Error', message: "file '/x' unreadable" } });
  });

  it('keeps them at debug', () => {
    const [debug] = lines('debug', (log) => log.debug({ candidateId: 'cand-42' }, 'z'));
    expect(debug).toMatchObject({ candidateId: 'cand-42' });
  });
});
