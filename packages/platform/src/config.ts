import { z } from 'zod';
import { ConfigError } from './errors';

/**
 * Parses environment variables once, against a zod schema whose keys are the
 * variable names. Returns a frozen typed object; the first missing or malformed
 * key raises ConfigError naming it. Only services' config.ts call this.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv): Readonly<z.output<S>> {
  // Empty strings mean "unset" so `FOO= cmd` falls back to the default.
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0] ?? '?');
    const reason = cleaned[key] === undefined ? 'is required but not set' : `${issue.message} (got '${cleaned[key]}')`;
    throw new ConfigError(key, reason);
  }
  return Object.freeze(parsed.data);
}

/** Reusable field parsers so every service spells the same variable the same way. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  host: (fallback: string) => z.string().min(1).default(fallback),
  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  nonNegativeInt: (fallback: number) => z.coerce.number().int().min(0).default(fallback),
  fraction: (fallback: number) => z.coerce.number().min(0).max(1).default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  optionalUrl: () => z.url().optional(),
  /** One or more comma-separated NATS server URLs, each with a scheme nats.js dials and a host. */
  natsUrls: () =>
    z
      .string()
      .refine(isNatsUrlList, 'must be one or more comma-separated nats://, tls://, ws:// or wss:// URLs with a host, e.g. nats://nats:4222')
      .optional(),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  path: (fallback: string) => z.string().min(1).default(fallback),
  /** A string read by `parse`, which throws with the reason (shown with the variable's name) when it is malformed. */
  parsed: <T>(fallback: string, parse: (text: string) => T) =>
    z
      .string()
      .default(fallback)
      .transform((text, ctx) => {
        try {
          return parse(text);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
          return z.NEVER;
        }
      }),
  /** A model version directory name under MODEL_ROOT (no path separators, no leading dot); unset or empty = not pinned. */
  modelVersion: () =>
    z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a version directory name under MODEL_ROOT, e.g. 20261128T153000-1a2b3c4d')
      .optional(),
};

/**
 * `Method=concurrency/queue` pairs, comma separated, e.g. `Score=64/512,LookalikeScorerService/ScoreBatch=512/2048`:
 * admission limits per gRPC method, overriding the service's defaults.
 */
export function parseRpcLimits(text: string): Record<string, { concurrency: number; queue: number }> {
  const limits: Record<string, { concurrency: number; queue: number }> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^([A-Za-z][A-Za-z0-9]*(?:\/[A-Za-z][A-Za-z0-9]*)?)=(\d{1,9})\/(\d{1,9})$/.exec(part);
    if (!match || Number(match[2]) < 1) throw new Error(`'${part.slice(0, 80)}' is not Method=concurrency/queue with concurrency >= 1 (e.g. Score=64/512)`);
    limits[match[1]!] = { concurrency: Number(match[2]), queue: Number(match[3]) };
  }
  return limits;
}

const NATS_SCHEMES = new Set(['nats:', 'tls:', 'ws:', 'wss:']);

function isNatsUrlList(value: string): boolean {
  return value.split(',').every((part) => {
    const text = part.trim();
    if (!URL.canParse(text)) return false;
    const url = new URL(text);
    return NATS_SCHEMES.has(url.protocol) && url.hostname !== '';
  });
}

