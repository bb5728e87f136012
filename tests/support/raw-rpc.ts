import { Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';

/** The three call shapes the contract uses (no bidirectional streams). */
export type Shape = 'unary' | 'server-stream' | 'client-stream';

export const shapeOf = (def: { requestStream: boolean; responseStream: boolean }): Shape => (def.requestStream ? 'client-stream' : def.responseStream ? 'server-stream' : 'unary');

const identity = (b: Buffer) => b;

/**
 * Sends `bytes` as the request to `path` over a raw client, as a client generated in
 * another language would, and resolves with the status name and details.
 */
export function sendRaw(client: Client, path: string, shape: Shape, bytes: Uint8Array, options: { timeoutMs?: number; metadata?: Metadata } = {}): Promise<{ code: string; details: string }> {
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  const metadata = options.metadata ?? new Metadata();
  const done = (err: ServiceError | null) => ({ code: err ? status[err.code]! : 'OK', details: err?.details ?? '' });
  return new Promise((resolve) => {
    if (shape === 'unary') {
      client.makeUnaryRequest(path, identity, identity, Buffer.from(bytes), metadata, { deadline }, (err) => resolve(done(err)));
    } else if (shape === 'server-stream') {
      const call = client.makeServerStreamRequest(path, identity, identity, Buffer.from(bytes), metadata, { deadline });
      call.on('data', () => undefined);
      call.on('error', (err: ServiceError) => resolve(done(err)));
      call.on('end', () => resolve(done(null)));
    } else {
      const call = client.makeClientStreamRequest(path, identity, identity, metadata, { deadline }, (err) => resolve(done(err)));
      call.write(Buffer.from(bytes));
      call.end();
    }
  });
}
