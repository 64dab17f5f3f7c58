import { createConnectRouter, type ConnectRouter } from "@connectrpc/connect";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import { header, sendJson, unreadBodyHeaders, type Req, type Res } from "../http-util.js";
import type { Pipeline } from "../pipeline.js";
import { infoKey, peerContext, preAuthKey } from "./routes.js";
import { requestInfo } from "../request-info.js";
import { createClientAddress, type ClientAddress } from "../client-address.js";

/** Node's timers hold at most 2^31-1 ms; a larger deadline would be turned into 1 ms with a warning on every request. */
const MAX_TIMEOUT_MS = 2_147_483_647;
const GRPC_TIMEOUT_UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

function clampDeadlines(req: Req) {
  const h = req.headers as Record<string, string | string[] | undefined>;
  const connectTimeout = h["connect-timeout-ms"];
  if (typeof connectTimeout === "string" && Number(connectTimeout) > MAX_TIMEOUT_MS) h["connect-timeout-ms"] = String(MAX_TIMEOUT_MS);
  const grpcTimeout = h["grpc-timeout"];
  if (typeof grpcTimeout === "string") {
    const m = /^(\d{1,8})([HMSmun])$/.exec(grpcTimeout);
    if (m && Number(m[1]) * GRPC_TIMEOUT_UNITS[m[2]!]! > MAX_TIMEOUT_MS) h["grpc-timeout"] = `${MAX_TIMEOUT_MS}m`;
  }
}

async function collect(body: AsyncIterable<Uint8Array> | undefined): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  if (body) for await (const p of body) parts.push(p);
  return Buffer.concat(parts);
}

/**
 * connect-es answers a Connect request whose payload it cannot read (not protobuf, bad JSON,
 * a body that is not gzip although it says so) as `internal` / HTTP 500. It is the client's
 * mistake: answer `invalid_argument` / 400. Our own handlers never leave an `internal` without
 * ZITADEL's "(RECOVER)" id, so anything else marked internal came from reading the request.
 */
async function reclassifyReadErrors(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  if (res.status !== 500 || !res.header?.get("content-type")?.startsWith("application/json")) return res;
  const bytes = await collect(res.body);
  let out = bytes;
  let status = res.status;
  try {
    const err = JSON.parse(Buffer.from(bytes).toString("utf8")) as { code?: string; message?: string };
    if (err.code === "internal" && !err.message?.endsWith("(RECOVER)")) {
      out = Buffer.from(JSON.stringify({ ...err, code: "invalid_argument" }));
      status = 400;
    }
  } catch {
    /* not a Connect error body: pass it on as it was */
  }
  const header = new Headers(res.header);
  header.set("content-length", String(out.byteLength));
  return {
    ...res,
    status,
    header,
    body: (async function* () {
      yield out;
    })(),
  };
}

const EMPTY_ENVELOPE = new Uint8Array(5);
const EMPTY_JSON_ENVELOPE = new Uint8Array([0, 0, 0, 0, 2, 0x7b, 0x7d]);
const EMPTY_JSON = new Uint8Array([0x7b, 0x7d]);

/**
 * A request body that decodes to an empty message in the content type's protocol and encoding
 * (uncompressed), or undefined for a content type connect will refuse before reading a body.
 */
