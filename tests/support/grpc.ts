import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';

/** Awaits a call that must fail with `code`; returns the error so a test can look at its details and metadata. */
export async function expectStatus(call: Promise<unknown>, code: status): Promise<ServiceError> {
  const err = await call.then(
    (value) => {
      throw new Error(`expected ${status[code]}, but the call succeeded with ${JSON.stringify(value)}`);
    },
    (e: unknown) => e as ServiceError,
  );
  expect({ code: status[err.code], details: err.details }).toMatchObject({ code: status[code] });
  return err;
}

/** Every message of a server stream, in order. */
export function collect<T>(stream: ClientReadableStream<T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    stream.on('data', (m: T) => out.push(m));
    stream.on('error', reject);
    stream.on('end', () => resolve(out));
  });
}
