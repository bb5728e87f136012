/**
 * Caller identity and the policy table: bearer tokens verified by jose against a JWKS
 * file (real signatures, real expiry), roles from certificates' OUs, and the table
 * covering exactly the RPCs of the contract.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { authorize, createAuthenticator, findProtoRoot, RPC_POLICY, type AuthConfig } from '@ralm/platform';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ralm-auth-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let signing: CryptoKey;
let other: CryptoKey;
const jwksFile = path.join(dir, 'jwks.json');
const config = (over: Partial<AuthConfig> = {}): AuthConfig => ({
  GRPC_AUTH: 'required',
  GRPC_TLS: 'tls',
  GRPC_HOST: '0.0.0.0',
  AUTH_JWT_JWKS_FILE: jwksFile,
  AUTH_JWT_ISSUER: 'https://idp.example',
  AUTH_JWT_AUDIENCE: 'ralm',
  AUTH_JWT_ROLES_CLAIM: 'roles',
  AUTH_JWT_ALGORITHMS: ['ES256'],
  GRPC_TLS_RELOAD_SECONDS: 60,
  ...over,
});

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  signing = pair.privateKey;
  other = (await generateKeyPair('ES256')).privateKey;
  fs.writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] }));
});

const token = (claims: Record<string, unknown>, options: { key?: CryptoKey; iss?: string; aud?: string; exp?: string | number } = {}) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(options.iss ?? 'https://idp.example')
    .setAudience(options.aud ?? 'ralm')
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '5m')
    .sign(options.key ?? signing);

const withBearer = (value: string) => {
  const metadata = new Metadata();
  metadata.set('authorization', value);
  return { metadata };
};

describe('bearer tokens', () => {
  it('bounds the verifications in flight: a flood of forged tokens is turned away past 256, before any signature check', async () => {
    const auth = createAuthenticator(config())!;
    const forged = await Promise.all(Array.from({ length: 300 }, (_, i) => token({ roles: ['operator'], n: i }, { key: other })));
    const outcomes = await Promise.all(forged.map((t) => auth.authenticate(withBearer(`Bearer ${t}`)).then(() => 'ok', (err: Error) => err.name)));
    expect(outcomes.filter((o) => o === 'ResourceExhaustedError')).toHaveLength(44);
    expect(outcomes.filter((o) => o === 'UnauthenticatedError')).toHaveLength(256);
    // Once they are done, the next is checked again.
    await expect(auth.authenticate(withBearer(`Bearer ${forged[0]}`))).rejects.toMatchObject({ name: 'UnauthenticatedError' });
  });

  it('keeps a verified token only until it expires', async () => {
    const auth = createAuthenticator(config())!;
    const shortLived = await token({ roles: ['operator'] }, { exp: Math.floor(Date.now() / 1000) + 2 });
    await expect(auth.authenticate(withBearer(`Bearer ${shortLived}`))).resolves.toEqual({ via: 'jwt', roles: ['operator'] });
    await expect(auth.authenticate(withBearer(`Bearer ${shortLived}`))).resolves.toEqual({ via: 'jwt', roles: ['operator'] });
    await new Promise((r) => setTimeout(r, 2100));
    await expect(auth.authenticate(withBearer(`Bearer ${shortLived}`))).rejects.toMatchObject({ message: expect.stringMatching(/ERR_JWT_EXPIRED/) });
  });

  it('refuses a token longer than 8192 characters unread', async () => {
    const auth = createAuthenticator(config())!;
    await expect(auth.authenticate(withBearer(`Bearer ${'a'.repeat(9000)}`))).rejects.toMatchObject({ name: 'UnauthenticatedError', message: expect.stringMatching(/longer than 8192/) });
  });

  it('accepts a token signed by a JWKS key, for this issuer and audience, and reads its roles', async () => {
    const auth = createAuthenticator(config())!;
    await expect(auth.authenticate(withBearer(`Bearer ${await token({ roles: ['recommender'] })}`))).resolves.toEqual({ via: 'jwt', roles: ['recommender'] });
    await expect(auth.authenticate(withBearer(`Bearer ${await token({ roles: 'operator service' })}`))).resolves.toEqual({ via: 'jwt', roles: ['operator', 'service'] });
  });

  it.each([
    ['another key', () => token({ roles: ['operator'] }, { key: other }), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED|ERR_JWKS_NO_MATCHING_KEY/],
    ['another issuer', () => token({ roles: ['operator'] }, { iss: 'https://evil.example' }), /ERR_JWT_CLAIM_VALIDATION_FAILED/],
    ['another audience', () => token({ roles: ['operator'] }, { aud: 'other-service' }), /ERR_JWT_CLAIM_VALIDATION_FAILED/],
    ['an expired token', () => token({ roles: ['operator'] }, { exp: Math.floor(Date.now() / 1000) - 120 }), /ERR_JWT_EXPIRED/],
    ['alg none', async () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"roles":["operator"],"iss":"https://idp.example","aud":"ralm"}').toString('base64url')}.`, /ERR_JOSE_ALG_NOT_ALLOWED|ERR_JWS_INVALID/],
    ['garbage', async () => 'not-a-jwt', /ERR_JWS_INVALID/],
    ['a token without exp (valid forever)', () => new SignJWT({ roles: ['operator'] }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer('https://idp.example').setAudience('ralm').sign(signing), /ERR_JWT_CLAIM_VALIDATION_FAILED/],
  ])('refuses %s as UNAUTHENTICATED, naming why and never echoing the token', async (_, make, code) => {
    const auth = createAuthenticator(config())!;
    const jwt = await make();
    const err = (await auth.authenticate(withBearer(`Bearer ${jwt}`)).catch((e: Error) => e)) as Error;
    expect(err.name).toBe('UnauthenticatedError');
    expect(err.message).toMatch(code);
    expect(err.message).not.toContain(jwt.slice(0, 20));
  });

  it('refuses a malformed header, a token where none are accepted, and no credentials at all', async () => {
    const auth = createAuthenticator(config())!;
    await expect(auth.authenticate(withBearer('Basic dXNlcjpwYXNz'))).rejects.toMatchObject({ name: 'UnauthenticatedError', message: expect.stringMatching(/Bearer <token>/) });
    await expect(auth.authenticate({ metadata: new Metadata() })).rejects.toMatchObject({ name: 'UnauthenticatedError', message: 'no bearer token' });
    const mtlsOnly = createAuthenticator(config({ GRPC_TLS: 'mtls', AUTH_JWT_JWKS_FILE: undefined }))!;
    await expect(mtlsOnly.authenticate(withBearer(`Bearer ${await token({ roles: ['operator'] })}`))).rejects.toMatchObject({ message: expect.stringMatching(/not accepted by this server/) });
    await expect(mtlsOnly.authenticate({ metadata: new Metadata() })).rejects.toMatchObject({ message: 'no verified client certificate and no bearer token' });
  });

  it('reads a rotated JWKS file without a restart', async () => {
    const rotated = path.join(dir, 'rotating.json');
    fs.copyFileSync(jwksFile, rotated);
    const auth = createAuthenticator(config({ AUTH_JWT_JWKS_FILE: rotated, GRPC_TLS_RELOAD_SECONDS: 1 }))!;
    const fresh = await generateKeyPair('ES256');
    const signedByFresh = await new SignJWT({ roles: ['operator'] }).setProtectedHeader({ alg: 'ES256', kid: 'k2' }).setIssuer('https://idp.example').setAudience('ralm').setExpirationTime('5m').sign(fresh.privateKey);
    await expect(auth.authenticate(withBearer(`Bearer ${signedByFresh}`))).rejects.toMatchObject({ name: 'UnauthenticatedError' });
    fs.writeFileSync(rotated, JSON.stringify({ keys: [{ ...(await exportJWK(fresh.publicKey)), kid: 'k2', alg: 'ES256' }] }));
    fs.utimesSync(rotated, new Date(), new Date(Date.now() + 5000));
    await new Promise((r) => setTimeout(r, 1100));
    await expect(auth.authenticate(withBearer(`Bearer ${signedByFresh}`))).resolves.toMatchObject({ roles: ['operator'] });
  });

  it('refuses settings under which tokens cannot be trusted', () => {
    expect(() => createAuthenticator(config({ AUTH_JWT_ISSUER: undefined }))).toThrow(/AUTH_JWT_ISSUER: is required/);
    expect(() => createAuthenticator(config({ AUTH_JWT_AUDIENCE: undefined }))).toThrow(/AUTH_JWT_AUDIENCE: is required/);
    expect(() => createAuthenticator(config({ AUTH_JWT_JWKS_FILE: undefined, AUTH_JWT_JWKS_URL: 'http://idp.example/jwks' }))).toThrow(/AUTH_JWT_JWKS_URL: must be an https/);
    expect(() => createAuthenticator(config({ GRPC_TLS: 'off' }))).toThrow(/bearer tokens would cross the network in plaintext/);
    expect(createAuthenticator(config({ GRPC_TLS: 'off', GRPC_HOST: '127.0.0.1' }))).toBeDefined();
    expect(createAuthenticator(config({ GRPC_AUTH: 'off' }))).toBeUndefined();
  });
});

describe('the policy table', () => {
  it('names every RPC of the contract, and nothing else', () => {
    const dir = path.join(findProtoRoot(), 'ralm', 'v1');
    const contract: string[] = [];
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.proto'))) {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      for (const block of text.matchAll(/^service\s+(\w+)\s*\{([\s\S]*?)^\}/gm)) {
        for (const rpc of block[2]!.matchAll(/^\s*rpc\s+(\w+)/gm)) contract.push(`${block[1]}/${rpc[1]}`);
      }
    }
    expect(contract.length).toBeGreaterThan(15);
    expect(Object.keys(RPC_POLICY).sort()).toEqual(contract.sort());
  });

  it('allows a call when one of the roles is listed, PERMISSION_DENIED otherwise', () => {
    expect(() => authorize({ via: 'mtls', roles: ['recommender'] }, 'LookalikeScorerService/Score')).not.toThrow();
    expect(() => authorize({ via: 'mtls', roles: ['x', 'operator'] }, 'ClustererService/Recluster')).not.toThrow();
    expect(() => authorize({ via: 'jwt', roles: ['recommender'] }, 'ClustererService/Recluster')).toThrow(expect.objectContaining({ name: 'PermissionDeniedError', message: expect.stringMatching(/needs role operator; the caller \(jwt\) has recommender/) }));
    expect(() => authorize({ via: 'mtls', roles: [] }, 'TrainerService/StartTraining')).toThrow(/has none/);
    expect(() => authorize({ via: 'mtls', roles: ['operator'] }, 'NoSuch/Method')).toThrow(/nobody may call it/);
  });
});
