// The operator CLI's side of the wire: the stored login, the Connect clients with the PAT and the
// org header, output as a table or JSON, exit codes, expiry parsing, key-file assertions and token
// requests. The commands themselves are in ops.ts.
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { ManagementService } from "@zitadel/proto/zitadel/management_pb.js";
import type { CredentialService } from "../api/proto/portcullis/v1/credentials_pb.js";
import type { CredentialKind } from "../api/proto/portcullis/v1/expiring_pb.js";
import { Command } from "commander";
import { createPrivateKey, sign } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

// The enum values used here (zitadel.user.v1, object.v1, authn.v1): the generated modules load the whole
// Management descriptor, so they are imported only when a command talks to the server (`--help` and
// `completion` stay fast).
export const Type = { MACHINE: 2 } as const;
export const AccessTokenType = { BEARER: 0, JWT: 1 } as const;
export const TextQueryMethod = { EQUALS_IGNORE_CASE: 1, CONTAINS_IGNORE_CASE: 5 } as const;
export const KeyType = { JSON: 1 } as const;
export const USER_STATES = ["unspecified", "active", "inactive", "deleted", "locked", "suspend", "initial"];

/** Exit codes a script can rely on (also in `portcullis --help` and the README). */
export const EXIT = { ok: 0, failed: 1, usage: 2, unauthenticated: 3, denied: 4, notFound: 5, exists: 6 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

// ---- configuration: $XDG_CONFIG_HOME/portcullis/credentials.json, mode 0600 ----

export interface Stored {
  url: string;
  token: string;
}

export function configDir(): string {
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config");
  return path.join(base, "portcullis");
}
export const credentialsFile = () => path.join(configDir(), "credentials.json");

export function loadStored(): Stored {
  const file = credentialsFile();
  if (!existsSync(file)) throw new CliError(`not logged in: run \`portcullis login <url>\` first (looked for ${file})`, EXIT.unauthenticated);
  return JSON.parse(readFileSync(file, "utf8")) as Stored;
}

export function saveStored(s: Stored) {
  const dir = configDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = credentialsFile();
  writeFileSync(file, JSON.stringify(s, null, 2) + "\n", { mode: 0o600 });
  chmodSync(file, 0o600);
}

// ---- the API ----

export interface Ctx {
  url: string;
  token: string;
  mgmt: Client<typeof ManagementService>;
  creds: Client<typeof CredentialService>;
  output: "table" | "json";
}

export function transport(url: string, token: string, org: string | undefined) {
  const auth: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    if (org) req.header.set("x-zitadel-orgid", org);
    return next(req);
  };
  // No keep-alive: a command makes a few calls and exits; an idle pooled socket would hold it open.
  return createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [auth], nodeOptions: { agent: false } });
}

export async function connect(url: string, token: string, org: string | undefined) {
  const { ManagementService } = await import("@zitadel/proto/zitadel/management_pb.js");
  return createClient(ManagementService, transport(url, token, org));
}

export async function connectCreds(url: string, token: string, org: string | undefined) {
  const { CredentialService } = await import("../api/proto/portcullis/v1/credentials_pb.js");
  return createClient(CredentialService, transport(url, token, org));
}

export async function ctxOf(cmd: Command): Promise<Ctx> {
  const o = cmd.optsWithGlobals<{ org?: string; output: "table" | "json" }>();
  const s = loadStored();
  return { url: s.url, token: s.token, mgmt: await connect(s.url, s.token, o.org), creds: await connectCreds(s.url, s.token, o.org), output: o.output };
}

/**
 * A machine user named by username or id. Both are looked up: a string that is one machine's
 * username and another user's id (v2 CreateUser lets the caller choose ids) is refused as ambiguous
 * rather than resolved to whichever is tried first, so that a name chosen by someone allowed to
 * create machines cannot redirect an operator's command to their machine.
 */
export async function resolveMachine(ctx: Ctx, nameOrId: string): Promise<{ id: string; userName: string }> {
  const r = await ctx.mgmt.listUsers({
    queries: [
      { query: { case: "userNameQuery", value: { userName: nameOrId, method: TextQueryMethod.EQUALS_IGNORE_CASE } } },
      { query: { case: "typeQuery", value: { type: Type.MACHINE } } },
    ],
  });
  const byName = r.result[0];
  let byId: { id: string; userName: string; machine: boolean } | undefined;
  try {
    const got = await ctx.mgmt.getUserByID({ id: nameOrId });
    if (got.user) byId = { id: got.user.id, userName: got.user.userName, machine: got.user.type.case === "machine" };
  } catch (e) {
    if (!(e instanceof ConnectError && (e.code === Code.NotFound || e.code === Code.InvalidArgument))) throw e;
  }
  if (byName && byId && byName.id !== byId.id)
    throw new CliError(`"${nameOrId}" is the username of machine ${byName.id} and the id of another user (${byId.userName}); rename one of them first`, EXIT.usage);
  if (byName) return { id: byName.id, userName: byName.userName };
  if (byId?.machine) return { id: byId.id, userName: byId.userName };
  throw new CliError(`machine user "${nameOrId}" not found in this organization`, EXIT.notFound);
}

/** For commands that take any user: a machine by name or id, else the string as a user id; ambiguity still refuses. */
export const resolveUser = (ctx: Ctx, nameOrId: string): Promise<{ id: string; userName: string }> =>
  resolveMachine(ctx, nameOrId).catch((e: unknown) => {
    if (e instanceof CliError && e.exitCode === EXIT.notFound) return { id: nameOrId, userName: nameOrId };
    throw e;
  });

