/**
 * Hostile callers at the transport (issue #19, round two): HTTP/2 streams beyond the advertised
 * SETTINGS_MAX_CONCURRENT_STREAMS, request bodies trickled slower than the request timeout, idle
 * HTTP/2 sessions, clients that go away mid-body, and unauthenticated REST requests with large bodies.
 * One server process with small limits; its log is read to check what an aborted request leaves there.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ManagementService } from "@zitadel/proto/zitadel/management_pb.js";
import { startServerProcess, type ServerProcess } from "./helpers/process.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { managementClient, rest } from "./helpers/clients.js";

const MAX_STREAMS = 5;
const REQUEST_TIMEOUT_MS = 1500;
const IDLE_MS = 2000;
/** How long a test waits for something the server must do within its (small) limits; a bound, not an assertion. */
const WAIT_MS = 10_000;
const ADD_MACHINE = "/zitadel.management.v1.ManagementService/AddMachineUser";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/2 client on a raw socket: frames and HPACK literals, so that it can do what
// node:http2 never does (open streams past the peer's limit before acknowledging its SETTINGS).

const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7 } as const;
const END_HEADERS = 0x4;
const REFUSED_STREAM = 0x7;
const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an n-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, firstByte = 0): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const out = [firstByte | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** Literal header fields without indexing, new names, no Huffman (RFC 7541 §6.2.2). */
function headerBlock(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(headers)) {
    parts.push(Buffer.from([0x00, ...hpackInt(k.length, 7)]), Buffer.from(k, "latin1"), Buffer.from(hpackInt(v.length, 7)), Buffer.from(v, "latin1"));
  }
  return Buffer.concat(parts);
}

interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** Connects, sends the preface and an empty SETTINGS, and hands every frame the server sends to `onFrame`. */
function rawH2(port: number, onFrame: (f: Frame, socket: net.Socket) => void): net.Socket {
  const socket = net.connect(port, "127.0.0.1");
  socket.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), frame(FRAME.SETTINGS, 0, 0)]));
  let buf = Buffer.alloc(0);
  socket.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      onFrame({ type: buf[3]!, flags: buf[4]!, streamId: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) }, socket);
      buf = buf.subarray(9 + len);
    }
  });
  socket.on("error", () => {});
  return socket;
}

function settingsOf(payload: Buffer): Map<number, number> {
  const out = new Map<number, number>();
  for (let at = 0; at + 6 <= payload.length; at += 6) out.set(payload.readUInt16BE(at), payload.readUInt32BE(at + 2));
  return out;
}

// ---------------------------------------------------------------------------------------------

/** A node:http2 request that sends `first`, then one byte every `everyMs` until the stream ends. */
function trickle(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, first: Buffer, everyMs: number) {
  return new Promise<{ status?: number; headers?: http2.IncomingHttpHeaders; trailers?: http2.IncomingHttpHeaders; sent: number; declared: number; rstCode?: number }>((resolve) => {
    const declared = Number(headers["content-length"] ?? 1_000_000);
    const req = session.request(headers);
    let head: http2.IncomingHttpHeaders | undefined;
    let trailers: http2.IncomingHttpHeaders | undefined;
    req.on("trailers", (t) => (trailers = t));
    let sent = first.length;
    req.write(first);
    const timer = setInterval(() => {
      if (req.closed || req.destroyed || sent >= declared - 1) return;
      req.write("x");
      sent++;
    }, everyMs);
    const bound = setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), WAIT_MS);
    req.on("response", (h) => (head = h));
    req.on("data", () => {});
    req.on("error", () => {});
    req.on("close", () => {
      clearInterval(timer);
      clearTimeout(bound);
      resolve({ status: head ? Number(head[":status"]) : undefined, headers: head, trailers, sent, declared, rstCode: req.rstCode });
    });
  });
}

