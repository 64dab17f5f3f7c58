import { readFileSync } from "node:fs";
import http from "node:http";
import http2, { type Http2ServerResponse } from "node:http2";
import net from "node:net";
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type { Deps } from "../app/core/context.js";
import { assignRequestId } from "./request-id.js";
import { sendJson, setResponseRequestId, stampRequestId, type Req, type Res } from "../api/http-util.js";
import { createOAuthRoutes } from "../api/oauth/endpoints.js";
import { createClientAddress } from "../api/client-address.js";
import { enforceHttp2Limits, http2ServerOptions } from "./http2-limits.js";
import { attachRequestInfo, requestInfo, type RequestInfo } from "../api/request-info.js";
import { createMetricsEndpoint, type MetricsSource } from "./metrics-endpoint.js";
import type { Span } from "../telemetry/tracing.js";
import { CONSOLE_PREFIX, createConsoleHandler } from "./console-ui.js";
import type { ApiHandlers } from "./api-handlers.js";

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

const { NGHTTP2_NO_ERROR } = http2.constants;

/** HTTP/2 connection preface; on a cleartext port it tells gRPC (prior knowledge) from HTTP/1.1. */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** How long a new connection may take to send its first bytes, and HTTP/1.1 its headers (the whole request: config.requestTimeoutMs). */
const SNIFF_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 20_000;

/** What the server adds to the request's info while it is answered (see onAnswered). */
interface ServedInfo extends RequestInfo {
  started: number;
  span: Span | undefined;
}

/** The gRPC codes that mark a server span failed (OpenTelemetry's RPC conventions); the others are the client's. */
const SERVER_FAULTS = new Set(["Unknown", "DeadlineExceeded", "Unimplemented", "Internal", "Unavailable", "DataLoss"]);

/** Other paths of the one port, by name; anything else counts as "" (no label per unknown path). */
const PLAIN_PATHS: Record<string, string> = { "/debug/healthz": "healthz", "/debug/ready": "ready", "/debug/metrics": "metrics" };

export interface ServerOptions {
  /** Where /debug/metrics takes its text from (the worker supervisor's merge); this process's registry by default. */
  metrics?: MetricsSource;
}

