import { readFileSync } from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { envName, flagName, keys, type Config, type FirstInstanceConfig } from "./schema.js";

/** A configuration problem, reported as one line naming the key. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export interface ConfigSources {
  env: NodeJS.ProcessEnv;
  /** Flags as given on the command line: `--port 9000` / `--port=9000`, plus `--config <file>`. */
  argv?: string[];
}

const getPath = (obj: unknown, keyPath: string): unknown =>
  keyPath.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), obj);

const setPath = (obj: Record<string, unknown>, keyPath: string, value: unknown) => {
  const parts = keyPath.split(".");
  let o = obj;
  for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
  o[parts[parts.length - 1]!] = value;
};

export function parseFlags(argv: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) throw new ConfigError(`unexpected argument "${a}" (see --help)`);
    const eq = a.indexOf("=");
    if (eq > 0) flags.set(a.slice(0, eq), a.slice(eq + 1));
    else {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) throw new ConfigError(`flag ${a} needs a value`);
      flags.set(a, v);
      i++;
    }
  }
  return flags;
}

/**
 * The YAML parser, loaded only when there is a config file (a start without one does not pay for
 * loading it). `yaml` is CommonJS for Node (its "node" export), so require is what import did.
 */
function parseYaml(text: string): unknown {
  const { parse } = createRequire(import.meta.url)("yaml") as typeof import("yaml");
  return parse(text);
}

/** Precedence, lowest first: defaults, YAML file (--config or PORTCULLIS_CONFIG), environment, flags. */
export function loadConfig({ env, argv = [] }: ConfigSources): Config {
  const flags = parseFlags(argv);
  const known = new Set(["--config", ...keys.map((k) => flagName(k.path))]);
  for (const f of flags.keys()) if (!known.has(f)) throw new ConfigError(`unknown flag ${f} (see --help)`);

  const file = flags.get("--config") ?? env.PORTCULLIS_CONFIG;
  let yaml: unknown = {};
  if (file) {
    try {
      yaml = parseYaml(readFileSync(file, "utf8")) ?? {};
    } catch (e) {
      throw new ConfigError(`config file ${file}: ${(e as Error).message.split("\n")[0]}`);
    }
  }

  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const flag = flags.get(flagName(k.path));
    const envValue = env[envName(k.path)];
    const raw = flag ?? (envValue !== undefined && envValue !== "" ? envValue : undefined) ?? getPath(yaml, k.path) ?? k.default;
    if (raw === undefined) continue;
    const parsed = k.schema.safeParse(raw);
    if (!parsed.success) {
      const source = flag !== undefined ? flagName(k.path) : envValue ? envName(k.path) : file ? `${k.path} in ${file}` : k.path;
      throw new ConfigError(`invalid ${source}: ${parsed.error.issues[0]?.message ?? "invalid value"}`);
    }
    setPath(out, k.path, parsed.data);
  }

  const tls = out.tls as { cert?: string; key?: string } | undefined;
  if (tls && (!tls.cert || !tls.key)) throw new ConfigError(`invalid ${envName(tls.cert ? "tls.key" : "tls.cert")}: both tls.cert and tls.key are needed for TLS`);
  const previous = out.masterkeyPrevious as string[] | undefined;
  if (previous?.length === 0) delete out.masterkeyPrevious;
  else if (previous && !out.masterkey) throw new ConfigError(`invalid ${envName("masterkeyPrevious")}: needs ${envName("masterkey")} (the new key)`);
  checkSigningKeySchedule(out.signingKeys as Config["signingKeys"]);
  const port = out.port as number;
  out.dataDir = path.resolve(out.dataDir as string);
  out.externalUrl ??= `http://localhost:${port}`;
  out.firstInstance = loadFirstInstance(env, out.dataDir as string);
  return Object.freeze(out) as unknown as Config;
}

/** A process must see the next key before it signs, and keep the retired one until its lag is over. */
function checkSigningKeySchedule(k: Config["signingKeys"]) {
  if (k.publishAhead <= k.reloadInterval)
    throw new ConfigError(`invalid ${envName("signingKeys.publishAhead")}: must be more than signingKeys.reloadInterval (${k.reloadInterval})`);
  if (k.rotationInterval <= k.publishAhead + k.reloadInterval)
    throw new ConfigError(`invalid ${envName("signingKeys.rotationInterval")}: must be more than signingKeys.publishAhead + signingKeys.reloadInterval`);
  if (k.retireMargin < k.reloadInterval)
    throw new ConfigError(`invalid ${envName("signingKeys.retireMargin")}: must be at least signingKeys.reloadInterval (${k.reloadInterval})`);
}

function parseDate(name: string, v: string | undefined): Date | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new ConfigError(`invalid ${name}: not an RFC 3339 date`);
  return d;
}

function loadFirstInstance(env: NodeJS.ProcessEnv, dataDir: string): FirstInstanceConfig {
  const e = (k: string) => env[`ZITADEL_FIRSTINSTANCE_${k}`];
  const keyType = e("ORG_MACHINE_MACHINEKEY_TYPE");
  if (keyType !== undefined && keyType !== "" && keyType !== "1")
    throw new ConfigError("invalid ZITADEL_FIRSTINSTANCE_ORG_MACHINE_MACHINEKEY_TYPE: only 1 (JSON) is supported");
  const username = e("ORG_MACHINE_MACHINE_USERNAME") ?? "admin";
  return {
    orgName: e("ORG_NAME") || "Portcullis",
    machineUsername: username,
    machineName: e("ORG_MACHINE_MACHINE_NAME") || username,
    patExpirationDate: parseDate("ZITADEL_FIRSTINSTANCE_ORG_MACHINE_PAT_EXPIRATIONDATE", e("ORG_MACHINE_PAT_EXPIRATIONDATE")),
    patPath: e("PATPATH") || path.join(dataDir, "admin.pat"),
    machineKeyType: keyType === "1" ? 1 : undefined,
    machineKeyExpirationDate: parseDate("ZITADEL_FIRSTINSTANCE_ORG_MACHINE_MACHINEKEY_EXPIRATIONDATE", e("ORG_MACHINE_MACHINEKEY_EXPIRATIONDATE")),
    machineKeyPath: e("MACHINEKEYPATH") || undefined,
  };
}

/** The effective configuration with secrets redacted, for `portcullis config print`. */
export function redactedConfig(config: Config): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
  for (const k of keys) if (k.secret && getPath(copy, k.path) !== undefined) setPath(copy, k.path, "[redacted]");
  const db = config.databaseUrl;
  if (db) {
    try {
      const u = new URL(db);
      if (u.password) u.password = "redacted";
      setPath(copy, "databaseUrl", u.toString());
    } catch {
      /* already redacted */
    }
  }
  return copy;
}