/** Raw HTTP/1.1: sends the head and `body`, then (unless `abortAfterMs`) waits for the status line and headers of the answer. */
function h1(port: number, head: string, body: Buffer | string, opts: { abortAfterMs?: number; trickleEveryMs?: number } = {}) {
  return new Promise<{ status?: number; head: string; closed: boolean; trickled: number }>((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let got = "";
    let trickled = 0;
    let timer: NodeJS.Timeout | undefined;
    const done = (closed: boolean) => {
      clearInterval(timer);
      clearTimeout(bound);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      socket.destroy();
      resolve({ status: m ? Number(m[1]) : undefined, head: got.split("\r\n\r\n")[0]!, closed, trickled });
    };
    const bound = setTimeout(() => done(false), WAIT_MS);
    socket.on("error", () => {});
    socket.on("data", (d: Buffer) => {
      got += d.toString("latin1");
      if (opts.abortAfterMs === undefined && got.includes("\r\n\r\n")) done(false);
    });
    socket.on("close", () => done(true));
    socket.once("connect", () => {
      socket.write(head + "\r\n\r\n");
      socket.write(body);
      if (opts.trickleEveryMs) timer = setInterval(() => (socket.write("x"), trickled++), opts.trickleEveryMs);
      if (opts.abortAfterMs !== undefined) setTimeout(() => done(true), opts.abortAfterMs);
    });
  });
}

