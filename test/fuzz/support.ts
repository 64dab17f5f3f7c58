/**
 * Shared pieces of the fuzz suite: run counts and seeds, raw HTTP/1.1 over node:net, the wire-format
 * oracles (REST, OAuth, Connect, gRPC) and the after-run health check.
 *
 * FUZZ_RUNS   cases per property (default below; `npm run fuzz` sets 2000).
 * FUZZ_SEED   replay: the seed fast-check printed for a failure (with FUZZ_PATH for its shrunk case).
 * FUZZ_PATH   replay: the path fast-check printed.
 * FUZZ_LOG    server log level during the run (e.g. `error`), to see what a failing case did inside.
 * FUZZ_STATS  `1`: print how each property's answers were distributed.
 */
import net from "node:net";
import fc from "fast-check";
import { expect } from "vitest";
import { errorTable } from "../../src/api/errors.js";
import { rest } from "../helpers/clients.js";
import type { TestServer } from "../helpers/server.js";

/** Small enough that the whole fuzz set stays well under a minute of `npm test` on two cores. */
const DEFAULT_RUNS = 60;

export const FUZZ_RUNS = (() => {
  const n = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_RUNS;
})();

/** A vitest timeout for a test running `runs` cases of about `msPerRun` each (vitest's default is 60 s). */
export const timeoutFor = (runs: number, msPerRun: number) => 60_000 + runs * msPerRun;

/** Runs for a property that is cheaper (factor > 1) or dearer (< 1, e.g. MiB bodies) per case than the rest; at least 5. */
export const runsScaled = (factor: number) => Math.max(5, Math.round(FUZZ_RUNS * factor));

/**
 * fast-check parameters. Outside `npm test`, fast-check draws a fresh seed per `assert` and prints it with the shrunk
 * counterexample on failure ("{ seed: …, path: … }"); FUZZ_SEED and FUZZ_PATH replay exactly that case
 * (run only the one test with `-t`). Properties against a server also depend on what earlier cases did
 * to its state, so a replay of those regenerates the same request but may meet a different server;
 * the printed counterexample is the reproduction.
 */
/**
 * Inside `npm test` (FUZZ_RUNS unset) the seed is fixed, so CI is deterministic and a red run means a
 * change broke something; `npm run fuzz` (FUZZ_RUNS set) draws fresh seeds to explore.
 */
const DEFAULT_SEED = process.env.FUZZ_RUNS === undefined ? 20261129 : undefined;

export function fuzzParams<T>(numRuns = FUZZ_RUNS): fc.Parameters<T> {
  const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : DEFAULT_SEED;
  return {
    numRuns,
    ...(seed !== undefined && Number.isFinite(seed) ? { seed } : {}),
    ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
    // A failure reports the counterexample, seed and path; replaying with FUZZ_PATH adds the shrinking history.
    verbose: process.env.FUZZ_PATH ? 2 : 0,
  };
}

