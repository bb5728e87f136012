import { AbortedError, errorFromWire, errorToWire, InvalidArgumentError, NoResponderError, NotFoundError, OverloadedError, toGrpcStatus } from '@ralm/platform';

/** Typed errors crossing from a partition's owner keep their status (grpc/status.ts is the oracle). */
describe('errors on the wire', () => {
  it.each([
    ['InvalidArgumentError', new InvalidArgumentError('tags[1]', 'duplicates tag')],
    ['NotFoundError', new NotFoundError('candidate', 'c-1')],
    ['AbortedError', new AbortedError('listing gone')],
    // Subclasses travel as the nearest class the table knows, never as INTERNAL.
    ['a subclass of UnavailableError', new NoResponderError('ralm.rpc.x')],
    ['a subclass of ResourceExhaustedError', new OverloadedError('Score', 'queue_full', 50, 'queue full')],
  ])('%s maps to the same gRPC status after the trip', (_name, err) => {
    const back = errorFromWire(JSON.parse(JSON.stringify(errorToWire(err))));
    expect(toGrpcStatus(back).code).toBe(toGrpcStatus(err).code);
    expect(back.message).toBe(err.message);
  });

  it('keeps the field of an invalid argument and the ids an error quotes', () => {
    const back = errorFromWire(errorToWire(new InvalidArgumentError('tags[1]', 'duplicates tag'))) as InvalidArgumentError;
    expect([back.field, back.reason]).toEqual(['tags[1]', 'duplicates tag']);
    expect((errorFromWire(errorToWire(new NotFoundError('candidate', 'c-9'))) as NotFoundError).ids).toEqual(['c-9']);
  });

  it('sends anything untyped as a plain error (INTERNAL, as the owner would answer)', () => {
    expect(errorToWire(new Error('boom'))).toEqual({ name: 'Error', message: 'boom' });
  });
});
