/**
 * Property-based fuzzing of the RPC framings connect-node serves on the shared port: Connect unary and
 * gRPC-web over HTTP/1.1 (raw bytes on a socket), gRPC over cleartext HTTP/2 (node:http2), HTTP/2
 * prior knowledge followed by garbage (node:net), and gRPC attempted over HTTP/1.1. Every request is
 * answered in time in its protocol's error format (Connect: JSON with a code string; gRPC and gRPC-web:
 * a grpc-status), never with a server-side status; afterwards the server is still healthy.
 */
import http2 from "node:http2";
import net from "node:net";
import { gzipSync } from "node:zlib";
import { toBinary, type DescMethod } from "@bufbuild/protobuf";
import { AdminService } from "@zitadel/proto/zitadel/admin_pb.js";
import { ManagementService } from "@zitadel/proto/zitadel/management_pb.js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHandlers } from "../../src/api/services/admin.js";
import { managementHandlers } from "../../src/api/services/management.js";
import { binaryFor, messageJson, messageOf } from "./proto-arbitraries.js";
import {
  ANSWER_MS,
  authorizationValue,
  checkGrpcStatus,
  expectConnectAnswer,
  expectHealthy,
  fuzzParams,
  grpcWebStatus,
  nastyString,
  rawRequest,
  runsScaled,
  timeoutFor,
  startFuzzTarget,
  statusStats,
  type FuzzTarget,
  type RawResponse,
} from "./support.js";

const SELF_DESTRUCTIVE = new Set(["RemoveOrg", "DeactivateOrg"]);
const methods = [...ManagementService.methods, ...AdminService.methods];
const implemented = methods.filter((m) => (m.parent === AdminService ? adminHandlers : managementHandlers)[m.localName]);
const GZIP_BOMB = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
const pathOf = (m: DescMethod) => `/${m.parent.typeName}/${m.name}`;

/** Header values HTTP/2 (and node:http2's client) can carry: latin1 without controls. */
const h2Safe = (v: string) => v.replace(/[^\t\x20-\x7e\x80-\xff]/g, "");

/** A gRPC length-prefixed message with a chosen flag byte and, optionally, a lying length. */
function envelope(flags: number, data: Uint8Array, declared?: number): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(declared ?? data.length, 1);
  return Buffer.concat([head, data]);
}