/** With FUZZ_STATS=1, each property prints how its answers were distributed (to judge how deep the fuzzer gets). */
export function statusStats(name: string) {
  const counts = new Map<string, number>();
  return {
    add(key: string | number) {
      counts.set(String(key), (counts.get(String(key)) ?? 0) + 1);
    },
    print() {
      if (process.env.FUZZ_STATS === "1") console.log(`${name}: ${[...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}×${v}`).join(" ")}`);
    },
  };
}

/** How long any single exchange may take before it counts as a hang. */
export const ANSWER_MS = 5_000;

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1

export type HeaderList = readonly (readonly [string, string])[];

export interface RawRequest {
  method: string;
  /** The request-target exactly as sent (may hold anything the generator puts there). */
  target: string;
  headers?: HeaderList;
  body?: Uint8Array;
  /** Send the body with Transfer-Encoding: chunked instead of Content-Length. */
  chunked?: boolean;
  /** Omit the framing headers (Content-Length / Transfer-Encoding) the client would add. */
  noFraming?: boolean;
}

export interface RawResponse {
  kind: "response";
  status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  trailers: Record<string, string>;
}

export interface ConnectionClosed {
  kind: "closed";
  /** Whatever arrived before the close (normally nothing). */
  received: Buffer;
}

/** Serialises a request; the target and header values go out byte for byte (latin1 for unusual ones, UTF-8 otherwise). */
export function serialiseRequest(r: RawRequest): Buffer {
  const lines = [`${r.method} ${r.target} HTTP/1.1`, "Host: 127.0.0.1", "Connection: close"];
  for (const [k, v] of r.headers ?? []) lines.push(`${k}: ${v}`);
  const body = r.body ?? new Uint8Array(0);
  if (!r.noFraming) {
    if (r.chunked) lines.push("Transfer-Encoding: chunked");
    else if (body.length > 0 || ["POST", "PUT", "PATCH"].includes(r.method)) lines.push(`Content-Length: ${body.length}`);
  }
  const head = Buffer.from(lines.join("\r\n") + "\r\n\r\n", "utf8");
  if (!r.chunked) return Buffer.concat([head, body]);
  const parts: Buffer[] = [head];
  for (let at = 0; at < body.length; at += 4096) {
    const chunk = body.subarray(at, at + 4096);
    parts.push(Buffer.from(chunk.length.toString(16) + "\r\n"), Buffer.from(chunk), Buffer.from("\r\n"));
  }
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
}

/**
 * Sends raw bytes on a fresh connection and reads one HTTP/1.1 response. Resolves with the response or,
 * if the server closes without one, with `closed`; rejects only on a hang (no answer and no close in time).
 */
export function rawExchange(port: number, bytes: Uint8Array, opts: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse | ConnectionClosed> {
  return exchange(port, [bytes], 0, opts.head ?? false, opts.timeoutMs ?? ANSWER_MS);
}

/**
 * Like rawExchange, but the bytes go out in several writes with a pause between them, as a slow or
 * fragmenting client (or a proxy) would deliver them.
 */
export function rawExchangeSegmented(port: number, bytes: Uint8Array, cuts: readonly number[], pauseMs: number, opts: { head?: boolean } = {}): Promise<RawResponse | ConnectionClosed> {
  const at = [...new Set(cuts.map((c) => Math.min(Math.max(1, c), bytes.length - 1)))].sort((a, b) => a - b);
  const pieces = [0, ...at].map((start, i) => bytes.subarray(start, at[i] ?? bytes.length)).filter((p) => p.length > 0);
  return exchange(port, pieces, pauseMs, opts.head ?? false, ANSWER_MS);
}

/** Writes `pieces` (pausing between them) on a fresh connection and reads one response; `timeoutMs` counts after the last piece. */
function exchange(port: number, pieces: readonly Uint8Array[], pauseMs: number, head: boolean, timeoutMs: number): Promise<RawResponse | ConnectionClosed> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`hang: no answer within ${timeoutMs} ms after the last write (received ${buf.length} bytes: ${JSON.stringify(buf.subarray(0, 200).toString("latin1"))})`))),
      timeoutMs + Math.max(0, pieces.length - 1) * pauseMs,
    );
    socket.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const parsed = parseResponse(buf, head, false);
      if (parsed) finish(() => resolve(parsed));
    });
    const onEnd = () => finish(() => resolve(parseResponse(buf, head, true) ?? { kind: "closed", received: buf }));
    socket.on("end", onEnd);
    socket.on("close", onEnd);
    // ECONNRESET after the server answered and closed is normal; the data handler has what came.
    socket.on("error", onEnd);
    socket.once("connect", async () => {
      for (const [i, p] of pieces.entries()) {
        if (done) return;
        if (i > 0) await new Promise((r) => setTimeout(r, pauseMs));
        socket.write(p);
      }
    });
  });
}

export const rawRequest = (port: number, r: RawRequest, timeoutMs?: number) =>
  rawExchange(port, serialiseRequest(r), { head: r.method === "HEAD", ...(timeoutMs ? { timeoutMs } : {}) });

/** Parses one response (skipping 1xx); undefined while incomplete. `eof`: the peer has closed. */
function parseResponse(buf: Buffer, head: boolean, eof: boolean): RawResponse | undefined {
  let at = 0;
  for (;;) {
    const end = buf.indexOf("\r\n\r\n", at);
    if (end < 0) return undefined;
    const lines = buf.subarray(at, end).toString("latin1").split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
    if (!m) throw new Error(`not an HTTP/1.1 status line: ${JSON.stringify(lines[0])}`);
    const status = Number(m[1]);
    const headers = parseHeaderLines(lines.slice(1));
    const bodyStart = end + 4;
    if (status >= 100 && status < 200) {
      at = bodyStart;
      continue;
    }
    if (head || status === 204 || status === 304) return { kind: "response", status, headers, body: Buffer.alloc(0), trailers: {} };
    if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
      const chunked = parseChunked(buf, bodyStart);
      return chunked && { kind: "response", status, headers, ...chunked };
    }
    const cl = headers["content-length"];
    if (cl !== undefined) {
      const len = Number(cl);
      if (buf.length - bodyStart < len) return undefined;
      return { kind: "response", status, headers, body: buf.subarray(bodyStart, bodyStart + len), trailers: {} };
    }
    return eof ? { kind: "response", status, headers, body: buf.subarray(bodyStart), trailers: {} } : undefined;
  }
}

function parseHeaderLines(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    const k = line.slice(0, i).trim().toLowerCase();
    const v = line.slice(i + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  return headers;
}

function parseChunked(buf: Buffer, from: number): { body: Buffer; trailers: Record<string, string> } | undefined {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const eol = buf.indexOf("\r\n", at);
    if (eol < 0) return undefined;
    const size = parseInt(buf.subarray(at, eol).toString("latin1").split(";")[0]!, 16);
    if (!Number.isFinite(size)) throw new Error("bad chunk size in response");
    at = eol + 2;
    if (size === 0) {
      const end = buf.indexOf("\r\n\r\n", at - 2);
      if (end < 0) return undefined;
      const trailerText = buf.subarray(at, end).toString("latin1");
      return { body: Buffer.concat(parts), trailers: parseHeaderLines(trailerText ? trailerText.split("\r\n") : []) };
    }
    if (buf.length < at + size + 2) return undefined;
    parts.push(buf.subarray(at, at + size));
    at += size + 2;
  }
}

// ---------------------------------------------------------------------------------------------
// Oracles

const fail = (what: string, r: RawResponse): never => {
  throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.headers)} ${JSON.stringify(r.body.subarray(0, 500).toString("utf8"))}`);
};

