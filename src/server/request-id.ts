import { randomUUID } from "node:crypto";
import type { Req } from "../api/http-util.js";

/** A caller's id is kept when it is 1–128 visible ASCII characters: safe in a header and a log line. */
const USABLE_ID = /^[\x21-\x7e]{1,128}$/;
/** W3C Trace Context `traceparent`: version-traceid-parentid-flags; an all-zero trace id is invalid. */
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}/;

/**
 * The request's id: the caller's `x-request-id`, else the trace id of its `traceparent`, else a new
 * UUID. Pure; assignRequestId records it on the request.
 */
export function requestId(req: Req): string {
  const given = req.headers["x-request-id"];
  if (typeof given === "string" && USABLE_ID.test(given)) return given;
  const trace = req.headers.traceparent;
  const m = typeof trace === "string" ? TRACEPARENT.exec(trace) : null;
  // Version ff is invalid (W3C Trace Context §3.2.2.1).
  if (m && m[1] !== "00000000000000000000000000000000" && !m[0].startsWith("ff-")) return m[1]!;
  return randomUUID();
}

/**
 * Decides the request's id once and writes it into the request's own `x-request-id` header, so that
 * every later reader (error logs in the REST, Connect and OAuth edges, the access log) sees the same
 * id; the caller echoes it as the response's `x-request-id`.
 */
export function assignRequestId(req: Req): string {
  const id = requestId(req);
  (req.headers as Record<string, string | string[] | undefined>)["x-request-id"] = id;
  return id;
}
