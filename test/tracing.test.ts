import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { rest } from "./helpers/clients.js";
import { createInMemoryExporter, createTracing, noTracing, parseTraceparent, type SpanData } from "../src/telemetry/tracing.js";
import { createOtlpHttpExporter, tracingFromEnv } from "../src/telemetry/otlp-exporter.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";

/** Spans for the request, the command, the store push and the cluster barrier, in one trace continuing the caller's. */
describe("tracing", () => {
  const exporter = createInMemoryExporter();
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ storage: "postgres", tracing: createTracing(exporter) });
  });
  afterAll(async () => {
    await s?.close();
  });

  const waitForSpan = async (pred: (s: SpanData) => boolean) => {
    for (let i = 0; i < 100 && !exporter.spans.some(pred); i++) await new Promise((r) => setTimeout(r, 20));
    return exporter.spans.find(pred);
  };

  it("nests request → command → event_store.push → cluster.barrier under the caller's traceparent", async () => {
    exporter.reset();
    const r = await rest(s.url, "POST", "/management/v1/users/machine", {
      token: s.pat,
      body: { userName: "traced", name: "T" },
      headers: { traceparent: `00-${TRACE}-${PARENT}-01` },
    });
    expect(r.status).toBe(200);
    const request = await waitForSpan((x) => x.kind === 2 && x.traceId === TRACE);
    expect(request).toBeDefined();
    expect(request!.name).toBe("zitadel.management.v1.ManagementService/AddMachineUser");
    expect(request!.parentSpanId).toBe(PARENT);
    expect(request!.attributes).toMatchObject({ "http.request.method": "POST", "url.path": "/management/v1/users/machine", "rpc.grpc.status_code": "OK", "http.response.status_code": 200 });
    expect(request!.attributes["portcullis.request_id"]).toBe(r.headers.get("x-request-id"));

    const inTrace = exporter.spans.filter((x) => x.traceId === TRACE);
    const command = inTrace.find((x) => x.name === "command user.machine.added");
    const push = inTrace.find((x) => x.name === "event_store.push");
    const barrier = inTrace.find((x) => x.name === "cluster.barrier");
    expect(command?.parentSpanId).toBe(request!.spanId);
    expect(push?.parentSpanId).toBe(command!.spanId);
    expect(barrier?.parentSpanId).toBe(push!.spanId);
    expect(push!.attributes).toMatchObject({ "portcullis.events": 1, "portcullis.push_path": "script" });
    expect(barrier!.attributes["portcullis.peers"]).toBe(0);
    for (const x of [command!, push!, barrier!]) {
      expect(x.startUnixNano >= request!.startUnixNano).toBe(true);
      expect(x.endUnixNano <= request!.endUnixNano).toBe(true);
    }
  });

  it("starts a new trace without a traceparent, and records nothing for a caller that did not sample", async () => {
    exporter.reset();
    const r = await rest(s.url, "GET", "/management/v1/orgs/me", { token: s.pat });
    const span = await waitForSpan((x) => x.kind === 2);
    expect(span!.parentSpanId).toBeUndefined();
    expect(span!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span!.name).toBe("zitadel.management.v1.ManagementService/GetMyOrg");
    expect(r.status).toBe(200);
    // Without an id of the caller's, the request id is the new trace's id: log lines and the trace share it.
    expect(r.headers.get("x-request-id")).toBe(span!.traceId);
    expect(span!.attributes["portcullis.request_id"]).toBe(span!.traceId);

    exporter.reset();
    await rest(s.url, "GET", "/management/v1/orgs/me", { token: s.pat, headers: { traceparent: `00-${TRACE}-${PARENT}-00` } });
    await new Promise((r) => setTimeout(r, 100));
    expect(exporter.spans).toEqual([]);
  });

  it("marks failed server spans and names OAuth requests by endpoint", async () => {
    exporter.reset();
    await fetch(`${s.url}/oauth/v2/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "grant_type=client_credentials" });
    const span = await waitForSpan((x) => x.kind === 2);
    expect(span!.name).toBe("POST oauth");
    expect(span!.attributes["rpc.method"]).toBe("token");
    expect(span!.status.code).toBe(0); // a client error is not the server's fault
  });
});

describe("tracing configuration", () => {
  it("is off unless OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER is set", () => {
    const warn = () => undefined;
    expect(tracingFromEnv({}, "1", warn)).toBe(noTracing);
    expect(tracingFromEnv({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }, "1", warn)).toBe(noTracing);
    expect(tracingFromEnv({ OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }, "1", warn)).toBe(noTracing);
    const on = tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" }, "1", warn);
    expect(on.enabled).toBe(true);
    void on.shutdown();
  });

  it("parses W3C traceparent strictly", () => {
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-01`)).toEqual({ traceId: TRACE, spanId: PARENT, sampled: true });
    expect(parseTraceparent(`00-${"0".repeat(32)}-${PARENT}-01`)).toBeUndefined();
    expect(parseTraceparent(`00-${TRACE}-${"0".repeat(16)}-01`)).toBeUndefined();
    expect(parseTraceparent(`ff-${TRACE}-${PARENT}-01`)).toBeUndefined();
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-01-extra`)).toBeUndefined();
    expect(parseTraceparent(`01-${TRACE}-${PARENT}-01-extra`)).toEqual({ traceId: TRACE, spanId: PARENT, sampled: true });
    expect(parseTraceparent(`00-${TRACE.toUpperCase()}-${PARENT}-01`)).toBeUndefined();
  });

  it("sends spans as OTLP/HTTP JSON to <endpoint>/v1/traces", async () => {
    const received: { url?: string; headers: http.IncomingHttpHeaders; body: any }[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
    const collector = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        received.push({ url: req.url, headers: req.headers, body: JSON.parse(body) });
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((r) => collector.listen(0, "127.0.0.1", r));
    const port = (collector.address() as { port: number }).port;
    try {
      const tracing = tracingFromEnv(
        { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}/`, OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=k%201", OTEL_SERVICE_NAME: "pc-test" },
        "9.9.9",
        (m) => {
          throw new Error(m);
        },
      );
      await tracing.serverSpan("outer", `00-${TRACE}-${PARENT}-01`, { a: "b" }, async (span) => {
        await tracing.inSpan("inner", { n: 2, f: 1.5, ok: true }, async () => undefined);
        span.end();
      });
      await tracing.shutdown();
      expect(received).toHaveLength(1);
      expect(received[0]!.url).toBe("/v1/traces");
      expect(received[0]!.headers["content-type"]).toBe("application/json");
      expect(received[0]!.headers["x-api-key"]).toBe("k 1");
      const rs = received[0]!.body.resourceSpans[0];
      expect(rs.resource.attributes).toContainEqual({ key: "service.name", value: { stringValue: "pc-test" } });
      const spans = rs.scopeSpans[0].spans as Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(spans.map((x) => x.name)).toEqual(["inner", "outer"]);
      const [inner, outer] = spans as [Record<string, any>, Record<string, any>]; // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(outer).toMatchObject({ traceId: TRACE, parentSpanId: PARENT, kind: 2, attributes: [{ key: "a", value: { stringValue: "b" } }] });
      expect(inner).toMatchObject({ traceId: TRACE, parentSpanId: outer.spanId, kind: 1 });
      expect(inner.attributes).toEqual([
        { key: "n", value: { intValue: "2" } },
        { key: "f", value: { doubleValue: 1.5 } },
        { key: "ok", value: { boolValue: true } },
      ]);
      expect(BigInt(inner.endTimeUnixNano) >= BigInt(inner.startTimeUnixNano)).toBe(true);
    } finally {
      collector.close();
    }
  });

  it("drops nothing silently: an unreachable collector is warned about", async () => {
    const warnings: string[] = [];
    const ex = createOtlpHttpExporter({ url: "http://127.0.0.1:9/v1/traces", headers: {}, serviceName: "x", version: "1", warn: (m) => warnings.push(m) });
    const t = createTracing(ex);
    t.inSpan("a", undefined, () => undefined);
    await t.shutdown();
    expect(warnings[0]).toMatch(/^tracing: cannot send spans to http:\/\/127\.0\.0\.1:9\/v1\/traces/);
  });
});