/**
 * An answer from Node's own HTTP/1.1 layer, before Portcullis sees the request: a parser rejection
 * (malformed request line or headers; 400/413/414/431) or 417 for an Expect other than 100-continue
 * (Go's net/http, under grpc-gateway, does the same). Empty body, no content type. The oracle accepts
 * these and the generators keep most requests well-formed.
 */
export const isParserRejection = (r: RawResponse) => [400, 413, 414, 417, 431].includes(r.status) && r.body.length === 0 && r.headers["content-type"] === undefined;

function parseJson(r: RawResponse): unknown {
  if (!/^application\/json\b/.test(r.headers["content-type"] ?? "")) fail("not application/json", r);
  try {
    return JSON.parse(r.body.toString("utf8"));
  } catch {
    return fail("body is not JSON", r);
  }
}

const httpByCode = new Map<number, number>(Object.values(errorTable).map((v) => [v.code as number, v.http]));

/**
 * REST: 200 with a JSON object, or grpc-gateway's google.rpc.Status body with the status errors.ts maps
 * its code to. The edge's fixed routing answers (405 Method Not Allowed with code 12, 413 with code 8)
 * are grpc-gateway's own and allowed. 5xx only as 501 Unimplemented for methods Portcullis lacks.
 */
export function expectRestAnswer(r: RawResponse, opts: { allowParserRejection?: boolean; head?: boolean } = {}): "ok" | "error" | "parser" {
  if (opts.allowParserRejection && isParserRejection(r)) return "parser";
  if (opts.head) {
    // No body to check: the status and the content type must still be the ones a GET would get.
    if (!/^application\/json\b/.test(r.headers["content-type"] ?? "")) fail("not application/json", r);
    if (r.status >= 500 && r.status !== 501) fail("5xx", r);
    return r.status === 200 ? "ok" : "error";
  }
  const json = parseJson(r) as Record<string, unknown>;
  if (json === null || typeof json !== "object" || Array.isArray(json)) fail("body is not a JSON object", r);
  if (r.status === 200) return "ok";
  if (typeof json.code !== "number" || !Number.isInteger(json.code) || typeof json.message !== "string") fail("not a google.rpc.Status body", r);
  const keys = Object.keys(json).filter((k) => !["code", "message", "details"].includes(k));
  if (keys.length) fail(`unexpected keys ${keys.join(",")}`, r);
  if (json.details !== undefined) {
    if (!Array.isArray(json.details)) fail("details is not an array", r);
    for (const d of json.details as unknown[]) if (typeof d !== "object" || d === null || typeof (d as { "@type"?: unknown })["@type"] !== "string") fail("detail without @type", r);
  }
  const code = json.code as number;
  const routing = (r.status === 405 && code === 12) || (r.status === 413 && code === 8);
  if (!routing && httpByCode.get(code) !== r.status) fail(`HTTP status does not match code ${code}`, r);
  if (r.status >= 500 && !(r.status === 501 && code === 12)) fail("5xx", r);
  if (r.status === 401 && !r.headers["www-authenticate"]) fail("401 without WWW-Authenticate", r);
  return "error";
}

