import { createConnectRouter, type ConnectRouter } from "@connectrpc/connect";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { header, sendJson, unreadBodyHeaders, type Req, type Res } from "../http-util.js";
import type { Pipeline } from "../pipeline.js";
import { peerContext, preAuthKey } from "./routes.js";
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

/**
 * connect-node's adapter, plus: deadlines clamped to what Node can time, request-reading errors
 * answered as the client's, failures logged through our logger, unknown RPC paths answered with 404.
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
}) {
  const clientAddress = opts.clientAddress ?? createClientAddress([]);
  const router = createConnectRouter({ readMaxBytes: opts.readMaxBytes, acceptCompression: [compressionGzip, compressionBrotli] });
  opts.routes(router);
  const paths = new Map(router.handlers.map((h) => [h.requestPath, h]));
  return async (req: Req, res: Res, path: string): Promise<void> => {
    const handler = paths.get(path);
    if (!handler) return sendJson(res, 404, JSON.stringify({ code: 5, message: "Not Found" }));
    clampDeadlines(req);
    try {
      const peer = clientAddress(req);
      const values = peerContext(peer);
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
}