export async function startServer(deps: Deps, log: Logger, ready: () => Promise<boolean>, opts: ServerOptions = {}): Promise<RunningServer> {
  const { config, metrics, tracing } = deps;
  // One client address for every protocol's limits (the OAuth edge builds the same from the config).
  const clientAddress = createClientAddress(config.trustedProxies);
  const oauth = createOAuthRoutes(deps, log);
  const metricsEndpoint = metrics.registry ? createMetricsEndpoint(opts.metrics ?? (() => metrics.registry!.metrics()), config.metrics.token) : undefined;
  const observe = metrics.registry !== undefined || tracing.enabled;
  const consoleUi = createConsoleHandler();
  // The API services (api-handlers.ts) are loaded by the first request that needs one: their
  // descriptors are most of a start's work and 30-40 MiB of memory, and the OAuth endpoints, /debug
  // and the console's files do not need them (a token-only sidecar never loads them). That request
  // waits for the load, once, about 0.3-0.5 s; the ones arriving meanwhile wait for the same load.
  let api: ApiHandlers | undefined;
  let apiLoad: Promise<ApiHandlers> | undefined;
  let apiFailed = false;
  const loadApi = (): Promise<ApiHandlers> => {
    if (apiLoad) return apiLoad;
    const started = performance.now();
    return (apiLoad = import("./api-handlers.js").then(
      (m) => {
        api = m.createApiHandlers(deps, log, clientAddress);
        log.info({ ms: Math.round(performance.now() - started) }, "API services loaded (first API request)");
        return api;
      },
      (err: unknown) => {
        // A broken build: reported once, not ready from now on, and every API request answers 500.
        apiFailed = true;
        log.error({ err }, "loading the API services failed");
        throw err;
      },
    ));
  };
  let draining = false;

  /** Once the answer is out (or the stream went away): the request's metrics and the end of its span. */
  function onAnswered(this: Res) {
    const info = requestInfo(this.req) as ServedInfo;
    const code = info.code || String(this.statusCode);
    metrics.requests.labels(info.protocol, info.service, info.method, code).inc();
    metrics.requestDuration.labels(info.protocol, info.service, info.method).observe((performance.now() - info.started) / 1000);
    const span = info.span;
    if (span) {
      if (info.service) {
        span.updateName(info.protocol === "oauth" || !info.method ? `${this.req.method} ${info.service}` : `${info.service}/${info.method}`);
        span.setAttribute("rpc.service", info.service);
        span.setAttribute("rpc.method", info.method);
      }
      span.setAttribute("http.response.status_code", this.statusCode);
      if (info.code) span.setAttribute("rpc.grpc.status_code", info.code);
      if (this.statusCode >= 500 || SERVER_FAULTS.has(info.code)) span.recordError(new Error(info.code || `HTTP ${this.statusCode}`));
      span.end();
    }
  }

  const accessLog = log.isLevelEnabled("debug");
  const handle = async (req: Req, res: Res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    // Every answer names its request (the caller's x-request-id or traceparent trace id, else a new
    // one: with tracing on, the new trace's id, so that log lines and the trace share it).
    const named = tracing.enabled && (req.headers["x-request-id"] !== undefined || req.headers.traceparent !== undefined);
    let reqId = assignRequestId(req);
    // Sent as x-request-id by sendJson in its writeHead, or set by stampRequestId for other responders.
    setResponseRequestId(res, reqId);
    if (observe) {
      // The edge that takes the request says what it is (connect adapter, REST, OAuth).
      const info: ServedInfo = {
        protocol: "http",
        service: "",
        method: PLAIN_PATHS[path] ?? "",
        code: "",
        started: performance.now(),
        span: undefined,
      };
      attachRequestInfo(req, info);
      res.on("close", onAnswered); // once per response; "on" spares once()'s wrapper
      if (tracing.enabled) {
        const traceparent = req.headers.traceparent;
        return tracing.serverSpan(
          `${req.method} ${info.method || "request"}`,
          typeof traceparent === "string" ? traceparent : undefined,
          { "http.request.method": req.method ?? "", "url.path": path, "portcullis.request_id": reqId, "network.protocol.version": req.httpVersion },
          (span) => {
            info.span = span;
            if (!named) {
              reqId = span.traceId;
              (req.headers as Record<string, string | string[] | undefined>)["x-request-id"] = reqId;
              setResponseRequestId(res, reqId);
              span.setAttribute("portcullis.request_id", reqId);
            }
            return serve(req, res, url, path, q);
          },
        );
      }
    }
    return serve(req, res, url, path, q);
  };

  const serve = async (req: Req, res: Res, url: string, path: string, q: number) => {
    const reqId = req.headers["x-request-id"] as string;
    if (accessLog) {
      // Path only: query strings may carry values a log should not keep.
      const started = performance.now();
      let finished = false;
      res.once("finish", () => (finished = true));
      res.once("close", () => {
        // HTTP/1.1 emits "finish" once the response is out; HTTP/2 (compat) emits it on every stream close,
        // so there what counts is whether the handler ended the response and the stream closed without a reset.
        const answered = req.httpVersionMajor === 2 ? res.writableEnded && (res as Http2ServerResponse).stream?.rstCode === NGHTTP2_NO_ERROR : finished;
        const ms = Math.round((performance.now() - started) * 10) / 10;
        if (answered) log.debug({ reqId, method: req.method, path, status: res.statusCode, ms, proto: req.httpVersion }, "request");
        // The client went away (or its stream was reset) before the answer.
        else log.debug({ reqId, method: req.method, path, ms, proto: req.httpVersion }, "request aborted");
      });
    }
    try {
      // An RPC path is checked first, as connect answers any gRPC request to an RPC-shaped path;
      // none of the OAuth or /debug paths is one. The OAuth endpoints, /debug and REST answer through
      // sendJson (which sends x-request-id with the other headers); the other responders write their own.
      if (api?.handlesRpc(req, path)) return await api.rpc(req, res, path);
      const o = oauth.handle(req, res, path);
      if (o === true || (o !== false && (await o))) return;
      if (path === "/debug/healthz") return sendJson(res, 200, '{"status":"ok"}');
      if (path === "/debug/metrics" && metricsEndpoint) {
        stampRequestId(res);
        return await metricsEndpoint(req, res);
      }
      if (path === "/debug/ready") {
        const ok = !draining && !apiFailed && (await ready());
        return sendJson(res, ok ? 200 : 503, ok ? '{"status":"ready"}' : '{"status":"not ready"}');
      }
      if (path.startsWith(CONSOLE_PREFIX)) {
        stampRequestId(res);
        if (consoleUi(req, res, path)) return;
      }
      const a = api ?? (await loadApi());
      if (a.handlesRpc(req, path)) return await a.rpc(req, res, path);
      return await a.serve(req, res, path, q < 0 ? "" : url.slice(q + 1));
    } catch (e) {
      log.error({ err: e, path, reqId }, "request failed");
      sendJson(res, 500, JSON.stringify({ code: 13, message: "Errors.Internal (RECOVER)" }));
    }
  };

  // Node requires headersTimeout <= requestTimeout, and checks both every connectionsCheckingInterval.
  const requestTimeout = config.requestTimeoutMs;
  const h1Timeouts = { headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeout), requestTimeout, connectionsCheckingInterval: Math.min(5_000, requestTimeout) };
  const h1 = http.createServer({ keepAliveTimeout: 65_000, ...h1Timeouts }, (req, res) => void handle(req, res));
  const limits = { ...config.http2, requestTimeoutMs: requestTimeout };
  const h2 = config.tls
    ? http2.createSecureServer({ ...http2ServerOptions(limits), allowHTTP1: true, cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) }, (req, res) => void handle(req, res))
    : http2.createServer(http2ServerOptions(limits), (req, res) => void handle(req, res));
  if (config.tls) {
    // HTTP/1.1 over TLS (ALPN) is served by the http2 server itself, with Node's defaults (300 s / 60 s,
    // checked every 30 s) unless set here; they take effect on "listening".
    Object.assign(h2, h1Timeouts);
  }
  h2.on("sessionError", (err) => log.debug({ err }, "http2 session error"));
  // Per-stream request timeout and idle sessions; concurrent streams and session memory via the options above.
  enforceHttp2Limits(h2, limits, log);

  const sockets = new Set<net.Socket>();
  const front = config.tls
    ? (h2 as unknown as net.Server)
    : net.createServer({ noDelay: true }, (socket) => {
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
      api?.drain();
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