/** OAuth endpoints: a JSON body; errors are RFC 6749 {error, error_description?} with a 4xx. */
export function expectOAuthAnswer(r: RawResponse, opts: { allowParserRejection?: boolean } = {}): "ok" | "error" | "parser" {
  if (opts.allowParserRejection && isParserRejection(r)) return "parser";
  const json = parseJson(r) as Record<string, unknown>;
  if (json === null || typeof json !== "object" || Array.isArray(json)) fail("body is not a JSON object", r);
  if (r.status === 200) return "ok";
  if (r.status < 400 || r.status >= 500) fail("OAuth error status outside 4xx", r);
  if (typeof json.error !== "string" || !/^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/.test(json.error)) fail("no RFC 6749 error code", r);
  if (json.error_description !== undefined && typeof json.error_description !== "string") fail("error_description is not a string", r);
  const keys = Object.keys(json).filter((k) => !["error", "error_description", "error_uri"].includes(k));
  if (keys.length) fail(`unexpected keys ${keys.join(",")}`, r);
  return "error";
}

export const CONNECT_CODES = [
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
];

/**
 * Codes a request can legitimately end with. Internal, Unknown and DataLoss mean the server failed
 * (grpc-gateway would answer 500); Unavailable only with the database down, which these tests never do.
 */
export const CLIENT_GRPC_CODES = new Set([0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16]);

/**
 * Connect unary: 200 with the message, or an HTTP error with a JSON {code: string, message?, details?}.
 * 415 (unsupported content type) and 405 (method) come from connect-node without a Connect body.
 */
export function expectConnectAnswer(r: RawResponse): "ok" | "error" | "protocol" {
  if (r.status === 200) return "ok";
  if (r.status === 415 || r.status === 405) return "protocol";
  const json = parseJson(r) as Record<string, unknown>;
  if (typeof json.code !== "string" || !CONNECT_CODES.includes(json.code)) fail("Connect error without a code", r);
  if (json.message !== undefined && typeof json.message !== "string") fail("Connect error message is not a string", r);
  if (["internal", "unknown", "data_loss", "unavailable"].includes(json.code as string)) fail(`server-side Connect code ${String(json.code)}`, r);
  if (r.status >= 500 && !(r.status === 501 && json.code === "unimplemented")) fail("5xx", r);
  return "error";
}

/** gRPC-web over HTTP/1.1: 200 and a grpc-status in the headers (trailers-only) or in the trailer frame. */
export function grpcWebStatus(r: RawResponse): { code: number; message: string } | "protocol" {
  if (r.status === 415 || r.status === 405) return "protocol";
  if (r.status !== 200) fail("gRPC-web answer is not 200", r);
  let fields: Record<string, string> = r.headers;
  if (r.headers["grpc-status"] === undefined) {
    let at = 0;
    let trailer: Record<string, string> | undefined;
    while (at + 5 <= r.body.length) {
      const flags = r.body[at]!;
      const len = r.body.readUInt32BE(at + 1);
      const data = r.body.subarray(at + 5, at + 5 + len);
      if (data.length !== len) fail("truncated gRPC-web frame", r);
      if (flags & 0x80) trailer = parseHeaderLines(data.toString("latin1").split("\r\n"));
      at += 5 + len;
    }
    if (at !== r.body.length) fail("trailing bytes after gRPC-web frames", r);
    if (!trailer) fail("gRPC-web response without grpc-status", r);
    fields = trailer!;
  }
  return checkGrpcStatus(fields, (why) => fail(why, r));
}

/**
 * connect-es reports a request payload it cannot decode (bad protobuf, a compressed flag without
 * grpc-encoding, a corrupt gzip stream) as Internal. grpc-go, which serves ZITADEL's gRPC and gRPC-web,
 * answers the same cases with Internal too ("grpc: error unmarshalling request", "grpc: compressed flag
 * set with identity or empty encoding", "grpc: failed to decompress the received message"), so for gRPC
 * and gRPC-web the oracle accepts 13 with these messages. The Connect protocol has no ZITADEL precedent
 * and maps Internal to HTTP 500, so there it is not accepted.
 */
export const MALFORMED_PAYLOAD = /^(parse binary: |decompression failed$|received compressed envelope, but do not know how to decompress$)/;