/** Variables every service understands; services extend this shape. */
export const commonConfigShape = {
  /** gRPC listen port; 0 picks a free port (tests, `ralm up`). */
  GRPC_PORT: env.port(0),
  /** Address to bind; loopback by default, 0.0.0.0 in containers. */
  GRPC_HOST: env.host('127.0.0.1'),
  /** Prometheus `/metrics` HTTP port; 0 picks a free port. */
  METRICS_PORT: env.port(0),
  /** NATS server URL(s), comma separated. Unset = embedded in-memory bus (single process only). */
  NATS_URL: env.natsUrls(),
  /** NATS login, one way at most (k8s/values/nats.yaml gives each service its own user and subjects). */
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().min(1).optional(),
  NATS_TOKEN: z.string().min(1).optional(),
  /** An nkey seed file (`SU…`, from a Secret); re-read at every reconnect. */
  NATS_NKEY_SEED_FILE: z.string().min(1).optional(),
  /** A creds file (user JWT + seed, decentralized auth); re-read at every reconnect. */
  NATS_CREDS_FILE: z.string().min(1).optional(),
  /** CA bundle the NATS server's certificate is verified against (use tls:// URLs to require TLS). */
  NATS_TLS_CA_FILE: z.string().min(1).optional(),
  /** Client certificate and key, for a NATS server that verifies clients (`verify: true`). */
  NATS_TLS_CERT_FILE: z.string().min(1).optional(),
  NATS_TLS_KEY_FILE: z.string().min(1).optional(),
  /**
   * Prefix of this connection's reply subjects (nats.js `inboxPrefix`), e.g.
   * `_INBOX_ralm-scorer`. With per-service users each may subscribe only to its own: on the
   * shared `_INBOX.>` anyone could read the replies — JetStream deliveries included — of others.
   */
  NATS_INBOX_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'must be a subject without wildcards, e.g. _INBOX_ralm-scorer')
    .optional(),
  /**
   * Milliseconds the first NATS connection may take. A server that drops a TLS client
   * without an acceptable certificate is seen only as this timeout.
   */
  NATS_CONNECT_TIMEOUT_MS: env.positiveInt(20_000),
  /**
   * Replicas of the JetStream stream and of the service's state bucket (1–5): 3 on a
   * three-server NATS cluster, so one server lost loses no event and no state. Applied
   * when they are created; a stream that exists is updated to it.
   */
  NATS_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /**
   * Directory for state kept across restarts in embedded mode (LMDB, one folder per service).
   * Ignored when NATS_URL is set: state then lives in JetStream object stores.
   */
  STATE_DIR: env.path('.ralm/state'),
  /**
   * Admission limits per gRPC method, `Method=concurrency/queue,…` (e.g. `Score=64/512`).
   * Beyond them a call is refused at once with RESOURCE_EXHAUSTED and a retry hint;
   * unset methods keep their service's defaults (docs/DEPLOY.md lists them). A name
   * that is no method of the service fails the start.
   */
  RPC_LIMITS: env.parsed('', parseRpcLimits),
  /**
   * gRPC transport security, for the server and for this service's calls to others: off
   * (plaintext; the embedded mode on loopback), tls (the server proves itself) or mtls
   * (callers prove themselves too, with a certificate from GRPC_TLS_CA_FILE's CA).
   */
  GRPC_TLS: z.enum(['off', 'tls', 'mtls']).default('off'),
  /** PEM certificate chain: the server's, and the client's in mtls (cert-manager's tls.crt). */
  GRPC_TLS_CERT_FILE: z.string().min(1).optional(),
  /** PEM private key of GRPC_TLS_CERT_FILE (tls.key). */
  GRPC_TLS_KEY_FILE: z.string().min(1).optional(),
  /** PEM CA bundle that servers and client certificates are verified against (ca.crt). */
  GRPC_TLS_CA_FILE: z.string().min(1).optional(),
  /** Seconds between re-reads of the certificate, key, CA and JWKS files: a renewed one is used without a restart. */
  GRPC_TLS_RELOAD_SECONDS: env.positiveInt(60),
  /**
   * A plaintext port serving only grpc.health.v1, for probes that cannot speak TLS (the
   * kubelet's gRPC probe). 0 picks a free port; unset = health on GRPC_PORT only.
   */
  GRPC_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /**
   * required: every RALM RPC needs a caller identity (a verified client certificate or a
   * bearer token) holding a role the policy allows (security/policy.ts); off: no checks
   * (the embedded mode on loopback). Health and reflection stay open.
   */
  GRPC_AUTH: z.enum(['off', 'required']).default('off'),
  /** JWKS (JSON) whose keys sign accepted bearer tokens; re-read on change. */
  AUTH_JWT_JWKS_FILE: z.string().min(1).optional(),
  /** Or: the identity provider's JWKS URL (fetched and cached by jose). */
  AUTH_JWT_JWKS_URL: z.url().optional(),
  /** The `iss` a bearer token must carry. Required with a JWKS. */
  AUTH_JWT_ISSUER: z.string().min(1).optional(),
  /** The `aud` a bearer token must carry. Required with a JWKS. */
  AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
  /** The claim holding the caller's roles: an array, or a space- or comma-separated string. */
  AUTH_JWT_ROLES_CLAIM: z.string().min(1).default('roles'),
  /** Signature algorithms accepted, comma separated (never `none`). */
  AUTH_JWT_ALGORITHMS: z
    .string()
    .default('RS256,ES256,EdDSA')
    .transform((s) => s.split(',').map((a) => a.trim()).filter(Boolean))
    .refine((list) => list.length > 0 && list.every((a) => /^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/.test(a)), 'must be asymmetric JWS algorithms, e.g. RS256,ES256,EdDSA'),
  /** A bearer token this service sends on its calls to other RALM services (a projected token file; re-read per call). */
  GRPC_CLIENT_TOKEN_FILE: z.string().min(1).optional(),
  /** HTTP/2 streams one client connection may have open at once; more wait on the client's side. */
  GRPC_MAX_CONCURRENT_STREAMS: env.positiveInt(1000),
  /** Seconds SIGTERM waits for in-flight RPCs before forcing the server down. */
  SHUTDOWN_GRACE_SECONDS: env.positiveInt(10),
  LOG_LEVEL: env.logLevel(),
};

/** A variable that was renamed: set, it fails the start naming its replacement, rather than being ignored. */
export function replacedBy(name: string, why = '') {
  return z.undefined({ error: `was replaced by ${name}${why ? `: ${why}` : ''}; set that instead` }).optional();
}

/**
 * The look-alike rules that span services, spelled once: the seed collector reports
 * the minimum, the clusterer starts clustering at it and the scorer refuses to score
 * below it whatever clusters exist; the clusterer clusters into k and the scorer's
 * table has k slots per candidate. A deployment sets each from one value (the Helm
 * chart's `lookalike.servableMinSeeds` and `lookalike.k`).
 */
export const lookalikeRulesShape = {
  /** Seeds (distinct clickers) a candidate needs to be clustered and scored (paper: 100). */
  SERVABLE_MIN_SEEDS: env.positiveInt(100),
  /** k: clusters per candidate (paper: 20). */
  CLUSTER_K: z.coerce.number().int().min(1).max(256).default(20),
  CLUSTER_MIN_SEEDS: replacedBy('SERVABLE_MIN_SEEDS', 'one minimum for every service'),
  SCORER_K: replacedBy('CLUSTER_K', 'one k for every service'),
};

export const commonConfigSchema = z.object(commonConfigShape);
export type CommonConfig = z.output<typeof commonConfigSchema>;
