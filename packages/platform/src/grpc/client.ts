import {
  credentials,
  makeGenericClientConstructor,
  Metadata,
  type CallOptions,
  type ChannelCredentials,
  type Client,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** Promise form of a generated unary client method; `timeoutMs` becomes the call's deadline. */
export function callUnary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, options: { timeoutMs?: number } = {}): Promise<Res> {
  const callOptions: Partial<CallOptions> = options.timeoutMs ? { deadline: Date.now() + options.timeoutMs } : {};
  return new Promise<Res>((resolve, reject) =>
    method(request, new Metadata(), callOptions, (err, response) => (err ? reject(err) : resolve(response))),
  );
}

export type HealthStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN' | 'UNREACHABLE';

const HealthClient = makeGenericClientConstructor(healthService, 'grpc.health.v1.Health');

/** grpc.health.v1 Check against `address`; `service` '' asks for the whole server. Never throws. */
export async function checkHealth(address: string, service = '', timeoutMs = 2000, creds: ChannelCredentials = credentials.createInsecure()): Promise<HealthStatus> {
  const client = new HealthClient(address, creds) as unknown as Client & {
    check: UnaryMethod<{ service: string }, { status: HealthStatus }>;
  };
  try {
    const reply = await callUnary(client.check.bind(client), { service }, { timeoutMs });
    return reply.status;
  } catch (err) {
    const code = (err as ServiceError).code;
    return code === 5 ? 'SERVICE_UNKNOWN' : 'UNREACHABLE';
  } finally {
    client.close();
  }
}