export function checkGrpcStatus(fields: Record<string, string | string[] | undefined>, bad: (why: string) => never): { code: number; message: string } {
  const raw = fields["grpc-status"];
  if (typeof raw !== "string" || !/^\d+$/.test(raw)) return bad(`grpc-status missing or malformed: ${String(raw)}`);
  const code = Number(raw);
  let message = "";
  try {
    message = typeof fields["grpc-message"] === "string" ? decodeURIComponent(fields["grpc-message"]) : "";
  } catch {
    bad(`grpc-message is not percent-encoded: ${String(fields["grpc-message"])}`);
  }
  if (code === 13 && MALFORMED_PAYLOAD.test(message)) return { code, message };
  if (!CLIENT_GRPC_CODES.has(code)) bad(`server-side grpc-status ${code}: ${String(fields["grpc-message"])}`);
  return { code, message };
}

// ---------------------------------------------------------------------------------------------
// Health

/** The server still answers its liveness probe and an authenticated call with the bootstrap PAT. */
export async function expectHealthy(s: TestServer): Promise<void> {
  const health = await fetch(`${s.url}/debug/healthz`, { signal: AbortSignal.timeout(ANSWER_MS) });
  expect(health.status).toBe(200);
  const me = await rest(s.url, "GET", "/management/v1/orgs/me", { token: s.pat });
  expect(me.status).toBe(200);
  expect(typeof me.json.org.id).toBe("string");
}

// ---------------------------------------------------------------------------------------------
// Generators shared by the files

/** Strings that break naive handling: control characters, NUL, lone surrogates, RTL marks, huge lengths. */
export const nastyString = (maxLength = 64, huge = true): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength }) },
    { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom("\0", "\x01", "\x7f", "\r", "\n", "\t", "\u2028", "\u202e", "\ufeff", "\ud800", "\udfff", "%", "+", "&", "=", ";", "\\", '"', "/", "..", "?", "#"), maxLength }) },
    { weight: 1, arbitrary: fc.constantFrom("", " ", "null", "undefined", "NaN", "-0", "1e400", "0x10", "__proto__", "constructor", "toString", "%00", "%zz", "%", "%c3", "%ed%a0%80") },
    { weight: huge ? 1 : 0, arbitrary: fc.nat({ max: 70_000 }).map((n) => "a".repeat(n)) },
  );

/** `s` with lone surrogates replaced by U+FFFD (String.prototype.toWellFormed, which ES2023 lacks). */
export const wellFormed = (s: string): string => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");

/** Percent-encodes the UTF-8 bytes of `s` (lone surrogates become U+FFFD, where encodeURIComponent would throw). */
export const pctEncode = (s: string): string =>
  [...Buffer.from(s, "utf8")].map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : "%" + b.toString(16).toUpperCase().padStart(2, "0"))).join("");

/**
 * `s` as raw as an HTTP/1.1 request-target can carry it: printable ASCII stays as it is (so stray `%`,
 * quotes and brackets reach the server), everything else is percent-encoded (Node refuses raw bytes
 * outside printable ASCII in the target). `/`, `?`, `#` and space are encoded too, to stay in one segment.
 */
export const rawTargetText = (s: string): string =>
  [...Buffer.from(s, "utf8")].map((b) => (b > 0x20 && b < 0x7f && !"/?# ".includes(String.fromCharCode(b)) ? String.fromCharCode(b) : "%" + b.toString(16).toUpperCase().padStart(2, "0"))).join("");

/** Deeply nested JSON text of the given depth, as objects or arrays. */
export const deepJson = fc
  .tuple(fc.integer({ min: 50, max: 200_000 }), fc.boolean(), fc.constantFrom('"userName"', '"queries"', '"a"'))
  .map(([depth, arrays, key]) => (arrays ? "[".repeat(depth) + "]".repeat(depth) : `{${key}:`.repeat(depth) + "1" + "}".repeat(depth)));

// ---------------------------------------------------------------------------------------------
// A server with something to aim at

export interface FuzzTarget {
  s: TestServer;
  /** The bootstrap admin's org (IAM_OWNER lives there; never handed to the fuzzer). */
  adminOrgId: string;
  /** An org the fuzzer owns; its PAT goes into most fuzzed requests. */
  fuzzOrgId: string;
  fuzzer: { userId: string; pat: string; userName: string };
  /** Machine users in the fuzz org the fuzzer may change, lock or remove. */
  victimIds: string[];
  /** A machine with a client secret, for the token endpoint. */
  client: { userId: string; userName: string; secret: string };
}

