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
const bool = z.union([z.boolean(), z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1")]);

export interface KeySpec {
  path: string;
  description: string;
  secret?: boolean;
  schema: z.ZodType;
  default?: unknown;
}

export const keys: KeySpec[] = [
  { path: "port", schema: port, default: 8080, description: "TCP port for every protocol (REST, gRPC, gRPC-web, Connect, OAuth)." },
  { path: "host", schema: z.string().min(1), default: "0.0.0.0", description: "Address to listen on." },
  {
    path: "externalUrl",
    schema: z.string().url().refine((u) => /^https?:\/\//.test(u), "must start with http:// or https://"),
    description: "Public base URL; the OAuth issuer exactly as given. Default http://localhost:<port>.",
  },
  { path: "dataDir", schema: z.string().min(1), default: "./data", description: "Directory of the embedded (PGlite) store and of the default admin PAT file." },
  {
    path: "databaseUrl",
    secret: true,
    schema: z.string().refine((u) => /^postgres(ql)?:\/\//.test(u), "must be a postgres:// or postgresql:// URL"),
    description: "Use PostgreSQL instead of the embedded store (postgres://user:pass@host:5432/db).",
  },
  {
    path: "masterkey",
    secret: true,
    schema: z.string().min(32, "must be at least 32 characters"),
    description: "Key material for opaque-token MACs, secret HMAC and key wrapping. Generated and kept in the database when not given.",
  },
  { path: "tls.cert", schema: z.string().min(1), description: "PEM certificate file; with tls.key, serve TLS (HTTP/2 + HTTP/1.1 via ALPN)." },
  { path: "tls.key", schema: z.string().min(1), description: "PEM private key file for tls.cert." },
  { path: "logLevel", schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]), default: "info", description: "Log level of the JSON logs." },
  { path: "accessTokenLifetime", schema: positiveInt, default: 43200, description: "Lifetime of issued access tokens, in seconds (ZITADEL default 12 h)." },
  { path: "maxBodyBytes", schema: positiveInt, default: 1048576, description: "Largest accepted request body in bytes; larger ones get 413 / ResourceExhausted." },
  {
    path: "requestTimeoutMs",
    schema: durationMs,
    default: 60000,
    description: "How long a client may take to send a whole request, headers and body (HTTP/1.1, and each HTTP/2 stream); slower ones get 408 (gRPC: DEADLINE_EXCEEDED).",
  },
  { path: "http2.maxConcurrentStreams", schema: positiveInt.max(4_294_967_295), default: 100, description: "Streams one HTTP/2 connection may have open (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused with REFUSED_STREAM." },
  { path: "http2.idleTimeoutMs", schema: durationMs, default: 300000, description: "An HTTP/2 connection without open streams, or on which nothing moves, for this long is closed (GOAWAY)." },
  { path: "http2.maxSessionMemoryMb", schema: positiveInt, default: 10, description: "Memory one HTTP/2 connection may hold in the protocol layer (header tables, queued frames) before new streams are refused." },
  { path: "db.poolSize", schema: positiveInt, default: 10, description: "PostgreSQL connection pool size." },
  { path: "db.connectTimeoutMs", schema: positiveInt, default: 2000, description: "PostgreSQL connect timeout; requests fail with Unavailable after it." },
  { path: "shutdownTimeoutMs", schema: positiveInt, default: 10000, description: "How long a graceful shutdown waits for in-flight requests." },
  { path: "rateLimit.enabled", schema: bool, default: true, description: "Rate-limit the token endpoint and failed authentications (429 with Retry-After)." },
  { path: "rateLimit.tokenPerSecond", schema: positiveInt, default: 100, description: "Token requests per second per client id (bursts of twice as many)." },
  { path: "rateLimit.tokenPerSecondPerAddress", schema: positiveInt, default: 1000, description: "Token requests per second per source address (bursts of twice as many)." },
  { path: "rateLimit.failuresPerMinute", schema: positiveInt, default: 30, description: "Failed client authentications per minute per client id before 429." },
  { path: "rateLimit.failuresPerMinutePerAddress", schema: positiveInt, default: 300, description: "Failed authentications per minute per source address before 429." },
];

export interface Config {
  port: number;
  host: string;
  externalUrl: string;
  dataDir: string;
  databaseUrl?: string;
  masterkey?: string;
  tls?: { cert: string; key: string };
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  accessTokenLifetime: number;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  http2: { maxConcurrentStreams: number; idleTimeoutMs: number; maxSessionMemoryMb: number };
  db: { poolSize: number; connectTimeoutMs: number };
  shutdownTimeoutMs: number;
  rateLimit: { enabled: boolean; tokenPerSecond: number; tokenPerSecondPerAddress: number; failuresPerMinute: number; failuresPerMinutePerAddress: number };
  firstInstance: FirstInstanceConfig;
}

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
