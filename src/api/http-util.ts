import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

export type Req = IncomingMessage | Http2ServerRequest;
export type Res = ServerResponse | Http2ServerResponse;

export class BodyTooLarge extends Error {
  override readonly name = "BodyTooLarge";
}

/**
 * The client went away (or its HTTP/2 stream was reset) before the whole body arrived: not a server
 * error, and there is nobody left to answer.
 */
export class RequestAborted extends Error {
  override readonly name = "RequestAborted";
  constructor() {
    super("request aborted");
  }
}

/**
 * Reads a request body up to `limit` bytes and calls `done` once, with the body or an error. A larger
 * body is refused as soon as it is known to be too large (Content-Length, or the first chunk past the
 * limit), without buffering the rest. Callback style: the token endpoint answers from inside `done`
 * without a promise in between.
 */
export function collectBody(req: Req, limit: number, done: (err: Error | undefined, body: Buffer) => void): void {
  const declared = Number(req.headers["content-length"]);
  if (declared > limit) return done(new BodyTooLarge(), EMPTY);
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let size = 0;
  let finished = false;
  const finish = (err: Error | undefined, body: Buffer) => {
    if (finished) return;
    finished = true;
    done(err, body);
  };
  const onData = (c: Buffer) => {
    size += c.length;
    if (size > limit) {
      req.off("data", onData);
      req.resume(); // drain and discard the rest
      return finish(new BodyTooLarge(), EMPTY);
    }
    if (!first) first = c;
    else (chunks ??= [first]).push(c);
  };
  req.on("data", onData);
  req.on("end", () => finish(undefined, chunks ? Buffer.concat(chunks) : (first ?? EMPTY)));
  // An aborted request ends in "error" (ECONNRESET "aborted"), or at least in "close" before "end".
  req.on("error", () => finish(new RequestAborted(), EMPTY));
  req.on("close", () => {
    if (!finished) finish(new RequestAborted(), EMPTY); // no Error (and its stack) per normal request
  });
}

const EMPTY = Buffer.alloc(0);

export function readBody(req: Req, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => collectBody(req, limit, (err, body) => (err ? reject(err) : resolve(body))));
}

/** Go's net/http reads up to 256 KiB of an unread body to keep the connection; a smaller budget will do here. */
const DISCARD_LIMIT = 64 * 1024;

/**
 * Headers for an answer sent without reading the request body. HTTP/2 needs none: Node resets the
 * stream (NO_ERROR) once the response is out. HTTP/1.1 keeps the connection when the rest of the body
 * is small (Node discards it after the response); a larger or unannounced (chunked) rest closes it.
 */
export function unreadBodyHeaders(req: Req): Record<string, string> | undefined {
  if (req.httpVersionMajor !== 1 || req.complete) return undefined;
  const declared = req.headers["content-length"];
  if (declared === undefined && req.headers["transfer-encoding"] === undefined) return undefined;
  return declared !== undefined && Number(declared) <= DISCARD_LIMIT ? undefined : { connection: "close" };
}

const JSON_HEADERS = Object.freeze({ "content-type": "application/json", "cache-control": "no-store" });

/**
 * The request id a JSON answer carries as `x-request-id` (set by the server per request). Written in
 * the same writeHead as the other headers: a header set earlier with setHeader sends Node's
 * writeHead down its slow path (every header validated and stored one by one), about 0.6 µs more
 * per response. Responders that do not answer through sendJson get it with stampRequestId.
 */
const REQUEST_ID = Symbol("portcullis.responseRequestId");
type WithRequestId = { [REQUEST_ID]?: string };

export function setResponseRequestId(res: Res, id: string): void {
  (res as WithRequestId)[REQUEST_ID] = id;
}

/** Sets `x-request-id` on the response now (for a responder that writes its own headers). */
export function stampRequestId(res: Res): void {
  const id = (res as WithRequestId)[REQUEST_ID];
  if (id === undefined) return;
  res.setHeader("x-request-id", id);
  (res as WithRequestId)[REQUEST_ID] = undefined;
}

/** Flat [name, value, …] lists of frozen header sets, built once. */
const FLAT = new WeakMap<object, string[]>();

function withRequestId(res: Res, headers: Readonly<Record<string, string>>): Readonly<Record<string, string>> | string[] {
  const id = (res as WithRequestId)[REQUEST_ID];
  if (id === undefined) return headers;
  // HTTP/2 (compat) takes a headers object.
  if ((res as Http2ServerResponse).stream !== undefined) return { ...headers, "x-request-id": id };
  let flat = FLAT.get(headers);
  if (!flat) {
    flat = Object.entries(headers).flat();
    if (Object.isFrozen(headers)) FLAT.set(headers, flat);
  }
  const out = flat.slice();
  out.push("x-request-id", id);
  return out;
}

/** Sends a JSON body with Content-Type and Cache-Control: no-store; `headers` adds or overrides. */
export function sendJson(res: Res, status: number, body: string, headers?: Record<string, string>) {
  if (res.headersSent) return;
  (res as ServerResponse).writeHead(status, withRequestId(res, headers ? { ...JSON_HEADERS, ...headers } : JSON_HEADERS));
  res.end(body);
}

/** The same for a fixed set of headers built once with jsonHeaders(): no object built per response. */
export function sendJsonWith(res: Res, status: number, body: string, headers: Readonly<Record<string, string>>) {
  if (res.headersSent) return;
  (res as ServerResponse).writeHead(status, withRequestId(res, headers));
  res.end(body);
}

export const jsonHeaders = (extra: Record<string, string>): Readonly<Record<string, string>> => Object.freeze({ ...JSON_HEADERS, ...extra });

export const header = (req: Req, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};