// Generous: single exchanges have their own ANSWER_MS limit; this only bounds a whole property.
describe("RPC framing fuzzing (Connect, gRPC-web, gRPC)", { timeout: timeoutFor(runsScaled(10), 100) }, () => {
  let t: FuzzTarget;
  let ids: string[];
  beforeAll(async () => {
    t = await startFuzzTarget();
    ids = [...t.victimIds, t.fuzzOrgId];
  });
  afterAll(async () => {
    await t?.s.close();
  });

  const method = () => fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...implemented) }, { weight: 1, arbitrary: fc.constantFrom(...methods) });

  const authFor = (m: DescMethod) => (SELF_DESTRUCTIVE.has(m.name) ? fc.option(nastyString(40, false).map((v) => `Bearer ${v}`)) : authorizationValue(t.fuzzer.pat));

  /** Envelopes: well-formed, with noisy flags, with lying lengths, truncated, several, or none. */
  const envelopes = (m: DescMethod) =>
    fc.oneof(
      { weight: 5, arbitrary: binaryFor(m.input, ids).map((d) => envelope(0, d)) },
      { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), binaryFor(m.input, ids)).map(([f, d]) => envelope(f, d)) },
      { weight: 1, arbitrary: binaryFor(m.input, ids).map((d) => envelope(1, gzipSync(d))) },
      { weight: 1, arbitrary: fc.tuple(binaryFor(m.input, ids), fc.constantFrom(0xffffffff, 0x7fffffff, 1_048_577, 16_777_216)).map(([d, n]) => envelope(0, d, n)) },
      { weight: 1, arbitrary: fc.tuple(binaryFor(m.input, ids), fc.nat()).map(([d, cut]) => envelope(0, d).subarray(0, cut % (d.length + 5))) },
      { weight: 1, arbitrary: fc.array(binaryFor(m.input, ids), { minLength: 2, maxLength: 3 }).map((ds) => Buffer.concat(ds.map((d) => envelope(0, d)))) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) },
      { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
      // 64 MiB of zeros in 64 KiB: decompressed, far past readMaxBytes.
      { weight: 1, arbitrary: fc.constant(envelope(1, GZIP_BOMB)) },
    );

  const grpcTimeout = fc.option(fc.oneof(fc.constantFrom("1n", "1u", "1m", "10S", "1H", "99999999H", "123456789S", "0S", "-1S", "1s", "S", "1", "1.5S", " 1S"), nastyString(12, false).map(h2Safe)), { freq: 3 });
  const encodingHeader = fc.option(fc.constantFrom("gzip", "identity", "br", "deflate", "snappy", "", "gzip, br", "GZIP"), { freq: 3 });

  it("Connect unary over HTTP/1.1: random bodies, content types, encodings and timeouts get a Connect error", async () => {
    const stats = statusStats("Connect");
    const connectCase = method().chain((m) =>
      fc.record({
        m: fc.constant(m),
        httpMethod: fc.oneof({ weight: 9, arbitrary: fc.constant("POST") }, { weight: 1, arbitrary: fc.constantFrom("GET", "PUT", "DELETE", "OPTIONS") }),
        contentType: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom("application/proto", "application/json") },
          { weight: 1, arbitrary: fc.constantFrom("application/json; charset=utf-8", "application/json; charset=latin1", "application/connect+proto", "application/grpc", "text/plain", "application/x-protobuf", "", "APPLICATION/PROTO") },
        ),
        body: fc.oneof(binaryFor(m.input, ids), messageJson(m.input, 3, ids).map((j) => Buffer.from(JSON.stringify(j))), fc.uint8Array({ maxLength: 128 })),
        compress: fc.constantFrom("none", "none", "none", "gzip", "gzip-header-only", "garbage-encoding", "bomb"),
        timeout: fc.option(fc.oneof(fc.constantFrom("1", "0", "-1", "99999999999", "1.5", "abc", ""), fc.nat().map(String)), { freq: 4 }),
        version: fc.option(fc.constantFrom("1", "2", ""), { freq: 2 }),
        auth: authFor(m),
        query: fc.option(fc.constantFrom("?encoding=proto&message=AA&base64=1", "?encoding=json&message=%7B%7D", "?encoding=x", "?connect=v1&encoding=json&message=%7B", "?compression=gzip&encoding=proto&message=AA"), { freq: 2 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(connectCase, async (c) => {
        const headers: [string, string][] = [["Content-Type", c.contentType]];
        let body: Buffer = Buffer.from(c.body);
        if (c.compress === "gzip") (headers.push(["Content-Encoding", "gzip"]), (body = gzipSync(body)));
        if (c.compress === "gzip-header-only") headers.push(["Content-Encoding", "gzip"]);
        if (c.compress === "bomb") (headers.push(["Content-Encoding", "gzip"]), (body = GZIP_BOMB));
        if (c.compress === "garbage-encoding") headers.push(["Content-Encoding", "x-zip"]);
        if (c.timeout !== null) headers.push(["Connect-Timeout-Ms", c.timeout]);
        if (c.version !== null) headers.push(["Connect-Protocol-Version", c.version]);
        if (c.auth) headers.push(["Authorization", h2Safe(c.auth)]);
        const target = pathOf(c.m) + (c.httpMethod === "GET" && c.query ? c.query : "");
        const r = await rawRequest(t.s.port, { method: c.httpMethod, target, headers, body: c.httpMethod === "GET" ? undefined : body });
        if (r.kind === "closed") throw new Error("connection closed without an answer");
        // A gRPC or gRPC-web content type on the same path is that protocol, answered in its own format.
        const answerType = r.headers["content-type"] ?? "";
        if (/^application\/grpc-web/.test(answerType)) {
          const st = grpcWebStatus(r);
          return void stats.add(st === "protocol" ? r.status : `grpc-web-${st.code}`);
        }
        if (/^application\/grpc/.test(answerType)) {
          const st = checkGrpcStatus({ ...r.headers, ...r.trailers }, (why) => fail(why, r));
          return void stats.add(`grpc-${st.code}`);
        }
        stats.add(r.status === 200 ? `200:${c.m.name}` : r.status);
        // A deadline the client asked for may expire (504 deadline_exceeded); that is the protocol, not a server fault.
        if (r.status === 504 && c.timeout !== null && /"deadline_exceeded"/.test(r.body.toString())) return;
        expectConnectAnswer(r);
      }),
      fuzzParams(runsScaled(2)),
    );
    stats.print();
    await expectHealthy(t.s);
  });

  it("gRPC-web over HTTP/1.1: random envelopes, flags, lengths and headers get a grpc-status", async () => {
    const stats = statusStats("gRPC-web");
    const webCase = method().chain((m) =>
      fc.record({
        m: fc.constant(m),
        contentType: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom("application/grpc-web+proto", "application/grpc-web") },
          { weight: 1, arbitrary: fc.constantFrom("application/grpc-web+json", "application/grpc-web-text", "application/grpc-web+thrift", "application/grpc-web;", "application/grpc-webx") },
        ),
        body: envelopes(m),
        timeout: grpcTimeout,
        encoding: encodingHeader,
        auth: authFor(m),
      }),
    );
    await fc.assert(
      fc.asyncProperty(webCase, async (c) => {
        const headers: [string, string][] = [["Content-Type", c.contentType], ["X-Grpc-Web", "1"]];
        if (c.timeout !== null) headers.push(["Grpc-Timeout", c.timeout]);
        if (c.encoding !== null) headers.push(["Grpc-Encoding", c.encoding]);
        if (c.auth) headers.push(["Authorization", h2Safe(c.auth)]);
        const r = await rawRequest(t.s.port, { method: "POST", target: pathOf(c.m), headers, body: c.body });
        if (r.kind === "closed") throw new Error("connection closed without an answer");
        const st = grpcWebStatus(r);
        stats.add(st === "protocol" ? r.status : `grpc-${st.code}`);
      }),
      fuzzParams(runsScaled(2)),
    );
    stats.print();
    await expectHealthy(t.s);
  });

  /** One HTTP/2 session, replaced when a case ends it. */
  let session: http2.ClientHttp2Session | undefined;
  const h2 = () => {
    if (!session || session.closed || session.destroyed) {
      session = http2.connect(t.s.url);
      session.on("error", () => {});
    }
    return session;
  };
  afterAll(() => session?.destroy());

  interface H2Answer {
    headers: http2.IncomingHttpHeaders;
    trailers: http2.IncomingHttpHeaders;
    body: Buffer;
  }

  function h2Request(headers: http2.OutgoingHttpHeaders, body: Buffer): Promise<H2Answer | "reset"> {
    return new Promise((resolve, reject) => {
      const req = h2().request(headers, { endStream: false });
      const chunks: Buffer[] = [];
      let head: http2.IncomingHttpHeaders | undefined;
      let trailers: http2.IncomingHttpHeaders = {};
      const timer = setTimeout(() => {
        req.close(http2.constants.NGHTTP2_CANCEL);
        reject(new Error(`hang: no answer on HTTP/2 within $ANSWER_MS ms`));
      }, ANSWER_MS);
      req.on("response", (h) => (head = h));
      req.on("trailers", (h) => (trailers = h));
      req.on("data", (d: Buffer) => chunks.push(d));
      req.on("end", () => {
        clearTimeout(timer);
        if (!head) return reject(new Error("HTTP/2 stream ended without response headers"));
        resolve({ headers: head, trailers, body: Buffer.concat(chunks) });
      });
      // A stream the server resets (e.g. it stopped reading an oversized body) has answered, just not with a status.
      req.on("error", () => (clearTimeout(timer), resolve("reset")));
      req.on("close", () => {
        if (!head && req.rstCode && req.rstCode !== http2.constants.NGHTTP2_NO_ERROR) (clearTimeout(timer), resolve("reset"));
      });
      req.end(body);
    });
  }

  it("gRPC over HTTP/2: random envelopes, bad compression flags, oversized lengths, malformed grpc-timeout get a grpc-status", async () => {
    const stats = statusStats("gRPC");
    const grpcCase = method().chain((m) =>
      fc.record({
        m: fc.constant(m),
        path: fc.oneof({ weight: 9, arbitrary: fc.constant(pathOf(m)) }, { weight: 1, arbitrary: fc.constantFrom(`${pathOf(m)}/x`, `/${m.parent.typeName}/`, `/${m.parent.typeName}/Nope`, "/zitadel.", "/zitadel.x.Y/Z", pathOf(m).toLowerCase()) }),
        contentType: fc.oneof(
          { weight: 8, arbitrary: fc.constantFrom("application/grpc", "application/grpc+proto") },
          { weight: 1, arbitrary: fc.constantFrom("application/grpc+json", "application/grpc+thrift", "application/grpcx", "application/json", "") },
        ),
        body: envelopes(m),
        timeout: grpcTimeout,
        encoding: encodingHeader,
        acceptEncoding: fc.option(fc.constantFrom("gzip", "br", "identity,gzip", "x"), { freq: 3 }),
        // node:http2 refuses any other TE value client-side.
        te: fc.option(fc.constant("trailers"), { freq: 5 }),
        auth: authFor(m),
        orgId: fc.option(fc.oneof(fc.constantFrom(t.fuzzOrgId, t.adminOrgId), nastyString(20, false).map(h2Safe)), { freq: 3 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(grpcCase, async (c) => {
        const headers: http2.OutgoingHttpHeaders = { ":method": "POST", ":path": c.path, "content-type": c.contentType };
        if (c.te !== null) headers.te = c.te;
        if (c.timeout !== null) headers["grpc-timeout"] = c.timeout;
        if (c.encoding !== null) headers["grpc-encoding"] = c.encoding;
        if (c.acceptEncoding !== null) headers["grpc-accept-encoding"] = c.acceptEncoding;
        if (c.auth) headers.authorization = h2Safe(c.auth);
        if (c.orgId !== null) headers["x-zitadel-orgid"] = c.orgId;
        const a = await h2Request(headers, c.body);
        if (a === "reset") return void stats.add("reset");
        const status = Number(a.headers[":status"]);
        if (status !== 200) {
          // Not gRPC at all (unknown path, wrong content type): an HTTP error, never a 5xx.
          stats.add(status);
          expect(status, JSON.stringify(a.headers)).toBeLessThan(500);
          return;
        }
        const fields = a.headers["grpc-status"] !== undefined ? a.headers : a.trailers;
        const st = checkGrpcStatus(fields as Record<string, string>, (why) => {
          throw new Error(`${why}; headers ${JSON.stringify(a.headers)} trailers ${JSON.stringify(a.trailers)}`);
        });
        stats.add(st.code === 0 ? `ok:${c.m.name}` : `grpc-${st.code}`);
      }),
      fuzzParams(runsScaled(2)),
    );
    stats.print();
    session?.close();
    await expectHealthy(t.s);
  });

  it("gRPC over HTTP/1.1 is answered with a status, not a hang or a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...implemented), fc.constantFrom("application/grpc", "application/grpc+proto"), fc.boolean(), async (m, ct, chunked) => {
        const body = envelope(0, toBinary(m.input, fc.sample(messageOf(m.input), 1)[0]! as never));
        const r = await rawRequest(t.s.port, { method: "POST", target: pathOf(m), headers: [["Content-Type", ct], ["TE", "trailers"], ["Authorization", `Bearer ${t.fuzzer.pat}`]], body, chunked });
        if (r.kind === "closed") throw new Error("connection closed without an answer");
        expect(r.status).toBeLessThan(500);
        if (r.status === 200) checkGrpcStatus({ ...r.headers, ...r.trailers }, (why) => fail(why, r));
      }),
      fuzzParams(runsScaled(0.25)),
    );
    await expectHealthy(t.s);
  });

  it("HTTP/2 prior knowledge followed by garbage: the server keeps its side of the protocol and stays up", async () => {
    const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    const SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
    const frame = fc
      .tuple(fc.integer({ min: 0, max: 0xffffff }), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0x7fffffff }), fc.uint8Array({ maxLength: 64 }))
      .map(([len, type, flags, stream, payload]) => {
        const head = Buffer.alloc(9);
        head.writeUIntBE(Math.min(len, payload.length + (len % 3 === 0 ? 100 : 0)), 0, 3);
        head[3] = type;
        head[4] = flags;
        head.writeUInt32BE(stream, 5);
        return Buffer.concat([head, payload]);
      });
    const afterPreface = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 256 }).map((b) => Buffer.from(b)),
      fc.array(frame, { minLength: 1, maxLength: 4 }).map((fs) => Buffer.concat([SETTINGS, ...fs])),
      fc.constantFrom(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Buffer.alloc(1000, 0), Buffer.alloc(1000, 0xff)),
    );
    let goaways = 0;
    await fc.assert(
      fc.asyncProperty(afterPreface, async (garbage) => {
        const got = await new Promise<Buffer>((resolve, reject) => {
          const socket = net.connect(t.s.port, "127.0.0.1");
          let buf = Buffer.alloc(0);
          // Done when the server closes, or once it has said something and then been quiet for a moment
          // (garbage that is an incomplete frame leaves the server, rightly, waiting for the rest).
          let timer = setTimeout(() => (socket.destroy(), resolve(buf)), ANSWER_MS);
          socket.on("data", (d: Buffer) => {
            buf = Buffer.concat([buf, d]);
            clearTimeout(timer);
            timer = setTimeout(() => (socket.destroy(), resolve(buf)), 50);
          });
          socket.on("close", () => (clearTimeout(timer), resolve(buf)));
          socket.on("error", () => {});
          socket.write(Buffer.concat([PREFACE, garbage]), (e) => e && reject(e));
        });
        // The server speaks first with its SETTINGS frame whatever follows the preface.
        expect(got.length).toBeGreaterThanOrEqual(9);
        expect(got[3]).toBe(4);
        for (let at = 0; at + 9 <= got.length; at += 9 + got.readUIntBE(at, 3)) if (got[at + 3] === 7) goaways++;
      }),
      fuzzParams(runsScaled(0.5)),
    );
    expect(goaways).toBeGreaterThan(0);
    await expectHealthy(t.s);
  });

  it("after all of it, the services still answer every protocol", async () => {
    const { managementClient } = await import("../helpers/clients.js");
    for (const p of ["grpc", "grpc-web", "connect"] as const) {
      const { org } = await managementClient(t.s.url, p, t.s.pat).getMyOrg({});
      expect(org?.id).toBe(t.adminOrgId);
    }
  });
});

function fail(why: string, r: RawResponse): never {
  throw new Error(`${why}: HTTP ${r.status} ${JSON.stringify(r.headers)} ${JSON.stringify(r.trailers)}`);
}
