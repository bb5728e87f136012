import fs from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import type { Metadata } from '@grpc/grpc-js';
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { ConfigError, PermissionDeniedError, ResourceExhaustedError, UnauthenticatedError } from '../errors';
import { rolesFor } from './policy';
import { isLoopback } from './confine';

/** Who is calling, as far as the transport or a token proves it. */
export interface Identity {
  readonly via: 'mtls' | 'jwt';
  readonly roles: readonly string[];
}

/** What a server call offers to prove its caller: metadata and, over mTLS, the verified peer certificate. */
export interface CallCredentialsSeen {
  readonly metadata: Metadata;
  readonly peerCertificate?: PeerCertificate;
}

export interface Authenticator {
  /** The caller's identity, or UnauthenticatedError saying what was missing or wrong. */
  authenticate(call: CallCredentialsSeen): Promise<Identity>;
}

/** The config keys auth reads (commonConfigShape's GRPC_AUTH and AUTH_JWT_*). */
export interface AuthConfig {
  GRPC_AUTH: 'off' | 'required';
  GRPC_TLS: 'off' | 'tls' | 'mtls';
  GRPC_HOST: string;
  AUTH_JWT_JWKS_FILE?: string;
  AUTH_JWT_JWKS_URL?: string;
  AUTH_JWT_ISSUER?: string;
  AUTH_JWT_AUDIENCE?: string;
  AUTH_JWT_ROLES_CLAIM: string;
  AUTH_JWT_ALGORITHMS: string[];
  GRPC_TLS_RELOAD_SECONDS: number;
}

/** Roles a verified client certificate carries: its subject's organizational units. */
export function certificateRoles(cert: PeerCertificate): string[] {
  const ou = cert.subject?.OU as string | string[] | undefined;
  return ou === undefined ? [] : Array.isArray(ou) ? ou : [ou];
}

function claimRoles(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/**
 * A JWKS read from a file (a mounted Secret) and re-read when it changes, so a rotated
 * signing key is accepted without a restart.
 */
function jwksFromFile(file: string, reloadMs: number): JWTVerifyGetKey {
  let loadedAt = 0;
  let mtimeMs = -1;
  let keys: JWTVerifyGetKey | undefined;
  const load = () => {
    const stat = fs.statSync(file);
    if (stat.mtimeMs !== mtimeMs || !keys) {
      keys = createLocalJWKSet(JSON.parse(fs.readFileSync(file, 'utf8')));
      mtimeMs = stat.mtimeMs;
    }
    loadedAt = Date.now();
  };
  load();
  return (header, token) => {
    if (Date.now() - loadedAt >= reloadMs) {
      try {
        load();
      } catch {
        // A file caught mid-rotation keeps the keys read last; the next call tries again.
      }
    }
    return keys!(header, token);
  };
}

/** The one place a bearer token is checked: signature by a configured key, issuer, audience, expiry. */
function jwtVerifier(config: AuthConfig): ((token: string) => Promise<Identity>) | undefined {
  const { AUTH_JWT_JWKS_FILE: file, AUTH_JWT_JWKS_URL: url } = config;
  if (!file && !url) return undefined;
  if (file && url) throw new ConfigError('AUTH_JWT_JWKS_URL', 'set AUTH_JWT_JWKS_FILE or AUTH_JWT_JWKS_URL, not both');
  // Over plain http the signing keys could be swapped in transit.
  if (url && new URL(url).protocol !== 'https:') throw new ConfigError('AUTH_JWT_JWKS_URL', 'must be an https:// URL');
  if (!config.AUTH_JWT_ISSUER) throw new ConfigError('AUTH_JWT_ISSUER', 'is required with a JWKS: a token from another issuer must not pass');
  if (!config.AUTH_JWT_AUDIENCE) throw new ConfigError('AUTH_JWT_AUDIENCE', 'is required with a JWKS: a token minted for another service must not pass');
  let keys: JWTVerifyGetKey;
  try {
    keys = file ? jwksFromFile(file, config.GRPC_TLS_RELOAD_SECONDS * 1000) : createRemoteJWKSet(new URL(url!));
  } catch (err) {
    throw new ConfigError(file ? 'AUTH_JWT_JWKS_FILE' : 'AUTH_JWT_JWKS_URL', `cannot be read as a JWKS (${(err as Error).message})`);
  }
  // jose checks `exp` only when present: a token without one would be valid forever.
  const options = { issuer: config.AUTH_JWT_ISSUER, audience: config.AUTH_JWT_AUDIENCE, algorithms: config.AUTH_JWT_ALGORITHMS, requiredClaims: ['exp'] };
  const verified = new VerifiedTokens();
  let pending = 0;
  return async (token) => {
    const known = verified.get(token, Date.now());
    if (known) return known;
    if (token.length > MAX_TOKEN_CHARS) throw new UnauthenticatedError(`bearer token refused (longer than ${MAX_TOKEN_CHARS} characters)`);
    // Verification runs before admission (a refused caller must take no queue slot), so it
    // is bounded on its own: a flood of forged tokens costs at most this many signature
    // checks at a time, and the rest are turned away before any work.
    if (pending >= MAX_PENDING_VERIFICATIONS) throw new ResourceExhaustedError(`${pending} bearer tokens are being verified; retry shortly`);
    pending++;
    try {
      const { payload } = await jwtVerify(token, keys, options);
      const identity: Identity = { via: 'jwt', roles: claimRoles(payload[config.AUTH_JWT_ROLES_CLAIM]) };
      verified.set(token, identity, Math.min(payload.exp! * 1000, Date.now() + VERIFIED_TTL_MS));
      return identity;
    } catch (err) {
      // jose's codes say why (expired, bad signature, wrong audience) without echoing the token.
      const code = err instanceof joseErrors.JOSEError ? err.code : 'ERR_JWT_INVALID';
      throw new UnauthenticatedError(`bearer token refused (${code})`);
    } finally {
      pending--;
    }
  };
}

// A recommender sends the same token on every call until it renews it: its signature is
// checked once, and the identity kept until the token expires or this long has passed (a
// key removed from the JWKS stops a cached token within it).
const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX = 4096;
const MAX_PENDING_VERIFICATIONS = 256;
const MAX_TOKEN_CHARS = 8192;

/** Tokens whose signature passed, by token, oldest dropped first past VERIFIED_MAX. */
class VerifiedTokens {
  private readonly entries = new Map<string, { identity: Identity; untilMs: number }>();

  get(token: string, nowMs: number): Identity | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.untilMs <= nowMs) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.identity;
  }

  set(token: string, identity: Identity, untilMs: number): void {
    this.entries.delete(token);
    this.entries.set(token, { identity, untilMs });
    if (this.entries.size > VERIFIED_MAX) this.entries.delete(this.entries.keys().next().value!);
  }
}