// ---- output ----

export const fmt = (t: Timestamp | undefined) => {
  if (!t) return "-";
  const d = timestampDate(t);
  return d.getUTCFullYear() >= 9999 ? "never" : d.toISOString();
};

/**
 * A machine's keys or PATs with created, expires and last use, from CredentialService.ListUserCredentials
 * (ZITADEL's ListMachineKeys / ListPersonalAccessTokens carry no last use), and the table header.
 */
export async function credentialRows(ctx: Ctx, userId: string, kind: CredentialKind) {
  const r = await ctx.creds.listUserCredentials({ userId, kind });
  const rows = r.result.map((c) => ({ id: c.id, created: fmt(c.creationDate), expires: c.expirationDate ? fmt(c.expirationDate) : "never", lastUsed: c.lastUsed ? fmt(c.lastUsed) : "never" }));
  return { rows, table: [["ID", "CREATED", "EXPIRES", "LAST USED"], ...rows.map((c) => [c.id, c.created, c.expires, c.lastUsed])] };
}

export function out(ctx: { output: string }, json: unknown, rows?: string[][]) {
  if (ctx.output === "json" || !rows) {
    process.stdout.write(JSON.stringify(json, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2) + "\n");
    return;
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  for (const r of rows) process.stdout.write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join("").trimEnd() + "\n");
}

const DURATION = /^(\d+)([hdwy])$/;
/** A calendar date, optionally with a time and zone (2027-01-31, 2027-01-31T12:00:00Z). */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** `90d`, `12h`, `2w`, `1y` in milliseconds, or undefined. A bare number has no unit and is no duration. */
function durationMs(v: string): number | undefined {
  const m = DURATION.exec(v);
  if (!m) return undefined;
  const hours = { h: 1, d: 24, w: 24 * 7, y: 24 * 365 }[m[2] as "h" | "d" | "w" | "y"];
  return Number(m[1]) * hours * 3600_000;
}

/** A duration for `option` (`--grace`): `24h`, `7d`, `2w`, `1y`, `0h`; anything else is a usage error. */
export function parseDuration(v: string, option: string): number {
  const ms = durationMs(v);
  if (ms === undefined) throw new CliError(`${option}: "${v}" is not a duration (a number and a unit: 24h, 7d, 2w, 1y)`, EXIT.usage);
  return ms;
}

/**
 * `--expires`: a duration from now (`90d`, `12h`, `2w`, `1y`) or an ISO date (2027-01-31, or with a
 * time). A bare number is refused: JavaScript would read "36" as the year 2036.
 */
export function parseExpiry(v: string, now = new Date()): Date {
  const ms = durationMs(v);
  if (ms !== undefined) return new Date(now.getTime() + ms);
  const d = ISO_DATE.test(v) ? new Date(v) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new CliError(`--expires: "${v}" is neither a duration (90d, 12h, 2w, 1y) nor a date (2027-01-31)`, EXIT.usage);
  return d;
}

export async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** A line from the terminal without echo (a PAT typed or pasted stays off the screen). */
export function readHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    process.stderr.write(prompt);
    const stdin = process.stdin;
    stdin.setRawMode(true);
    stdin.resume();
    let buf = "";
    const onData = (d: Buffer) => {
      for (const ch of d.toString("utf8")) {
        if (ch === "\r" || ch === "\n") {
          done();
          return resolve(buf);
        }
        if (ch === "\u0003") {
          done();
          return reject(new CliError("cancelled", EXIT.failed));
        }
        if (ch === "\u007f") buf = buf.slice(0, -1);
        else buf += ch;
      }
    };
    const done = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    stdin.on("data", onData);
  });
}

export async function whoAmI(url: string, token: string): Promise<{ sub: string; name: string }> {
  let r: Response;
  try {
    r = await fetch(new URL("/oidc/v1/userinfo", url), { headers: { authorization: `Bearer ${token}` } });
  } catch (e) {
    throw new CliError(`cannot reach ${url}: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}`, EXIT.failed);
  }
  if (r.status === 401) throw new CliError("the server refused the token (expired, removed or mistyped)", EXIT.unauthenticated);
  if (!r.ok) throw new CliError(`${url} answered ${r.status} to userinfo; is it a Portcullis server?`, EXIT.failed);
  const b = (await r.json()) as { sub: string; preferred_username?: string };
  return { sub: b.sub, name: b.preferred_username ?? b.sub };
}

export { SIGNIN_LINK_MINUTES, signInLink } from "./signin-link.js";

// ---- token requests (to test a machine user's credentials) ----

export interface KeyFile {
  type: string;
  keyId: string;
  key: string;
  userId: string;
}

export function assertion(keyFile: KeyFile, audience: string): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: "RS256", kid: keyFile.keyId, typ: "JWT" })}.${b64({ iss: keyFile.userId, sub: keyFile.userId, aud: audience, iat: now, exp: now + 300 })}`;
  return `${input}.${sign("sha256", Buffer.from(input), createPrivateKey(keyFile.key)).toString("base64url")}`;
}

export async function tokenRequest(url: string, body: URLSearchParams, basic?: string): Promise<Record<string, unknown>> {
  const r = await fetch(new URL("/oauth/v2/token", url), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...(basic ? { authorization: `Basic ${basic}` } : {}) },
    body,
  });
  const json = (await r.json().catch(() => ({}))) as Record<string, unknown>;
  if (!r.ok) throw new CliError(`the token endpoint refused: ${String(json.error ?? r.status)}${json.error_description ? ` (${String(json.error_description)})` : ""}`, EXIT.unauthenticated);
  return json;
}