/**
 * A server (PGlite) with a fuzz org. Rate limits are off: every fuzzed request comes from 127.0.0.1,
 * and with the failed-authentication limit on, the address would soon be refused altogether, so the
 * fuzzer would only ever see 429 and the health check could not tell a sick server from a throttled one.
 */
export async function startFuzzTarget(env: Record<string, string> = {}): Promise<FuzzTarget> {
  const { startTestServer } = await import("../helpers/server.js");
  const { createMachine, createOrg, createPrincipal } = await import("../helpers/principals.js");
  // FUZZ_LOG=error shows what the server logged about a failure (the tests' default is silent).
  const log: Record<string, string> = process.env.FUZZ_LOG ? { PORTCULLIS_LOG_LEVEL: process.env.FUZZ_LOG } : {};
  const s = await startTestServer({ storage: "pglite", env: { PORTCULLIS_RATE_LIMIT_ENABLED: "false", ...log, ...env } });
  const d = s.rt.deps;
  const me = await rest(s.url, "GET", "/management/v1/orgs/me", { token: s.pat });
  const fuzzOrgId = await createOrg(d, "Fuzz Org");
  const fuzzer = await createPrincipal(d, { orgId: fuzzOrgId, userName: "fuzzer", orgRoles: [{ orgId: fuzzOrgId, roles: ["ORG_OWNER"] }] });
  const victimIds: string[] = [];
  for (let i = 1; i <= 6; i++) victimIds.push(await createMachine(d, fuzzOrgId, `victim-${i}`));
  const clientId = await createMachine(d, fuzzOrgId, "fuzz-client");
  const gen = await rest(s.url, "PUT", `/management/v1/users/${clientId}/secret`, { token: s.pat, orgId: fuzzOrgId, body: {} });
  if (gen.status !== 200) throw new Error(`GenerateMachineSecret ${gen.status}: ${gen.text}`);
  return {
    s,
    adminOrgId: me.json.org.id as string,
    fuzzOrgId,
    fuzzer: { userId: fuzzer.userId, pat: fuzzer.pat, userName: fuzzer.userName },
    victimIds,
    client: { userId: clientId, userName: "fuzz-client", secret: gen.json.clientSecret as string },
  };
}

/** A token shaped like a PAT (kind byte, length-prefixed ids, 32 bytes) with arbitrary id bytes: gets past the format check to the lookups. */
export const patShapedToken = fc
  .tuple(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom<string[]>([], ["\0"], ["\0x"]), fc.boolean())
  .map(([tokenId, userId, secret, inject, asText]) => {
    const uid = asText && inject.length ? Buffer.from(inject[0] + "123") : Buffer.from(userId);
    return Buffer.concat([Buffer.of(0x02, tokenId.length), tokenId, Buffer.of(uid.length), uid, secret]).toString("base64url");
  });

/** Authorization header values: mostly malformed, some nearly right. */
export const authorizationValue = (goodBearer: string): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(`Bearer ${goodBearer}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: patShapedToken.map((t) => `Bearer ${t}`) },
    { weight: 1, arbitrary: nastyString(80, false).map((t) => `Bearer ${t}`) },
    { weight: 1, arbitrary: fc.base64String({ maxLength: 200 }).map((t) => `Bearer eyJ${t}.${t}.${t}`) },
    { weight: 1, arbitrary: nastyString(80, false) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        `bearer ${goodBearer}`,
        `Bearer  ${goodBearer}`,
        `Bearer ${goodBearer}x`,
        `Bearer ${goodBearer.slice(0, -1)}`,
        `Bearer ${goodBearer}Bearer ${goodBearer}`,
        "Bearer ",
        "Bearer",
        "Basic Zm9vOmJhcg==",
        "Basic",
        "Basic !!!",
        `Bearer ${"A".repeat(5000)}`,
        `Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.`,
      ),
    },
  );

/** Removes what an HTTP/1.1 header value cannot carry at all (the parser tests get their own property). */
export const headerSafe = (v: string) => v.replace(/[\0-\x08\x0a-\x1f\x7f]/g, "");

/**
 * A bare node:http server, as a reference for what Node itself does with malformed HTTP/1.1: where it
 * too leaves a request unanswered (llhttp waiting for more bytes), Portcullis is not to blame.
 */
export async function startReferenceServer(): Promise<{ port: number; close(): Promise<void> }> {
  const http = await import("node:http");
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(404, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