/**
 * The authenticator a config asks for, or undefined when GRPC_AUTH=off. Refuses
 * settings under which no caller could ever prove anything (auth on without mTLS or a
 * JWKS) and bearer tokens over plaintext beyond loopback.
 */
export function createAuthenticator(config: AuthConfig): Authenticator | undefined {
  if (config.GRPC_AUTH === 'off') return undefined;
  const verifyJwt = jwtVerifier(config);
  if (!verifyJwt && config.GRPC_TLS !== 'mtls') {
    throw new ConfigError('GRPC_AUTH', 'required needs a way to prove a caller: GRPC_TLS=mtls (client certificates) or AUTH_JWT_JWKS_FILE / AUTH_JWT_JWKS_URL (bearer tokens)');
  }
  if (verifyJwt && config.GRPC_TLS === 'off' && !isLoopback(config.GRPC_HOST)) {
    throw new ConfigError('GRPC_TLS', `is off on ${config.GRPC_HOST}: bearer tokens would cross the network in plaintext; set GRPC_TLS=tls or mtls`);
  }
  return {
    async authenticate(call) {
      const header = call.metadata.get('authorization');
      if (header.length > 0) {
        const match = /^Bearer\s+(\S+)$/i.exec(String(header[0]));
        if (!match) throw new UnauthenticatedError('authorization metadata must be "Bearer <token>"');
        if (!verifyJwt) throw new UnauthenticatedError('bearer tokens are not accepted by this server (no AUTH_JWT_JWKS_* configured)');
        return verifyJwt(match[1]!);
      }
      if (call.peerCertificate) return { via: 'mtls', roles: certificateRoles(call.peerCertificate) };
      throw new UnauthenticatedError(config.GRPC_TLS === 'mtls' ? 'no verified client certificate and no bearer token' : 'no bearer token');
    },
  };
}

/** PERMISSION_DENIED unless one of the caller's roles may call `method` (RPC_POLICY). */
export function authorize(identity: Identity, method: string): void {
  const allowed = rolesFor(method);
  if (identity.roles.some((r) => allowed.includes(r as never))) return;
  const held = identity.roles.length ? identity.roles.join(', ') : 'none';
  throw new PermissionDeniedError(`${method} needs role ${allowed.join(' or ') || '(nobody may call it)'}; the caller (${identity.via}) has ${held}`);
}
