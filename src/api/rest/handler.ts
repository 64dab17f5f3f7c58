import { create, type DescService } from "@bufbuild/protobuf";
import { createClientAddress, type ClientAddress } from "../client-address.js";
import type { Logger } from "pino";
import { DomainError } from "../../domain/errors.js";
import { toDomainError, toRestError } from "../errors.js";
import type { Principal } from "../../app/core/authn.js";
import { BodyTooLarge, RequestAborted, header, readBody, sendJson, unreadBodyHeaders, type Req, type Res } from "../http-util.js";
import type { Pipeline, ServiceHandlers } from "../pipeline.js";
import { compileRoutes, type RestRouter } from "./routes.js";
import { decodeRequest, encodeResponse } from "./transcode.js";
import { jsonOf } from "../response-memo.js";
import { requestInfo } from "../request-info.js";

const NOT_FOUND = JSON.stringify({ code: 5, message: "Not Found" });
const METHOD_NOT_ALLOWED = JSON.stringify({ code: 12, message: "Method Not Allowed" });

/**
 * REST/JSON as ZITADEL's grpc-gateway serves it, routed from the services' google.api.http options.
 * Requests go through the same pipeline as gRPC; errors are google.rpc.Status bodies.
 */
export function createRestHandler(
  services: { service: DescService; handlers: ServiceHandlers; prefix: string }[],
  pipeline: Pipeline,
  maxBodyBytes: number,
  log: Logger,
  clientAddress: ClientAddress = createClientAddress([]),
) {
  const routers: { prefix: string; router: RestRouter }[] = services.map((s) => ({ prefix: s.prefix + "/", router: compileRoutes(s.service, s.prefix) }));

  return async function handleRest(req: Req, res: Res, path: string, query: string): Promise<void> {
    // Services mounted at "" (v2: their routes carry the whole path) share the root, so the first
    // router that knows the path answers; a path none knows is a 404.
    let match: ReturnType<RestRouter["match"]> | undefined;
    for (const r of routers) {
      if (!path.startsWith(r.prefix)) continue;
      match = r.router.match(req.method ?? "GET", path);
      if (match.kind !== "miss" || match.status !== 404) break;
    }
    if (!match) return sendJson(res, 404, NOT_FOUND);
    const info = requestInfo(req);
    if (info) info.protocol = "rest";
    if (match.kind === "miss") {
      req.resume();
      if (match.status === 405) return sendJson(res, 405, METHOD_NOT_ALLOWED, { allow: match.allow.join(", ") });
      if (match.status === 400) return sendJson(res, 400, JSON.stringify({ code: 3, message: "malformed path" }));
      return sendJson(res, 404, NOT_FOUND);
    }
    const method = match.route.method;
    if (info) {
      info.service = method.parent.typeName;
      info.method = method.name;
    }
    const get = (name: string) => header(req, name);
    const peer = clientAddress(req);
    const hasBody = match.route.body !== "";
    let bodyRead = !hasBody;
    try {
      let principal: Principal | undefined;
      if (hasBody) {
        // The caller first: without a valid token the answer goes out before the body is read, so an
        // unauthenticated client cannot make the server buffer maxBodyBytes.
        const a = pipeline.authenticate(method, get, peer);
        principal = a instanceof Promise ? await a : a;
      } else req.resume();
      const body = hasBody ? await readBody(req, maxBodyBytes) : undefined;
      bodyRead = true;
      const input = decodeRequest(match.route, match.pathParams, new URLSearchParams(query), body);
      const output = await pipeline.invoke(method, input, get, peer, principal);
      if (info) info.code = "OK";
      sendJson(res, 200, jsonOf(output, () => encodeResponse(method.output, create(method.output, output as never))));
    } catch (e) {
      if (e instanceof RequestAborted) return log.debug({ method: method.name }, "request aborted by the client");
      if (e instanceof BodyTooLarge) {
        const err = new DomainError("ResourceExhausted", "", `request body larger than ${maxBodyBytes} bytes`);
        if (info) info.code = err.kind;
        const { body } = toRestError(err);
        // HTTP/1.1: close, the rest of the body is not read; HTTP/2 has no such header (and needs none).
        return sendJson(res, 413, body, req.httpVersionMajor === 1 ? { connection: "close" } : {});
      }
      const err = toDomainError(e);
      if (info) info.code = err.kind;
      const reqId = header(req, "x-request-id");
      if (err.kind === "Internal" || err.kind === "Unknown") log.error({ err: e, method: method.name, reqId }, "request failed");
      else if (err.kind === "Unavailable") log.warn({ id: err.id, method: method.name, reqId }, err.message);
      const { status, body } = toRestError(err);
      // grpc-gateway sets WWW-Authenticate to the status message on 401.
      const extra: Record<string, string> = bodyRead ? {} : { ...unreadBodyHeaders(req) };
      if (status === 401) extra["www-authenticate"] = err.id ? `${err.message} (${err.id})` : err.message;
      if (err.retryAfterSeconds) extra["retry-after"] = String(err.retryAfterSeconds);
      sendJson(res, status, body, extra);
    }
  };
}
