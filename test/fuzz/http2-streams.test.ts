/**
 * Property-based fuzzing of HTTP/2 stream behaviour on the shared port: sessions with random flow
 * control windows that open several streams at once (more than the server allows, sometimes), over
 * REST, gRPC, Connect and the token endpoint, whose bodies arrive whole, in delayed chunks, never
 * finish, or that the client resets or stops reading. The server must answer or end every stream in
 * bounded time — a complete request with a well-formed answer in its protocol (never a server-side
 * error), an unfinished one with 408 / DEADLINE_EXCEEDED or a reset, a stream beyond the limit
 * refused — and stay healthy. The limits are the configured ones (hostile-limits.test.ts checks each
 * on its own); this explores their combinations.
 */
import http2 from "node:http2";
import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { checkGrpcStatus, expectHealthy, fuzzParams, runsScaled, startFuzzTarget, statusStats, timeoutFor, type FuzzTarget } from "./support.js";

const MAX_STREAMS = 6;
const REQUEST_TIMEOUT_MS = 700;
const IDLE_MS = 1500;
/** A stream not ended this long after it opened is a hang (the longest pause of a client's reading included). */
const BOUND_MS = REQUEST_TIMEOUT_MS + 2 * IDLE_MS + 3000;
const { NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_INTERNAL_ERROR } = http2.constants;

type Kind = "rest-get" | "rest-search" | "token" | "grpc" | "connect";
type BodyPlan =
  | { how: "whole" }
  | { how: "chunks"; cuts: number; gapMs: number }
  | { how: "stall"; keep: number }
  | { how: "reset"; afterMs: number; code: number }
  | { how: "noread"; pauseMs: number };
interface StreamPlan {
  kind: Kind;
  body: BodyPlan;
  startDelayMs: number;
}
interface SessionPlan {
  initialWindowSize: number;
  streams: StreamPlan[];
}

/** A gRPC length-prefixed message. */
const envelope = (data: Uint8Array) => {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(data.length, 1);
  return Buffer.concat([head, data]);
};

interface Outcome {
  plan: StreamPlan;
  what: "answered" | "refused" | "reset" | "goaway" | "client-reset" | "hang";
  status?: number;
  fields: Record<string, string | string[] | undefined>;
  ms: number;
}

