/**
 * OTLP/HTTP with the JSON encoding (https://opentelemetry.io/docs/specs/otlp/#otlphttp): spans are
 * batched and POSTed to <endpoint>/v1/traces, which every OpenTelemetry Collector (port 4318),
 * Jaeger, Tempo and most vendors accept. Configured by the standard variables:
 *
 *   OTEL_TRACES_EXPORTER          otlp (default once tracing is on) | none
 *   OTEL_EXPORTER_OTLP_ENDPOINT   base URL (default http://localhost:4318); /v1/traces is appended
 *   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT  the full URL, used as given
 *   OTEL_EXPORTER_OTLP_HEADERS / OTEL_EXPORTER_OTLP_TRACES_HEADERS  k=v,k2=v2 (URL-encoded values)
 *   OTEL_EXPORTER_OTLP_PROTOCOL   only http/json is spoken; another value is warned about
 *   OTEL_SERVICE_NAME             default "portcullis"
 *
 * Export never blocks a request: a full queue drops spans (counted in the warning), a failed POST
 * is logged once per minute.
 */
import { createTracing, noTracing, type Attributes, type SpanData, type SpanExporter, type Tracing } from "./tracing.js";

const MAX_QUEUE = 2048;
const MAX_BATCH = 512;
const FLUSH_MS = 1000;
const POST_TIMEOUT_MS = 10_000;

type Warn = (message: string) => void;

function otlpValue(v: Attributes[string]) {
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
}
const otlpAttributes = (a: Attributes) => Object.entries(a).map(([key, value]) => ({ key, value: otlpValue(value) }));

/** The ExportTraceServiceRequest JSON of `spans` (ids as hex, times as decimal strings of nanoseconds). */
export function otlpTraceRequest(spans: SpanData[], serviceName: string, version: string) {
  return {
    resourceSpans: [
      {
        resource: { attributes: otlpAttributes({ "service.name": serviceName, "service.version": version, "telemetry.sdk.name": "portcullis", "telemetry.sdk.language": "nodejs" }) },
        scopeSpans: [
          {
            scope: { name: "portcullis", version },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: s.kind,
              startTimeUnixNano: String(s.startUnixNano),
              endTimeUnixNano: String(s.endUnixNano),
              attributes: otlpAttributes(s.attributes),
              events: s.events.map((e) => ({ name: e.name, timeUnixNano: String(e.timeUnixNano), attributes: otlpAttributes(e.attributes) })),
              status: s.status.message ? s.status : { code: s.status.code },
            })),
          },
        ],
      },
    ],
  };
}

export function parseOtlpHeaders(v: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (v ?? "").split(",")) {
    const i = part.indexOf("=");
    if (i <= 0) continue;
    try {
      out[decodeURIComponent(part.slice(0, i).trim())] = decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      /* a malformed pair is skipped, as the SDKs do */
    }
  }
  return out;
}

export function createOtlpHttpExporter(opts: { url: string; headers: Record<string, string>; serviceName: string; version: string; warn: Warn }): SpanExporter {
  let queue: SpanData[] = [];
  let dropped = 0;
  let lastWarn = -Infinity;
  let inFlight: Promise<void> = Promise.resolve();
  const warnSometimes = (m: string) => {
    if (performance.now() - lastWarn < 60_000) return;
    lastWarn = performance.now();
    opts.warn(m);
  };
  const post = async (spans: SpanData[]) => {
    try {
      const res = await fetch(opts.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...opts.headers },
        body: JSON.stringify(otlpTraceRequest(spans, opts.serviceName, opts.version)),
        signal: AbortSignal.timeout(POST_TIMEOUT_MS),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) warnSometimes(`tracing: the OTLP endpoint ${opts.url} answered ${res.status}; spans were dropped`);
    } catch (e) {
      warnSometimes(`tracing: cannot send spans to ${opts.url}: ${(e as Error).message}`);
    }
  };
  const flush = () => {
    if (dropped > 0) {
      warnSometimes(`tracing: ${dropped} spans dropped (export queue full)`);
      dropped = 0;
    }
    while (queue.length > 0) {
      const batch = queue.slice(0, MAX_BATCH);
      queue = queue.slice(MAX_BATCH);
      inFlight = inFlight.then(() => post(batch));
    }
    return inFlight;
  };
  const timer = setInterval(() => void flush(), FLUSH_MS);
  timer.unref();
  return {
    export(spans) {
      for (const s of spans) {
        if (queue.length >= MAX_QUEUE) dropped++;
        else queue.push(s);
      }
      if (queue.length >= MAX_BATCH) void flush();
    },
    async shutdown() {
      clearInterval(timer);
      await flush();
    },
  };
}

/**
 * Tracing as the standard OpenTelemetry variables ask: off unless OTEL_EXPORTER_OTLP_ENDPOINT (or
 * the traces one) or OTEL_TRACES_EXPORTER is set; OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true turns it off.
 */
export function tracingFromEnv(env: NodeJS.ProcessEnv, version: string, warn: Warn): Tracing {
  const exporterName = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const full = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return noTracing;
  if (!exporterName && !base && !full) return noTracing;
  if (exporterName === "none") return noTracing;
  if (exporterName && exporterName.split(",").every((n) => n.trim() !== "otlp")) {
    warn(`tracing: OTEL_TRACES_EXPORTER=${exporterName} is not supported (only otlp); tracing is off`);
    return noTracing;
  }
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim();
  if (protocol && protocol !== "http/json")
    warn(`tracing: OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported; sending OTLP/HTTP JSON (an OpenTelemetry Collector takes it on port 4318)`);
  const url = full || `${(base || "http://localhost:4318").replace(/\/+$/, "")}/v1/traces`;
  const headers = { ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS), ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) };
  return createTracing(createOtlpHttpExporter({ url, headers, serviceName: env.OTEL_SERVICE_NAME?.trim() || "portcullis", version, warn }));
}
