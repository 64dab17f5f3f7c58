import type { Logger } from "pino";
import { DomainError } from "../../domain/errors.js";
import type { ClientAddress } from "../client-address.js";
import { toDomainError, toRestError } from "../errors.js";
import { BodyTooLarge, RequestAborted, header, readBody, sendJson, type Req, type Res } from "../http-util.js";
import type { CallContext, Pipeline } from "../pipeline.js";

/**
 * Portcullis's own HTTP endpoints under /portcullis/v1/ that have no proto yet (event follow,
 * webhooks, backup). Each is a thin adapter over an app-layer function, authenticated and authorized
 * by the same pipeline as the proto services, errors in the REST format; they can move onto the
 * portcullis.v1 proto as methods later without touching the app layer.
 */
export interface ExtensionRequest {
  ctx: CallContext;
  params: string[];
  query: URLSearchParams;
  /** The parsed JSON body (POST), else undefined. */
  body: unknown;
  /** Fires when the client goes away (long polls stop waiting). */
  abort: AbortSignal;
}

export type ExtensionResult = { status?: number; json: unknown } | { status?: number; stream: (res: Res) => Promise<void> };

export interface ExtensionRoute {
  method: "GET" | "POST" | "DELETE";
  path: RegExp;
  permission: string;
  run(r: ExtensionRequest): Promise<ExtensionResult>;
}

export interface ExtensionHandler {
  /** false: not an extension path. */
  (req: Req, res: Res, path: string, query: string): false | Promise<void>;
  /** At shutdown: long polls answer now with what they have. */
  drain(): void;
}

export function createExtensionHandler(routes: readonly ExtensionRoute[], pipeline: Pipeline, maxBodyBytes: number, log: Logger, clientAddress: ClientAddress): ExtensionHandler {
  const draining = new AbortController();
  const handler = (req: Req, res: Res, path: string, query: string): false | Promise<void> => {
    if (!path.startsWith("/portcullis/v1/")) return false;
    const onPath = routes.filter((r) => r.path.test(path));
    if (onPath.length === 0) return false;
    const route = onPath.find((r) => r.method === req.method);
    if (!route) {
      req.resume();
      sendJson(res, 405, JSON.stringify({ code: 12, message: "Method Not Allowed" }), { allow: onPath.map((r) => r.method).join(", ") });
      return Promise.resolve();
    }
    return (async () => {
      const abort = new AbortController();
      res.once("close", () => abort.abort());
      try {
        const ctx = await pipeline.authorizeCaller((n) => header(req, n), clientAddress(req), route.permission);
        let body: unknown;
        if (route.method === "POST") {
          const raw = await readBody(req, maxBodyBytes);
          try {
            body = raw.length ? JSON.parse(raw.toString("utf8")) : {};
          } catch {
            throw new DomainError("InvalidArgument", "API-json", "the body is not JSON");
          }
        } else req.resume();
        const params = route.path.exec(path)!.slice(1).map(decodePathParam);
        const out = await route.run({ ctx, params, query: new URLSearchParams(query), body, abort: AbortSignal.any([abort.signal, draining.signal]) });
        if ("stream" in out) return await out.stream(res);
        sendJson(res, out.status ?? 200, JSON.stringify(out.json));
      } catch (e) {
        if (e instanceof RequestAborted) return;
        if (e instanceof BodyTooLarge) return sendJson(res, 413, toRestError(new DomainError("ResourceExhausted", "", `request body larger than ${maxBodyBytes} bytes`)).body);
        const err = toDomainError(e);
        if (err.kind === "Internal" || err.kind === "Unknown") log.error({ err: e, path, reqId: header(req, "x-request-id") }, "request failed");
        const { status, body } = toRestError(err);
        const extra: Record<string, string> = {};
        if (status === 401) extra["www-authenticate"] = err.id ? `${err.message} (${err.id})` : err.message;
        if (err.retryAfterSeconds) extra["retry-after"] = String(err.retryAfterSeconds);
        sendJson(res, status, body, extra);
      }
    })();
  };
  return Object.assign(handler, { drain: () => draining.abort() });
}

/** A path variable, percent-decoded; a bad escape is the caller's mistake (400), not a fault. */
function decodePathParam(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    throw new DomainError("InvalidArgument", "API-path", "a path variable is not percent-decodable");
  }
}