describe("HTTP/2 stream behaviour fuzzing", { timeout: timeoutFor(runsScaled(0.25), 6000) }, () => {
  let t: FuzzTarget;
  beforeAll(async () => {
    t = await startFuzzTarget({
      PORTCULLIS_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      PORTCULLIS_HTTP2_MAX_CONCURRENT_STREAMS: String(MAX_STREAMS),
      PORTCULLIS_HTTP2_IDLE_TIMEOUT_MS: String(IDLE_MS),
    });
  });
  afterAll(async () => {
    await t?.s.close();
  });

  function request(kind: Kind): { headers: http2.OutgoingHttpHeaders; body: Buffer } {
    const auth = { authorization: `Bearer ${t.fuzzer.pat}` };
    switch (kind) {
      case "rest-get":
        return { headers: { ":method": "GET", ":path": "/management/v1/orgs/me", ...auth }, body: Buffer.alloc(0) };
      case "rest-search":
        return { headers: { ":method": "POST", ":path": "/management/v1/users/_search", "content-type": "application/json", ...auth }, body: Buffer.from(JSON.stringify({ query: { limit: 5 } })) };
      case "token": {
        const basic = Buffer.from(`${encodeURIComponent(t.client.userName)}:${encodeURIComponent(t.client.secret)}`).toString("base64");
        return { headers: { ":method": "POST", ":path": "/oauth/v2/token", "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${basic}` }, body: Buffer.from("grant_type=client_credentials&scope=openid") };
      }
      case "grpc":
        return { headers: { ":method": "POST", ":path": "/zitadel.management.v1.ManagementService/GetMyOrg", "content-type": "application/grpc", te: "trailers", ...auth }, body: envelope(new Uint8Array()) };
      case "connect":
        return { headers: { ":method": "POST", ":path": "/zitadel.management.v1.ManagementService/ListUsers", "content-type": "application/json", ...auth }, body: Buffer.from("{}") };
    }
  }

  function runStream(session: http2.ClientHttp2Session, plan: StreamPlan): Promise<Outcome> {
    const started = Date.now();
    const { headers, body } = request(plan.kind);
    return new Promise((resolve) => {
      const fields: Record<string, string | string[] | undefined> = {};
      let status: number | undefined;
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const finish = (what: Outcome["what"]) => {
        if (settled) return;
        settled = true;
        for (const x of timers) clearTimeout(x);
        resolve({ plan, what, status, fields, ms: Date.now() - started });
      };
      timers.push(setTimeout(() => (finish("hang"), req?.close(NGHTTP2_CANCEL)), BOUND_MS));
      let req: http2.ClientHttp2Stream | undefined;
      try {
        req = session.request(headers, { endStream: body.length === 0 && plan.body.how !== "stall" });
      } catch {
        return finish(session.destroyed || session.closed ? "goaway" : "refused");
      }
      req.on("response", (h) => {
        status = Number(h[":status"]);
        Object.assign(fields, h);
      });
      req.on("trailers", (h) => Object.assign(fields, h));
      // A client that does not read its answer for a while (flow control stops the server's DATA).
      if (plan.body.how === "noread") timers.push(setTimeout(() => req!.resume(), plan.body.pauseMs));
      else req.on("data", () => {});
      req.on("end", () => finish("answered"));
      req.on("error", () => {});
      req.on("close", () => {
        if (settled) return;
        const code = req!.rstCode;
        if (plan.body.how === "reset") return finish("client-reset");
        if (status !== undefined && (code === NGHTTP2_NO_ERROR || code === undefined)) return finish("answered");
        if (code === NGHTTP2_REFUSED_STREAM) return finish("refused");
        if (session.destroyed || session.closed) return finish(status !== undefined ? "answered" : "goaway");
        finish(status !== undefined ? "answered" : "reset");
      });
      const b = plan.body;
      if (body.length === 0 && b.how !== "stall" && b.how !== "reset") return;
      switch (b.how) {
        case "whole":
        case "noread":
          req.end(body);
          break;
        case "chunks": {
          const size = Math.max(1, Math.ceil(body.length / b.cuts));
          let at = 0;
          const next = () => {
            if (req!.destroyed) return;
            const piece = body.subarray(at, at + size);
            at += size;
            if (at >= body.length) req!.end(piece);
            else {
              req!.write(piece);
              timers.push(setTimeout(next, b.gapMs));
            }
          };
          next();
          break;
        }
        case "stall":
          // Part of the body (or none) and never END_STREAM: the request timeout must end it.
          if (b.keep > 0) req.write(body.subarray(0, Math.min(b.keep, body.length)));
          break;
        case "reset":
          req.write(body.subarray(0, Math.ceil(body.length / 2)));
          timers.push(setTimeout(() => req!.close(b.code), b.afterMs));
          break;
      }
    });
  }

  const bodyPlan: fc.Arbitrary<BodyPlan> = fc.oneof(
    { weight: 4, arbitrary: fc.constant<BodyPlan>({ how: "whole" }) },
    // The gaps add up to well under the request timeout: these requests are complete in time.
    { weight: 3, arbitrary: fc.record({ how: fc.constant("chunks" as const), cuts: fc.integer({ min: 2, max: 5 }), gapMs: fc.integer({ min: 0, max: Math.floor(REQUEST_TIMEOUT_MS / 10) }) }) },
    { weight: 2, arbitrary: fc.record({ how: fc.constant("stall" as const), keep: fc.integer({ min: 0, max: 8 }) }) },
    { weight: 1, arbitrary: fc.record({ how: fc.constant("reset" as const), afterMs: fc.integer({ min: 0, max: 300 }), code: fc.constantFrom(NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_INTERNAL_ERROR) }) },
    { weight: 1, arbitrary: fc.record({ how: fc.constant("noread" as const), pauseMs: fc.constantFrom(50, 400, IDLE_MS + 500) }) },
  );
  const sessionPlan: fc.Arbitrary<SessionPlan> = fc.record({
    initialWindowSize: fc.constantFrom(1, 64, 1024, 65_535, 1 << 20),
    streams: fc.array(fc.record({ kind: fc.constantFrom<Kind>("rest-get", "rest-search", "token", "grpc", "connect"), body: bodyPlan, startDelayMs: fc.constantFrom(0, 0, 0, 10, 50) }), { minLength: 1, maxLength: MAX_STREAMS + 4 }),
  });

  it("every stream is answered, refused or reset in bounded time, complete requests well-formed, the server healthy", async () => {
    const stats = statusStats("http2 streams");
    await fc.assert(
      fc.asyncProperty(sessionPlan, async (p) => {
        const session = http2.connect(t.s.url, { settings: { initialWindowSize: p.initialWindowSize } });
        session.on("error", () => {});
        await new Promise<void>((resolve, reject) => {
          session.once("remoteSettings", () => resolve());
          session.once("close", () => reject(new Error("session closed before SETTINGS")));
        });
        const outcomes = await Promise.all(p.streams.map(async (s) => (s.startDelayMs && (await new Promise((r) => setTimeout(r, s.startDelayMs))), runStream(session, s))));
        session.destroy();
        const overLimit = p.streams.length > MAX_STREAMS;
        for (const o of outcomes) {
          const bad = (why: string): never => {
            throw new Error(`${o.plan.kind} ${JSON.stringify(o.plan.body)}: ${why} (${o.what}, status ${String(o.status)}, ${JSON.stringify(o.fields)}, ${o.ms} ms)`);
          };
          stats.add(`${o.plan.body.how}:${o.what}`);
          if (o.what === "hang") bad("no end in bounded time");
          if (o.what === "refused" && !overLimit) bad("refused with no more streams than the limit");
          if (o.what !== "answered") continue;
          const grpc = String(o.fields["content-type"] ?? "").startsWith("application/grpc");
          const complete = o.plan.body.how === "whole" || o.plan.body.how === "chunks" || o.plan.body.how === "noread" || (o.plan.kind === "rest-get" && o.plan.body.how !== "stall");
          if (o.plan.body.how === "stall" && o.plan.kind !== "rest-get") {
            // An unfinished request: the request timeout's answer, or an early refusal that did not need the body.
            if (grpc) {
              const { code } = checkGrpcStatus(o.fields, bad);
              if (![4, 16, 3].includes(code)) bad(`unfinished gRPC request answered ${code}`);
            } else if (o.status !== 408 && !(o.status! >= 400 && o.status! < 500)) bad(`unfinished request answered ${o.status}`);
            continue;
          }
          if (!complete) continue;
          if (o.plan.kind === "grpc") {
            if (!grpc) bad("gRPC request answered without a gRPC content type");
            const { code } = checkGrpcStatus(o.fields, bad);
            if (code !== 0) bad(`GetMyOrg answered grpc-status ${code}`);
          } else if (o.status === undefined || o.status >= 500) bad("server-side status");
          else if (o.plan.body.how !== "noread" && o.status !== 200) bad(`a complete, authorised request answered ${o.status}`);
        }
        await expectHealthy(t.s);
      }),
      fuzzParams(runsScaled(0.25)),
    );
    stats.print();
  });
});