describe("hostile callers: HTTP/2 limits, request timeouts, aborted and unauthenticated bodies", () => {
  let server: ServerProcess;
  let dir: string;
  let pat: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "portcullis-limits-"));
    server = await startServerProcess({
      PORTCULLIS_DATA_DIR: dir,
      PORTCULLIS_LOG_LEVEL: "debug",
      PORTCULLIS_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      PORTCULLIS_HTTP2_MAX_CONCURRENT_STREAMS: String(MAX_STREAMS),
      PORTCULLIS_HTTP2_IDLE_TIMEOUT_MS: String(IDLE_MS),
    });
    pat = readFileSync(path.join(dir, "admin.pat"), "utf8").trim();
  });
  afterAll(async () => {
    await server?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("advertises SETTINGS_MAX_CONCURRENT_STREAMS and refuses the streams beyond it", async () => {
    // What node:http2 sees of the server's SETTINGS.
    const session = http2.connect(server.url);
    session.on("error", () => {});
    const remote = await new Promise<http2.Settings>((resolve) => session.once("remoteSettings", resolve));
    session.close();
    expect(remote.maxConcurrentStreams).toBe(MAX_STREAMS);

    // A client that opens more streams at once (before it acknowledged the SETTINGS), each waiting on its body.
    const opened = MAX_STREAMS + 3;
    const ids = Array.from({ length: opened }, (_, i) => 1 + 2 * i);
    const outcome = new Map<number, string>();
    let advertised: number | undefined;
    await new Promise<void>((resolve) => {
      const bound = setTimeout(resolve, WAIT_MS);
      const socket = rawH2(server.port, (f, s) => {
        if (f.type === FRAME.SETTINGS && !(f.flags & 0x1) && advertised === undefined) {
          advertised = settingsOf(f.payload).get(SETTINGS_MAX_CONCURRENT_STREAMS);
          const block = headerBlock({ ":method": "POST", ":scheme": "http", ":path": "/management/v1/users/machine", ":authority": "127.0.0.1", authorization: `Bearer ${pat}`, "content-type": "application/json" });
          s.write(Buffer.concat(ids.map((id) => frame(FRAME.HEADERS, END_HEADERS, id, block))));
        }
        if (f.type === FRAME.HEADERS && !outcome.has(f.streamId)) outcome.set(f.streamId, "answered");
        if (f.type === FRAME.RST_STREAM && !outcome.has(f.streamId)) outcome.set(f.streamId, f.payload.readUInt32BE(0) === REFUSED_STREAM ? "refused" : "reset");
        if (f.type === FRAME.GOAWAY) for (const id of ids) if (!outcome.has(id)) outcome.set(id, "goaway");
        if (ids.every((id) => outcome.has(id))) {
          clearTimeout(bound);
          socket.destroy();
          resolve();
        }
      });
    });
    expect(advertised).toBe(MAX_STREAMS);
    // The first MAX_STREAMS are served (answered 408 once their body is overdue), the rest refused at once.
    expect(ids.map((id) => outcome.get(id))).toEqual(ids.map((_, i) => (i < MAX_STREAMS ? "answered" : "refused")));
  }, 30_000);

  it("answers a request body trickled slower than the request timeout with an error and resets the stream (HTTP/2 REST and gRPC, HTTP/1.1)", async () => {
    const session = http2.connect(server.url);
    session.on("error", () => {});
    const envelope = Buffer.from([0, 0, 0, 0x03, 0xe8]); // a gRPC message header announcing 1000 bytes
    const [restH2, grpcH2, restH1] = await Promise.all([
      trickle(session, { ":method": "POST", ":path": "/management/v1/users/machine", authorization: `Bearer ${pat}`, "content-type": "application/json", "content-length": "100000" }, Buffer.from('{"userName":"'), 100),
      trickle(session, { ":method": "POST", ":path": ADD_MACHINE, authorization: `Bearer ${pat}`, "content-type": "application/grpc", te: "trailers" }, envelope, 100),
      h1(server.port, `POST /management/v1/users/machine HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${pat}\r\nContent-Type: application/json\r\nContent-Length: 100000`, '{"userName":"', { trickleEveryMs: 100 }),
    ]);
    session.close();
    // Each was stopped long before its body could have arrived at this pace.
    expect(restH2).toMatchObject({ status: 408, rstCode: http2.constants.NGHTTP2_NO_ERROR });
    expect(restH2.sent).toBeLessThan(restH2.declared);
    expect(grpcH2.status).toBe(200);
    expect(grpcH2.headers?.["grpc-status"]).toBe("4");
    expect(grpcH2.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(restH1.status).toBe(408);
    expect(restH1.trickled).toBeLessThan(100_000);
  }, 30_000);

  it("closes an HTTP/2 session that has no open stream for the idle timeout", async () => {
    const session = http2.connect(server.url);
    session.on("error", () => {});
    const goaway = await new Promise<number | "none">((resolve) => {
      const bound = setTimeout(() => resolve("none"), WAIT_MS);
      session.once("goaway", (code) => (clearTimeout(bound), resolve(code)));
    });
    expect(goaway).toBe(http2.constants.NGHTTP2_NO_ERROR);
    // And the connection goes.
    const closed = await new Promise<boolean>((resolve) => {
      const bound = setTimeout(() => resolve(false), WAIT_MS);
      session.once("close", () => (clearTimeout(bound), resolve(true)));
    });
    expect(closed).toBe(true);
  }, 30_000);

  it("still serves gRPC, Connect and REST over HTTP/2, more calls at once than the stream limit", async () => {
    const calls = 4 * MAX_STREAMS;
    // Each client's connection is up (the server's SETTINGS arrived) before it starts more calls than the limit at once.
    const grpc = managementClient(server.url, "grpc", pat);
    await grpc.getMyOrg({});
    const orgs = await Promise.all(Array.from({ length: calls }, () => grpc.getMyOrg({})));
    expect(orgs.every((o) => o.org?.name === "Portcullis")).toBe(true);

    const connect = createClient(ManagementService, createConnectTransport({ baseUrl: server.url, httpVersion: "2", interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${pat}`), next(req))] }));
    await connect.getMyOrg({});
    const users = await Promise.all(Array.from({ length: calls }, (_, i) => connect.addMachineUser({ userName: `limits-${i}`, name: `Limits ${i}` })));
    expect(new Set(users.map((u) => u.userId)).size).toBe(calls);

    const session = http2.connect(server.url);
    session.on("error", () => {});
    await new Promise((resolve) => session.once("remoteSettings", resolve));
    const statuses = await Promise.all(
      users.map(
        (u) =>
          new Promise<number>((resolve, reject) => {
            const req = session.request({ ":method": "PUT", ":path": `/management/v1/users/${u.userId}/username`, authorization: `Bearer ${pat}`, "content-type": "application/json" });
            req.on("response", (h) => resolve(Number(h[":status"])));
            req.on("data", () => {});
            req.on("error", reject);
            req.end(JSON.stringify({ userName: `limits-renamed-${u.userId}` }));
          }),
      ),
    );
    session.close();
    expect(statuses).toEqual(users.map(() => 200));
    expect((await rest(server.url, "GET", "/management/v1/orgs/me", { token: pat })).status).toBe(200);
  });

  it("refuses an unauthenticated request with a large body before reading the body (REST, Connect, gRPC)", async () => {
    // HTTP/1.1: the answer comes while the client has sent 1 KiB of the announced MiB, and closes the connection.
    const head = (p: string, auth: string) => `POST ${p} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 1000000`;
    for (const p of ["/management/v1/users/machine", ADD_MACHINE])
      for (const auth of ["", "Authorization: Bearer not-a-token\r\n"]) {
        const r = await h1(server.port, head(p, auth), Buffer.alloc(1024, 0x20));
        expect(r.status, r.head).toBe(401);
        expect(r.head.toLowerCase()).toContain("connection: close");
      }
    // HTTP/2: the same answer, and the stream ends without the body.
    const session = http2.connect(server.url);
    session.on("error", () => {});
    const bad = { ":method": "POST", authorization: "Bearer not-a-token" };
    const [r, grpc] = await Promise.all([
      trickle(session, { ...bad, ":path": "/management/v1/users/machine", "content-type": "application/json", "content-length": "1000000" }, Buffer.alloc(1024, 0x20), 1_000_000),
      // A gRPC message header announcing 1,000,000 bytes, and 1 KiB of them.
      trickle(session, { ...bad, ":path": ADD_MACHINE, "content-type": "application/grpc", te: "trailers" }, Buffer.concat([Buffer.from([0, 0, 0x0f, 0x42, 0x40]), Buffer.alloc(1024)]), 1_000_000),
    ]);
    session.close();
    expect(r.status).toBe(401);
    expect(r.sent).toBe(1024);
    expect(grpc.status).toBe(200);
    expect(grpc.trailers?.["grpc-status"] ?? grpc.headers?.["grpc-status"]).toBe("16");
    expect(grpc.sent).toBe(1029);
    // A valid token still gets its body read.
    const body = JSON.stringify({ userName: "limits-body", name: "Body" });
    const ok = await h1(server.port, `POST /management/v1/users/machine HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${pat}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}`, body);
    expect(ok.status).toBe(200);
  });

  it("logs a request the client aborted mid-body at debug level, never as an error", async () => {
    const before = server.output().length;
    let n = 0;
    const ids: string[] = [];
    const nextId = () => (ids.push(`aborted-${++n}`), ids[ids.length - 1]!);
    const h1Abort = (p: string, type: string, body: Buffer | string) =>
      h1(server.port, `POST ${p} HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${nextId()}\r\nAuthorization: Bearer ${pat}\r\nContent-Type: ${type}\r\nContent-Length: 1000`, body, { abortAfterMs: 200 });
    const h2Abort = async (p: string, type: string, extra: http2.OutgoingHttpHeaders = {}) => {
      const session = http2.connect(server.url);
      session.on("error", () => {});
      await new Promise((resolve) => session.once("connect", resolve));
      const req = session.request({ ":method": "POST", ":path": p, "x-request-id": nextId(), authorization: `Bearer ${pat}`, "content-type": type, "content-length": "1000", ...extra });
      req.on("error", () => {});
      req.write("0123456789");
      // The server has processed the stream's frames (and so started on the request) once it answers a PING sent after them.
      await new Promise((resolve) => session.ping(resolve));
      req.close(http2.constants.NGHTTP2_CANCEL);
      await sleep(50);
      session.destroy();
    };
    await Promise.all([
      h1Abort("/management/v1/users/machine", "application/json", '{"userName":'),
      h2Abort("/management/v1/users/machine", "application/json"),
      h1Abort(ADD_MACHINE, "application/json", '{"userName":'),
      h1Abort(ADD_MACHINE, "application/grpc-web+proto", Buffer.from([0, 0, 0, 0x03, 0xe0, 0x0a])),
      h2Abort(ADD_MACHINE, "application/grpc", { te: "trailers" }),
      h2Abort(ADD_MACHINE, "application/json"),
      h1Abort("/oauth/v2/token", "application/x-www-form-urlencoded", "grant_type=client"),
      h2Abort("/oauth/v2/token", "application/x-www-form-urlencoded"),
    ]);
    // The server saw each of them go (its debug access log says so); then it has had time to log anything else.
    const logged = () => server.output().slice(before).split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { level: number; msg: string; reqId?: string });
    const abortedIds = () => new Set(logged().filter((l) => l.msg === "request aborted").map((l) => l.reqId));
    for (let waited = 0; abortedIds().size < ids.length && waited < WAIT_MS; waited += 100) await sleep(100);
    await sleep(300);
    expect(logged().filter((l) => l.level >= 50)).toEqual([]);
    expect([...abortedIds()].sort()).toEqual([...ids].sort());
  }, 30_000);
});

describe("HTTP/2 and HTTP/1.1 limits over TLS (ALPN)", () => {
  let s: TestServer;
  let dir: string;
  let cert: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "portcullis-tls-limits-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
      "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")], { stdio: "ignore" });
    cert = readFileSync(path.join(dir, "cert.pem"), "utf8");
    s = await startTestServer({
      storage: "pglite",
      env: {
        PORTCULLIS_TLS_CERT: path.join(dir, "cert.pem"),
        PORTCULLIS_TLS_KEY: path.join(dir, "key.pem"),
        PORTCULLIS_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        PORTCULLIS_HTTP2_MAX_CONCURRENT_STREAMS: "7",
      },
    });
  });
  afterAll(async () => {
    await s?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("advertises the stream limit over h2 and times out a trickled HTTP/1.1 body", async () => {
    const session = http2.connect(`https://127.0.0.1:${s.port}`, { ca: cert });
    session.on("error", () => {});
    const remote = await new Promise<http2.Settings>((resolve) => session.once("remoteSettings", resolve));
    const r = await trickle(session, { ":method": "POST", ":path": "/management/v1/users/machine", authorization: `Bearer ${s.pat}`, "content-type": "application/json", "content-length": "100000" }, Buffer.from("{"), 100);
    session.close();
    expect(remote.maxConcurrentStreams).toBe(7);
    expect(r.status).toBe(408);

    const h1Status = await new Promise<string>((resolve) => {
      const socket = tls.connect({ host: "127.0.0.1", port: s.port, ca: cert, ALPNProtocols: ["http/1.1"] });
      let got = "";
      const timer = setInterval(() => socket.write("x"), 100);
      const bound = setTimeout(() => socket.destroy(), WAIT_MS);
      socket.on("secureConnect", () => socket.write(`POST /management/v1/users/machine HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.pat}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`));
      socket.on("data", (d: Buffer) => (got += d.toString("latin1")));
      socket.on("error", () => {});
      socket.on("close", () => (clearInterval(timer), clearTimeout(bound), resolve(got.split("\r\n")[0]!)));
    });
    expect(h1Status).toMatch(/^HTTP\/1\.1 408/);
  }, 30_000);
});
