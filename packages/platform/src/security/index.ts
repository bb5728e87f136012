import type { ChannelCredentials } from '@grpc/grpc-js';
import type { CommonConfig } from '../config';
import { createAuthenticator, type Authenticator } from './auth';
import { clientCredentials, tlsSettings, type TlsSettings } from './tls';

export * from './auth';
export * from './policy';
export * from './tls';
export * from './nats-auth';
export { dirWithin, openWithin, realPathWithin } from './confine';

export type SecurityConfig = Pick<
  CommonConfig,
  | 'GRPC_HOST'
  | 'GRPC_TLS'
  | 'GRPC_TLS_CERT_FILE'
  | 'GRPC_TLS_KEY_FILE'
  | 'GRPC_TLS_CA_FILE'
  | 'GRPC_TLS_RELOAD_SECONDS'
  | 'GRPC_AUTH'
  | 'AUTH_JWT_JWKS_FILE'
  | 'AUTH_JWT_JWKS_URL'
  | 'AUTH_JWT_ISSUER'
  | 'AUTH_JWT_AUDIENCE'
  | 'AUTH_JWT_ROLES_CLAIM'
  | 'AUTH_JWT_ALGORITHMS'
  | 'GRPC_CLIENT_TOKEN_FILE'
>;

/** A server's transport and caller checks from its config; a setting that cannot work fails the start (ConfigError). */
export function serverSecurity(config: SecurityConfig): { tls: TlsSettings; authenticator: Authenticator | undefined } {
  return { tls: tlsSettings(config), authenticator: createAuthenticator(config) };
}

/** Credentials this service's clients of other RALM services use: the same CA, its own certificate, its token. */
export function peerCredentials(config: SecurityConfig): ChannelCredentials {
  return clientCredentials(tlsSettings(config), config.GRPC_CLIENT_TOKEN_FILE);
}
