import { isIP } from "node:net";
import { z } from "zod";

/**
 * The one configuration schema. Each leaf has a default (or is optional) and a description;
 * the environment name derives from the key path: `tls.cert` → `PORTCULLIS_TLS_CERT`,
 * the flag name likewise: `--tls-cert`.
 */
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
/** Node's timers hold at most 2^31-1 ms. */
const durationMs = positiveInt.max(2_147_483_647);
/** A comma-separated list (environment, flag) or a YAML list of master keys. */
const masterkeyList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(",")).map((k) => k.trim()).filter((k) => k !== ""))
  .pipe(z.array(z.string().min(32, "every key must be at least 32 characters")));
const cidrList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(",")).map((k) => k.trim()).filter((k) => k !== ""))
  .pipe(
    z.array(
      z.string().refine((c) => {
        const [net, bits, extra] = c.split("/");
        const v = isIP(net ?? "");
        if (v === 0 || extra !== undefined) return false;
        return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (v === 4 ? 32 : 128));
      }, "must be an IP address or CIDR (10.0.0.0/8, fd00::/8)"),
    ),
  );
const bool = z.union([z.boolean(), z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1")]);

/** One configuration key, as `--help`, the loader and `config print` see it. */
export interface KeySpec {
  path: string;
  description: string;
  secret?: boolean;
  schema: z.ZodType;
  default?: unknown;
}

interface Setting<S extends z.ZodType> {
  description: string;
  /** Applied before validation, like a value from the environment. */
  default?: z.input<S>;
  /** Redacted by `config print`. */
  secret?: boolean;
}

const settings = new WeakMap<z.ZodType, Setting<z.ZodType>>();

/** A leaf of the schema: a key whose value `schema` validates (a described copy, so each key has its own). */
function setting<S extends z.ZodType>(schema: S, spec: Setting<S>): S {
  const own = schema.describe(spec.description);
  if (settings.has(own)) throw new Error(`config: a schema used for two keys (${spec.description})`);
  settings.set(own, spec as Setting<z.ZodType>);
  return own;
}

/**
 * The configuration as loaded: a leaf wrapped in `.optional()` may be absent; every other leaf
 * has a default, or (externalUrl, tls.cert/tls.key) is filled in or checked by the loader.
 */
const configSchema = z.object({
  port: setting(port, { default: 8080, description: "TCP port for every protocol (REST, gRPC, gRPC-web, Connect, OAuth)." }),
  host: setting(z.string().min(1), { default: "0.0.0.0", description: "Address to listen on." }),
  externalUrl: setting(
    z.string().url().refine((u) => /^https?:\/\//.test(u), "must start with http:// or https://"),
    { description: "Public base URL; the OAuth issuer exactly as given. Default http://localhost:<port>." },
  ),
  dataDir: setting(z.string().min(1), { default: "./data", description: "Directory of the embedded (PGlite) store and of the default admin PAT file." }),
  databaseUrl: setting(z.string().refine((u) => /^postgres(ql)?:\/\//.test(u), "must be a postgres:// or postgresql:// URL"), {
    secret: true,
    description: "Use PostgreSQL instead of the embedded store (postgres://user:pass@host:5432/db).",
  }).optional(),
  masterkey: setting(z.string().min(32, "must be at least 32 characters"), {
    secret: true,
    description: "Key material for opaque-token MACs, secret HMAC and key wrapping. Generated and kept in the database when not given.",
  }).optional(),
  masterkeyPrevious: setting(masterkeyList, {
    secret: true,
    description:
      "Earlier master keys, comma-separated (a YAML list in a file), newest first: still tried for secrets, PATs and opaque tokens made before a rotation, and for unsealing keys until `portcullis masterkey rotate` re-wraps them. Needs masterkey.",
  }).optional(),
  tls: z
    .object({
      cert: setting(z.string().min(1), { description: "PEM certificate file; with tls.key, serve TLS (HTTP/2 + HTTP/1.1 via ALPN)." }),
      key: setting(z.string().min(1), { description: "PEM private key file for tls.cert." }),
    })
    .optional(),
  logLevel: setting(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]), { default: "info", description: "Log level (debug adds an access log line per request)." }),
  logFormat: setting(z.enum(["auto", "json", "pretty"]), {
    default: "auto",
    description: "Log format: json (one object per line), pretty (for people), or auto: pretty when stdout is a terminal, else json.",
  }),
  accessTokenLifetime: setting(positiveInt, { default: 43200, description: "Lifetime of issued access tokens, in seconds (ZITADEL default 12 h)." }),
  signingKeys: z.object({
    rotationInterval: setting(positiveInt, { default: 2592000, description: "Seconds a token signing key signs before the next one takes over (default 30 days)." }),
    publishAhead: setting(positiveInt, {
      default: 86400,
      description: "Seconds the next signing key is in the JWKS before it signs (default 1 day; more than signingKeys.reloadInterval).",
    }),
    retireMargin: setting(positiveInt, {
      default: 3600,
      description:
        "Seconds a retired signing key stays in the JWKS beyond the longest token lifetime after it stopped signing (clock skew, processes still reloading; at least signingKeys.reloadInterval).",
    }),
    reloadInterval: setting(positiveInt, {
      default: 60,
      description: "Seconds between a process's checks of the signing-key schedule and reloads of the key set from the database.",
    }),
  }),
  credentials: z.object({
    secretFormat: setting(z.enum(["portcullis", "zitadel"]), {
      default: "portcullis",
      description:
        "Shape of new client secrets: portcullis (pcs_ prefix + checksum, found by secret scanners) or zitadel (ZITADEL's 64 alphanumerics, byte-for-byte). Both are always accepted.",
    }),
    trackLastUsed: setting(bool, {
      default: true,
      description: "Record when each credential (secrets, machine keys, PATs, API-app secrets and keys) was last used (to the minute; gathered in memory, written at most once per credentials.lastUsedWriteInterval).",
    }),
    lastUsedWriteInterval: setting(durationMs, {
      default: 60000,
      description: "Milliseconds between writes of the gathered last uses (one statement for all; each credential at most once per interval).",
    }),
  }),
  oauth: z.object({
    maxAssertionLifetime: setting(positiveInt, {
      default: 3600,
      description:
        "Longest lifetime (exp - iat, seconds) of a machine-key assertion (jwt-bearer grant, private_key_jwt); longer ones are refused. ZITADEL's SDKs mint 1 h.",
    }),
    requireAssertionJti: setting(bool, {
      default: false,
      description: "Refuse machine-key assertions without a jti (ZITADEL's SDKs send none; without one, a jwt-bearer assertion is single-use by its digest).",
    }),
  }),
  federation: z.object({
    allowHttpLoopback: setting(bool, {
      default: false,
      description: "Workload federation: accept plain-http issuers and JWKS URLs on loopback addresses (tests and development only; otherwise https only).",
    }),
    jwksTimeoutMs: setting(durationMs, { default: 5000, description: "Workload federation: how long one JWKS fetch may take." }),
    jwksRefreshIntervalMs: setting(durationMs, {
      default: 5000,
      description: "Workload federation: the least time between two fetches of one issuer's JWKS (per JWKS URL) on an unknown kid (a kid-miss storm cannot make more).",
    }),
  }),
  maxBodyBytes: setting(positiveInt, { default: 1048576, description: "Largest accepted request body in bytes; larger ones get 413 / ResourceExhausted." }),
  requestTimeoutMs: setting(durationMs, {
    default: 60000,
    description: "How long a client may take to send a whole request, headers and body (HTTP/1.1, and each HTTP/2 stream); slower ones get 408 (gRPC: DEADLINE_EXCEEDED).",
  }),
  http2: z.object({
    maxConcurrentStreams: setting(positiveInt.max(4_294_967_295), {
      default: 100,
      description: "Streams one HTTP/2 connection may have open (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused with REFUSED_STREAM.",
    }),
    idleTimeoutMs: setting(durationMs, { default: 300000, description: "An HTTP/2 connection without open streams, or on which nothing moves, for this long is closed (GOAWAY)." }),
    maxSessionMemoryMb: setting(positiveInt, {
      default: 10,
      description: "Memory one HTTP/2 connection may hold in the protocol layer (header tables, queued frames) before new streams are refused.",
    }),
  }),
  db: z.object({
    poolSize: setting(positiveInt, { default: 10, description: "PostgreSQL connection pool size." }),
    connectTimeoutMs: setting(positiveInt, { default: 2000, description: "PostgreSQL connect timeout; requests fail with Unavailable after it." }),
    startupTimeoutMs: setting(z.coerce.number().int().min(0), {
      default: 60000,
      description: "How long start-up waits for an unreachable PostgreSQL (retrying with backoff) before giving up; 0: try once.",
    }),
    nodeLeaseMs: setting(durationMs.min(2000), {
      default: 10000,
      description:
        "PostgreSQL: how long a process's node slot (the part of every id it mints) stays its own without a heartbeat. A process that stalls longer mints no id and writes nothing until it has registered again; a new process may take the slot after it.",
    }),
    embeddedFsync: setting(bool, {
      default: true,
      description:
        "Embedded store: flush each commit to disk (fsync) before acknowledging it, so an acknowledged write survives a power loss. false: written through to the OS only (survives a crash of the process, not of the machine); faster writes.",
    }),
  }),
  workers: setting(z.union([z.literal("auto"), positiveInt.max(256)]), {
    default: 1,
    description:
      "Worker processes sharing the port (`portcullis start --workers N|auto`; auto: one per core), each a full instance in the database's cluster, supervised. PostgreSQL only: the embedded store is one process.",
  }),
  webhooks: z.object({
    enabled: setting(bool, { default: true, description: "Deliver the instance's webhook subscriptions from this process (on PostgreSQL one process holds each subscription's lease)." }),
    allowLoopback: setting(bool, {
      default: false,
      description: "Allow webhook URLs on loopback addresses (127.0.0.0/8, ::1): for tests and development. Link-local and cloud metadata addresses are never allowed.",
    }),
    timeoutMs: setting(durationMs, { default: 10000, description: "How long one webhook delivery may take (connect, send, answer)." }),
    retryBaseMs: setting(durationMs, { default: 1000, description: "The first retry delay of a failed webhook delivery; each further retry doubles it (with jitter), up to webhooks.retryMaxMs." }),
    retryMaxMs: setting(durationMs, { default: 300000, description: "The longest delay between two attempts of a webhook delivery." }),
    maxAttempts: setting(positiveInt, {
      default: 8,
      description: "Attempts of an event the receiver refuses (HTTP 4xx other than 408/429) before it goes to the dead-letter list and delivery moves on.",
    }),
    deadLetterAfterMs: setting(durationMs, {
      default: 86400000,
      description: "How long an event is retried while the receiver is unreachable or failing (network error, 5xx, 408, 429) before it goes to the dead-letter list; until then later events wait, in order.",
    }),
    leaseMs: setting(durationMs.min(1000), { default: 30000, description: "How long a process holds a subscription's delivery lease without renewing it (PostgreSQL with several processes)." }),
  }),
  shutdownTimeoutMs: setting(positiveInt, { default: 10000, description: "How long a graceful shutdown waits for in-flight requests." }),
  trustedProxies: setting(cidrList, {
    default: [],
    description:
      "Proxy addresses or CIDRs (comma-separated; a YAML list in a file) whose X-Forwarded-For / Forwarded headers name the client; the right-most address not in the list is the one the limits use. Empty: the headers are ignored.",
  }),
  metrics: z.object({
    enabled: setting(bool, { default: true, description: "Serve Prometheus metrics at /debug/metrics (text format) and record them; false: no endpoint, nothing recorded." }),
    token: setting(z.string().min(16, "must be at least 16 characters"), {
      secret: true,
      description: "When set, /debug/metrics answers only requests with `Authorization: Bearer <token>` (401 otherwise). Unset: open, as ZITADEL's /debug/metrics.",
    }).optional(),
  }),
  rateLimit: z.object({
    enabled: setting(bool, { default: true, description: "Rate-limit the token endpoint and failed authentications (429 with Retry-After)." }),
    tokenPerSecond: setting(positiveInt, { default: 100, description: "Token requests per second per client id (bursts of twice as many)." }),
    tokenPerSecondPerAddress: setting(positiveInt, { default: 1000, description: "Token requests per second per source address (bursts of twice as many)." }),
    failuresPerMinute: setting(positiveInt, {
      default: 30,
      description: "Failed client authentications per minute per client id and source address before failures are answered 429 (a correct secret still gets a token).",
    }),
    failuresPerMinutePerClient: setting(positiveInt, {
      default: 300,
      description: "Failed client authentications per minute per client id over all addresses before failures are answered 429 after a delay of at most 1 s (a correct secret still gets a token).",
    }),
    failuresPerMinutePerAddress: setting(positiveInt, { default: 300, description: "Failed authentications per minute per source address before 429." }),
  }),
});

/** The leaves of `shape` in declaration order, with dotted paths. */
function keysOf(shape: Readonly<Record<string, z.ZodType>>, prefix = ""): KeySpec[] {
  return Object.entries(shape).flatMap(([name, value]) => {
    const path = prefix + name;
    const inner = value instanceof z.ZodOptional ? (value.unwrap() as z.ZodType) : value;
    if (inner instanceof z.ZodObject) return keysOf(inner.shape as Record<string, z.ZodType>, `${path}.`);
    const spec = settings.get(inner);
    if (spec === undefined) throw new Error(`config: ${path} is not a setting()`);
    return [{ path, schema: inner, ...spec }];
  });
}

export const keys: KeySpec[] = keysOf(configSchema.shape);

/** The effective configuration: the schema's output, plus the first-instance bootstrap the loader reads from ZITADEL's variables. */
export type Config = z.output<typeof configSchema> & {
  firstInstance: FirstInstanceConfig;
};

/** ZITADEL's own bootstrap variables (`ZITADEL_FIRSTINSTANCE_*`), so existing compose files work unchanged. */
export interface FirstInstanceConfig {
  orgName: string;
  machineUsername: string;
  machineName: string;
  patExpirationDate?: Date;
  patPath: string;
  machineKeyType?: number;
  machineKeyExpirationDate?: Date;
  machineKeyPath?: string;
}

export const envName = (path: string) =>
  "PORTCULLIS_" + path.replace(/\./g, "_").replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();

export const flagName = (path: string) =>
  "--" + path.replace(/\./g, "-").replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
