import { z } from 'zod';
import { commonConfigSchema, ConfigError, env, loadConfig, lookalikeRulesShape } from '@ralm/platform';

describe('loadConfig', () => {
  const schema = z.object({ PORT: env.port(50051), NAME: z.string().min(1), RATE: env.fraction(0.5), ON: env.bool(false) });

  it('applies defaults, coerces types and freezes the result', () => {
    const config = loadConfig(schema, { NAME: 'x', ON: 'yes', UNRELATED: 'ignored' });
    expect(config).toEqual({ PORT: 50051, NAME: 'x', RATE: 0.5, ON: true });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names a missing required key', () => {
    expect(() => loadConfig(schema, {})).toThrow(new ConfigError('NAME', 'is required but not set'));
  });

  it('names a malformed key and shows the bad value', () => {
    expect(() => loadConfig(schema, { NAME: 'x', PORT: '70000' })).toThrow(/^config PORT: .*got '70000'/);
    expect(() => loadConfig(schema, { NAME: 'x', RATE: 'lots' })).toThrow(/^config RATE: /);
    expect(() => loadConfig(schema, { NAME: 'x', ON: 'maybe' })).toThrow(/^config ON: /);
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig(schema, { NAME: 'x', PORT: '' }).PORT).toBe(50051);
  });

  it.each(['nats://nats:4222', 'nats://a:4222, tls://b:4222,ws://c:8080', 'wss://user:pw@nats.example.com'])('accepts NATS_URL %s', (url) => {
    expect(loadConfig(commonConfigSchema, { NATS_URL: url }).NATS_URL).toBe(url);
  });

  it.each(['nats:4222', 'localhost:4222', 'http://nats:4222', 'nats://', 'nats://a:4222,', 'nats://a:4222,b:4222'])('refuses NATS_URL %s, naming it', (url) => {
    expect(() => loadConfig(commonConfigSchema, { NATS_URL: url })).toThrow(
      new ConfigError('NATS_URL', `must be one or more comma-separated nats://, tls://, ws:// or wss:// URLs with a host, e.g. nats://nats:4222 (got '${url}')`),
    );
  });

  it('gives every service the same common keys and defaults', () => {
    expect(loadConfig(commonConfigSchema, {})).toEqual({
      GRPC_PORT: 0,
      GRPC_HOST: '127.0.0.1',
      METRICS_PORT: 0,
      STATE_DIR: '.ralm/state',
      SHUTDOWN_GRACE_SECONDS: 10,
      LOG_LEVEL: 'info',
      RPC_LIMITS: {},
      GRPC_MAX_CONCURRENT_STREAMS: 1000,
      NATS_REPLICAS: 1,
      NATS_CONNECT_TIMEOUT_MS: 20000,
      GRPC_TLS: 'off',
      GRPC_TLS_RELOAD_SECONDS: 60,
      GRPC_AUTH: 'off',
      AUTH_JWT_ROLES_CLAIM: 'roles',
      AUTH_JWT_ALGORITHMS: ['RS256', 'ES256', 'EdDSA'],
    });
  });
});

describe('lookalikeRulesShape', () => {
  const schema = z.object({ ...lookalikeRulesShape });

  it('gives every service the same defaults', () => {
    expect(loadConfig(schema, {})).toMatchObject({ SERVABLE_MIN_SEEDS: 100, CLUSTER_K: 20 });
  });

  it.each([
    ['CLUSTER_MIN_SEEDS', 'SERVABLE_MIN_SEEDS'],
    ['SCORER_K', 'CLUSTER_K'],
  ])('refuses the retired %s, naming %s, instead of ignoring it', (old, replacement) => {
    expect(() => loadConfig(schema, { [old]: '50' })).toThrow(new RegExp(`${old}.*replaced by ${replacement}`));
  });

  it('bounds k', () => {
    expect(() => loadConfig(schema, { CLUSTER_K: '0' })).toThrow(/CLUSTER_K/);
  });
});

describe('RPC_LIMITS', () => {
  it('parses Method=concurrency/queue pairs, by short or service-qualified name', () => {
    const config = loadConfig(commonConfigSchema, { RPC_LIMITS: 'Score=64/512, LookalikeScorerService/ScoreBatch=512/0' });
    expect(config.RPC_LIMITS).toEqual({ Score: { concurrency: 64, queue: 512 }, 'LookalikeScorerService/ScoreBatch': { concurrency: 512, queue: 0 } });
    expect(loadConfig(commonConfigSchema, {}).RPC_LIMITS).toEqual({});
  });

  it.each(['Score=0/10', 'Score=10', 'Score=a/b', '=1/1', 'Score=1/1;rm'])('refuses %s, naming the variable', (bad) => {
    expect(() => loadConfig(commonConfigSchema, { RPC_LIMITS: bad })).toThrow(/config RPC_LIMITS: .*is not Method=concurrency\/queue/);
  });
});