function emptyBody(contentType: string | undefined): Uint8Array | undefined {
  switch (contentType?.split(";")[0]!.trim().toLowerCase()) {
    case "application/grpc":
    case "application/grpc+proto":
    case "application/grpc-web":
    case "application/grpc-web+proto":
      return EMPTY_ENVELOPE;
    case "application/grpc+json":
    case "application/grpc-web+json":
      return EMPTY_JSON_ENVELOPE;
    case "application/proto":
      return new Uint8Array(0);
    case "application/json":
      return EMPTY_JSON;
    default:
      return undefined;
  }
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/** `application/grpc`, `application/grpc+proto`, `application/grpc-web-text; …`: gRPC or gRPC-web, whatever the codec. */
const GRPC_CONTENT_TYPE = /^application\/grpc(?:-web(?:-text)?)?(?:[+;]|$)/i;

const GRPC_WEB_CONTENT_TYPE = /^application\/grpc-web/i;

export const isGrpcRequest = (req: Req): boolean => GRPC_CONTENT_TYPE.test(req.headers["content-type"] ?? "");

/**
 * `/<package>.<Service>/<Method>`: the shape of an RPC path. REST, OAuth, /debug and /openapi paths never
 * have it, so a gRPC content type sent to them keeps its HTTP answer there.
 */
const RPC_PATH = /^\/[A-Za-z_]\w*(?:\.\w+)+\/[^/]+$/;

export interface ConnectHandler {
  (req: Req, res: Res, path: string): Promise<void>;
  /** True for a registered RPC path, and for a gRPC or gRPC-web request to any RPC-shaped path (unknown methods are answered as gRPC does). */
  handles(req: Req, path: string): boolean;
}

/**
 * connect-node's adapter, plus: deadlines clamped to what Node can time, request-reading errors
 * answered as the client's, failures logged through our logger, unknown RPC paths answered with 404
 * (Connect) or grpc-status 12 (gRPC, gRPC-web).
 *
 * With `authenticate`, a POST is authenticated from its headers before connect reads the body. The
 * outcome goes to the service implementation in the context (preAuthKey); on a failure connect gets
 * an empty message instead of the client's body, so the error is answered in the request's protocol
 * without the server reading (or buffering) a body from an unauthenticated caller.
 */
export function createConnectHandler(opts: {
  routes: (router: ConnectRouter) => void;
  readMaxBytes: number;
  log: Logger;
  authenticate?: Pipeline["authenticate"];
  /** The client's address for the limits (api/client-address.ts); the socket's peer without it. */
  clientAddress?: ClientAddress;
}): ConnectHandler {
  const clientAddress = opts.clientAddress ?? createClientAddress([]);
  const router = createConnectRouter({ readMaxBytes: opts.readMaxBytes, acceptCompression: [compressionGzip, compressionBrotli] });
  opts.routes(router);
  const paths = new Map(router.handlers.map((h) => [h.requestPath, h]));
  const services = new Set(router.handlers.map((h) => h.service.typeName));
  const handle = async (req: Req, res: Res, path: string): Promise<void> => {
    const handler = paths.get(path);
    const info = requestInfo(req);
    if (info) {
      const contentType = req.headers["content-type"] ?? "";
      info.protocol = GRPC_WEB_CONTENT_TYPE.test(contentType) ? "grpc-web" : GRPC_CONTENT_TYPE.test(contentType) ? "grpc" : "connect";
    }
    if (!handler) {
      req.resume();
      if (info && isGrpcRequest(req)) info.code = "Unimplemented";
      if (isGrpcRequest(req)) return sendGrpcStatus(req, res, GRPC_UNIMPLEMENTED, unknownMethodMessage(path, services));
      return sendJson(res, 404, JSON.stringify({ code: 5, message: "Not Found" }));
    }
    clampDeadlines(req);
    try {
      const peer = clientAddress(req);
      const values = peerContext(peer);
      if (info) {
        info.service = handler.method.parent.typeName;
        info.method = handler.method.name;
        values.set(infoKey, info);
      }
      let uReq = universalRequestFromNodeRequest(req as never, res as never, undefined, values);
      if (opts.authenticate && req.method === "POST") {
        try {
          const a = opts.authenticate(handler.method, (name) => header(req, name), peer);
          const principal = a instanceof Promise ? await a : a;
          if (principal) values.set(preAuthKey, { principal });
        } catch (error) {
          values.set(preAuthKey, { error });
          const empty = emptyBody(header(req, "content-type"));
          if (empty) {
            const h = new Headers(uReq.header);
            h.delete("content-encoding");
            h.delete("content-length");
            uReq = { ...uReq, header: h, body: once(empty) };
            const close = unreadBodyHeaders(req);
            if (close) for (const [k, v] of Object.entries(close)) res.setHeader(k, v);
          }
        }
      }
      const uRes = await handler(uReq);
      await universalResponseToNodeResponse(await reclassifyReadErrors(uRes), res as never);
    } catch (e) {
      opts.log.debug({ err: e, rpc: handler.method.name, reqId: req.headers["x-request-id"] }, "rpc stream ended early");
      if (!res.headersSent) sendJson(res, 500, JSON.stringify({ code: "internal", message: "Errors.Internal (RECOVER)" }));
      else res.destroy?.();
    }
  };
  return Object.assign(handle, { handles: (req: Req, path: string) => paths.has(path) || (RPC_PATH.test(path) && isGrpcRequest(req)) });
}

const GRPC_UNIMPLEMENTED = 12;

/** grpc-go's wording (server.go handleStream). */
function unknownMethodMessage(path: string, services: ReadonlySet<string>): string {
  const slash = path.lastIndexOf("/");
  if (slash <= 0) return `malformed method name: ${JSON.stringify(path)}`;
  const service = path.slice(1, slash);
  const method = path.slice(slash + 1);
  return services.has(service) ? `unknown method ${method} for service ${service}` : `unknown service ${service}`;
}

/**
 * A status-only gRPC answer: HTTP 200 with grpc-status/grpc-message in the headers (gRPC's Trailers-Only
 * response; over HTTP/1.1 the same headers), or for gRPC-web a body holding just the trailer frame (flag
 * 0x80), base64 for -text.
 */
function sendGrpcStatus(req: Req, res: Res, code: number, message: string): void {
  if (res.headersSent) return;
  const contentType = req.headers["content-type"] ?? "application/grpc";
  const web = /^application\/grpc-web/i.test(contentType);
  const text = /^application\/grpc-web-text/i.test(contentType);
  const status = { "grpc-status": String(code), "grpc-message": encodeGrpcMessage(message) };
  if (!web) {
    const headers = { "content-type": contentType.split(";")[0]!.trim().toLowerCase(), ...status };
    // Over HTTP/2 one HEADERS frame with END_STREAM, as the gRPC spec's Trailers-Only. The compat API's
    // writeHead + end sends an empty DATA frame to end the stream, which gRPC's C core reads as a stream
    // without trailers ("Stream removed").
    if ("stream" in res) return void res.stream.respond({ ...res.getHeaders(), ":status": 200, ...headers }, { endStream: true });
    (res as ServerResponse).writeHead(200, headers);
    res.end();
    return;
  }
  const trailer = Buffer.from(Object.entries(status).map(([k, v]) => `${k}: ${v}\r\n`).join(""));
  const frame = Buffer.alloc(5 + trailer.length);
  frame[0] = 0x80;
  frame.writeUInt32BE(trailer.length, 1);
  trailer.copy(frame, 5);
  const body = text ? Buffer.from(frame.toString("base64")) : frame;
  (res as ServerResponse).writeHead(200, { "content-type": text ? "application/grpc-web-text+proto" : "application/grpc-web+proto", "content-length": String(body.length) });
  res.end(body);
}

/** gRPC's Percent-Encoded grpc-message: UTF-8, with bytes outside 0x20–0x7E and "%" escaped. */
function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  return out;
}
