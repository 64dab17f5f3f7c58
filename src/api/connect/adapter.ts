import { createConnectRouter, type ConnectRouter } from "@connectrpc/connect";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { sendJson, type Req, type Res } from "../http-util.js";
import { peerContext } from "./routes.js";

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

/**
 * connect-node's adapter, plus: deadlines clamped to what Node can time, request-reading errors
 * answered as the client's, failures logged through our logger, unknown RPC paths answered with 404.
 */
export function createConnectHandler(opts: { routes: (router: ConnectRouter) => void; readMaxBytes: number; log: Logger }) {
  const router = createConnectRouter({ readMaxBytes: opts.readMaxBytes, acceptCompression: [compressionGzip, compressionBrotli] });
  opts.routes(router);
  const paths = new Map(router.handlers.map((h) => [h.requestPath, h]));
  return async (req: Req, res: Res, path: string): Promise<void> => {
    const handler = paths.get(path);
    if (!handler) return sendJson(res, 404, JSON.stringify({ code: 5, message: "Not Found" }));
    clampDeadlines(req);
    try {
      const uReq = universalRequestFromNodeRequest(req as never, res as never, undefined, peerContext(req));
      const uRes = await handler(uReq);
      await universalResponseToNodeResponse(await reclassifyReadErrors(uRes), res as never);
    } catch (e) {
      opts.log.debug({ err: e, rpc: handler.method.name, reqId: req.headers["x-request-id"] }, "rpc stream ended early");
      if (!res.headersSent) sendJson(res, 500, JSON.stringify({ code: "internal", message: "Errors.Internal (RECOVER)" }));
      else res.destroy?.();
    }
  };
}
