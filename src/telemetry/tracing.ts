/**
 * Tracing: the small facade the code calls (request, command, store push, cluster barrier spans),
 * a no-op unless enabled. Enabled, spans nest through AsyncLocalStorage (only then: its promise
 * hooks would cost every request on Node 20) and go to an exporter: the OTLP/HTTP JSON one
 * (otlp-exporter.ts, from the standard OTEL_* variables) or an in-memory one (tests).
 *
 * The model is OpenTelemetry's (trace and span ids, W3C trace context, kinds, status, attributes),
 * so an adapter onto @opentelemetry/api, should the SDK be wanted, maps one to one.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";

export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue>;

export const SpanKind = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export interface Span {
  /** The trace's id (32 hex digits; "" when not tracing). */
  readonly traceId: string;
  setAttribute(key: string, value: AttributeValue): void;
  updateName(name: string): void;
  /** Marks the span failed, with the error's type and message as an exception event. */
  recordError(e: unknown): void;
  end(): void;
}

/** A finished span, as exporters get it. */
export interface SpanData {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  startUnixNano: bigint;
  endUnixNano: bigint;
  attributes: Attributes;
  status: { code: number; message?: string };
  events: { name: string; timeUnixNano: bigint; attributes: Attributes }[];
}

export interface SpanExporter {
  export(spans: SpanData[]): void;
  /** Sends what is buffered; resolves when done. */
  shutdown(): Promise<void>;
}

export interface Tracing {
  readonly enabled: boolean;
  /**
   * Runs `fn` in a new span, a child of the current one. The span ends when `fn` returns or its
   * promise settles; a throw or rejection marks it failed.
   */
  inSpan<T>(name: string, attributes: Attributes | undefined, fn: (span: Span) => T): T;
  /**
   * A server span for an incoming request, continuing the caller's trace when `traceparent` is a
   * valid W3C header; `fn` runs with it current. The caller ends it (when the answer is out).
   */
  serverSpan<T>(name: string, traceparent: string | undefined, attributes: Attributes, fn: (span: Span) => T): T;
  shutdown(): Promise<void>;
}

const noopSpan: Span = { traceId: "", setAttribute() {}, updateName() {}, recordError() {}, end() {} };

export const noTracing: Tracing = {
  enabled: false,
  inSpan: (_name, _attributes, fn) => fn(noopSpan),
  serverSpan: (_name, _traceparent, _attributes, fn) => fn(noopSpan),
  shutdown: async () => undefined,
};

/** W3C Trace Context §3.2: version 00 (and later versions' first four fields), non-zero ids. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

export interface ParentContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

export function parseTraceparent(header: string | undefined): ParentContext | undefined {
  const m = header ? TRACEPARENT.exec(header.trim()) : null;
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === "ff" || traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  if (version === "00" && rest !== undefined) return undefined;
  return { traceId: traceId!, spanId: spanId!, sampled: (parseInt(flags!, 16) & 1) === 1 };
}

const nowNano = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;

interface LiveSpan extends Span {
  readonly data: SpanData;
  readonly sampled: boolean;
}

/** Tracing into `exporter`. Spans whose caller's traceparent says "not sampled" are not recorded (parent-based sampling). */
export function createTracing(exporter: SpanExporter): Tracing {
  const current = new AsyncLocalStorage<LiveSpan>();

  function start(name: string, kind: number, parent: ParentContext | undefined, attributes: Attributes | undefined): LiveSpan {
    const data: SpanData = {
      name,
      kind,
      traceId: parent?.traceId ?? randomBytes(16).toString("hex"),
      spanId: randomBytes(8).toString("hex"),
      parentSpanId: parent?.spanId,
      startUnixNano: nowNano(),
      endUnixNano: 0n,
      attributes: { ...attributes },
      status: { code: StatusCode.UNSET },
      events: [],
    };
    const sampled = parent?.sampled ?? true;
    let ended = false;
    return {
      data,
      sampled,
      traceId: data.traceId,
      setAttribute: (k, v) => void (data.attributes[k] = v),
      updateName: (n) => void (data.name = n),
      recordError(e) {
        const err = e instanceof Error ? e : new Error(String(e));
        data.status = { code: StatusCode.ERROR, message: err.message };
        data.events.push({ name: "exception", timeUnixNano: nowNano(), attributes: { "exception.type": err.name, "exception.message": err.message } });
      },
      end() {
        if (ended) return;
        ended = true;
        data.endUnixNano = nowNano();
        if (sampled) exporter.export([data]);
      },
    };
  }

  const contextOf = (s: LiveSpan | undefined): ParentContext | undefined => s && { traceId: s.data.traceId, spanId: s.data.spanId, sampled: s.sampled };

  return {
    enabled: true,
    inSpan(name, attributes, fn) {
      const span = start(name, SpanKind.INTERNAL, contextOf(current.getStore()), attributes);
      let r;
      try {
        r = current.run(span, fn, span);
      } catch (e) {
        span.recordError(e);
        span.end();
        throw e;
      }
      if (r instanceof Promise)
        return r.then(
          (v: unknown) => (span.end(), v),
          (e: unknown) => {
            span.recordError(e);
            span.end();
            throw e;
          },
        ) as typeof r;
      span.end();
      return r;
    },
    serverSpan(name, traceparent, attributes, fn) {
      const span = start(name, SpanKind.SERVER, parseTraceparent(traceparent), attributes);
      return current.run(span, fn, span);
    },
    shutdown: () => exporter.shutdown(),
  };
}

/** Keeps finished spans in memory (tests). */
export function createInMemoryExporter(): SpanExporter & { spans: SpanData[]; reset(): void } {
  const spans: SpanData[] = [];
  return {
    spans,
    export: (s) => void spans.push(...s),
    reset: () => void spans.splice(0),
    shutdown: async () => undefined,
  };
}
