import { z } from "zod";

/**
 * The one configuration schema. Each leaf has a default (or is optional) and a description;
 * the environment name derives from the key path: `tls.cert` → `PORTCULLIS_TLS_CERT`,
 * the flag name likewise: `--tls-cert`.
 */
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
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
  { path: "logLevel", schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]), default: "info", description: "Log level (debug adds an access log line per request)." },
  {
    path: "logFormat",
    schema: z.enum(["auto", "json", "pretty"]),
    default: "auto",
    description: "Log format: json (one object per line), pretty (for people), or auto: pretty when stdout is a terminal, else json.",
  },
  { path: "accessTokenLifetime", schema: positiveInt, default: 43200, description: "Lifetime of issued access tokens, in seconds (ZITADEL default 12 h)." },
  { path: "maxBodyBytes", schema: positiveInt, default: 1048576, description: "Largest accepted request body in bytes; larger ones get 413 / ResourceExhausted." },
  { path: "db.poolSize", schema: positiveInt, default: 10, description: "PostgreSQL connection pool size." },
  { path: "db.connectTimeoutMs", schema: positiveInt, default: 2000, description: "PostgreSQL connect timeout; requests fail with Unavailable after it." },
  {
    path: "db.startupTimeoutMs",
    schema: z.coerce.number().int().min(0),
    default: 60000,
    description: "How long start-up waits for an unreachable PostgreSQL (retrying with backoff) before giving up; 0: try once.",
  },
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
  logFormat: "auto" | "json" | "pretty";
  accessTokenLifetime: number;
  maxBodyBytes: number;
  db: { poolSize: number; connectTimeoutMs: number; startupTimeoutMs: number };
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
