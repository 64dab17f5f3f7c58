import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type { Deps } from "../app/core/context.js";
import { registerServices } from "../api/connect/routes.js";
import { createConnectHandler } from "../api/connect/adapter.js";
import { sendJson, type Req, type Res } from "../api/http-util.js";
import { apiServices } from "../api/services/catalog.js";
import { registerReflection } from "../api/reflection/reflection.js";
import { createOpenApiHandler } from "../api/openapi/handler.js";
import { createOAuthRoutes } from "../api/oauth/endpoints.js";
import { createPipeline } from "../api/pipeline.js";
import { createRestHandler } from "../api/rest/handler.js";

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

/** HTTP/2 connection preface; on a cleartext port it tells gRPC (prior knowledge) from HTTP/1.1. */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** How long a new connection may take to send its first bytes, and HTTP/1.1 its headers and request. */
const SNIFF_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 60_000;
const H2_IDLE_MS = 5 * 60_000;

export async function startServer(deps: Deps, log: Logger, ready: () => Promise<boolean>): Promise<RunningServer> {
  const { config } = deps;
  const services = [...apiServices];
  const pipeline = createPipeline(deps, services);
  const connect = createConnectHandler({
    routes: (router) => {
      registerServices(router, services.map((s) => s.service), pipeline, log);
      // Public, outside the pipeline (as ZITADEL's grpc-go reflection.Register).
      registerReflection(router, services.map((s) => s.service));
    },
    readMaxBytes: config.maxBodyBytes,
    log,
  });
  const rest = createRestHandler(services, pipeline, config.maxBodyBytes, log);
  const oauth = createOAuthRoutes(deps, log);
  const openapi = createOpenApiHandler(services);
  let draining = false;

  const accessLog = log.isLevelEnabled("debug");
  const handle = async (req: Req, res: Res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    if (accessLog) {
      // Path only: query strings may carry values a log should not keep.
      const started = performance.now();
      const reqId = requestId(req);
      res.setHeader("x-request-id", reqId);
      res.once("finish", () =>
        log.debug({ reqId, method: req.method, path, status: res.statusCode, ms: Math.round((performance.now() - started) * 10) / 10, proto: req.httpVersion }, "request"),
      );
    }
    try {
      if (connect.handles(req, path)) return await connect(req, res, path);
      const o = oauth.handle(req, res, path);
      if (o === true || (o !== false && (await o))) return;
      if (path === "/debug/healthz") return sendJson(res, 200, '{"status":"ok"}');
      if (path === "/debug/ready") {
        const ok = !draining && (await ready());
        return sendJson(res, ok ? 200 : 503, ok ? '{"status":"ready"}' : '{"status":"not ready"}');
      }
      if (openapi(req, res, path)) return;
      return await rest(req, res, path, q < 0 ? "" : url.slice(q + 1));
    } catch (e) {
      log.error({ err: e, path, reqId: requestId(req) }, "request failed");
      sendJson(res, 500, JSON.stringify({ code: 13, message: "Errors.Internal (RECOVER)" }));
    }
  };

  const h1 = http.createServer({ keepAliveTimeout: 65_000, headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 5_000 }, (req, res) => void handle(req, res));
  const h2 = config.tls
    ? http2.createSecureServer({ allowHTTP1: true, cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) }, (req, res) => void handle(req, res))
    : http2.createServer({}, (req, res) => void handle(req, res));
  h2.on("sessionError", (err) => log.debug({ err }, "http2 session error"));
  // An HTTP/2 connection that carries nothing for this long is closed (GOAWAY); clients reconnect.
  h2.on("session", (session) => session.setTimeout(H2_IDLE_MS, () => session.close()));

  const sockets = new Set<net.Socket>();
  const front = config.tls
    ? (h2 as unknown as net.Server)
    : net.createServer((socket) => {
        sockets.add(socket);
        socket.once("close", () => sockets.delete(socket));
        socket.once("error", () => socket.destroy());
        // A connection that never says which protocol it speaks is closed (slowloris).
        socket.setTimeout(SNIFF_TIMEOUT_MS, () => socket.destroy());
        let head = Buffer.alloc(0);
        const onReadable = () => {
          let chunk: Buffer | null;
          while ((chunk = socket.read() as Buffer | null) !== null) head = Buffer.concat([head, chunk]);
          const n = Math.min(head.length, H2_PREFACE.length);
          const h2Prefix = n > 0 && head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
          // "P" could be POST or the preface: wait until the bytes decide.
          if (n === 0 || (h2Prefix && n < H2_PREFACE.length)) return;
          socket.off("readable", onReadable);
          socket.setTimeout(0);
          socket.unshift(head);
          (h2Prefix ? h2 : h1).emit("connection", socket);
        };
        socket.on("readable", onReadable);
      });

  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.listen(config.port, config.host, () => resolve());
  });
  const address = front.address() as net.AddressInfo;
  // h1 never listens itself; Node starts enforcing headersTimeout/requestTimeout on "listening".
  if (!config.tls) h1.emit("listening");

  return {
    port: address.port,
    async close() {
      draining = true;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          for (const s of sockets) s.destroy();
          resolve();
        }, config.shutdownTimeoutMs);
        front.close(() => {
          clearTimeout(timer);
          resolve();
        });
        h1.closeIdleConnections();
        (h1 as http.Server).close();
        h2.close();
        // Idle keep-alive sockets that never become requests would hold the port open.
        for (const s of sockets) if (!(s as net.Socket & { _httpMessage?: unknown })._httpMessage) s.end();
      });
    },
  };
}

export const requestId = (req: Req): string => {
  const existing = req.headers["x-request-id"];
  return typeof existing === "string" && existing.length <= 128 ? existing : randomUUID();
};
