/**
 * gRPC server reflection on the wire, with a client that shares no code with the server's reflection:
 * the reflection messages are written and read field by field (grpc/reflection/v1/reflection.proto's
 * numbers) over node:http2, the answers are decoded as google.protobuf.FileDescriptorProto, a registry is
 * built from them alone, and methods are called through clients made from those reflected descriptors.
 * Then: unknown methods over gRPC and gRPC-web answer grpc-status 12 (UNIMPLEMENTED) as gRPC does.
 */
import http from "node:http";
import http2 from "node:http2";
import { create, createFileRegistry, fromBinary, getOption, toBinary, toJson, type DescMessage, type DescService, type FileRegistry } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { http as httpRule } from "@zitadel/proto/google/api/annotations_pb.js";
import { auth_option } from "@zitadel/proto/zitadel/options_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorOf } from "./helpers/clients.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

type ReflectionRequest =
  | { listServices: string }
  | { fileByFilename: string }
  | { fileContainingSymbol: string }
  | { fileContainingExtension: { containingType: string; extensionNumber: number } }
  | { allExtensionNumbersOfType: string }
  | Record<string, never>;

interface ReflectionResponse {
  validHost: string;
  /** The original request's bytes as echoed (field 2). */
  originalRequest: Uint8Array | undefined;
  files?: FileDescriptorProto[];
  extensionNumbers?: { baseTypeName: string; numbers: number[] };
  services?: string[];
  error?: { code: number; message: string };
}

const LEN = WireType.LengthDelimited;

function encodeRequest(r: ReflectionRequest, host = ""): Uint8Array {
  const w = new BinaryWriter();
  if (host) w.tag(1, LEN).string(host);
  if ("fileByFilename" in r) w.tag(3, LEN).string(r.fileByFilename);
  if ("fileContainingSymbol" in r) w.tag(4, LEN).string(r.fileContainingSymbol);
  if ("fileContainingExtension" in r) {
    w.tag(5, LEN).fork().tag(1, LEN).string(r.fileContainingExtension.containingType).tag(2, WireType.Varint).int32(r.fileContainingExtension.extensionNumber).join();
  }
  if ("allExtensionNumbersOfType" in r) w.tag(6, LEN).string(r.allExtensionNumbersOfType);
  if ("listServices" in r) w.tag(7, LEN).string(r.listServices);
  return w.finish();
}

/** Calls `each(fieldNo, wireType, reader)` for every field; `each` must consume the field's value or return false to skip it. */
function readFields(bytes: Uint8Array, each: (no: number, wt: WireType, r: BinaryReader) => boolean): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (!each(no, wt, r)) r.skip(wt, no);
  }
}

function decodeResponse(bytes: Uint8Array): ReflectionResponse {
  const out: ReflectionResponse = { validHost: "", originalRequest: undefined };
  readFields(bytes, (no, _wt, r) => {
    switch (no) {
      case 1:
        out.validHost = r.string();
        return true;
      case 2:
        out.originalRequest = r.bytes();
        return true;
      case 4: {
        const files: FileDescriptorProto[] = [];
        readFields(r.bytes(), (n, _w, fr) => (n === 1 ? (files.push(fromBinary(FileDescriptorProtoSchema, fr.bytes())), true) : false));
        out.files = files;
        return true;
      }
      case 5: {
        const ext = { baseTypeName: "", numbers: [] as number[] };
        readFields(r.bytes(), (n, w, er) => {
          if (n === 1) ext.baseTypeName = er.string();
          else if (n === 2 && w === LEN) for (const packed = new BinaryReader(er.bytes()); packed.pos < packed.len; ) ext.numbers.push(packed.int32());
          else if (n === 2) ext.numbers.push(er.int32());
          else return false;
          return true;
        });
        out.extensionNumbers = ext;
        return true;
      }
      case 6: {
        const names: string[] = [];
        readFields(r.bytes(), (n, _w, lr) => {
          if (n !== 1) return false;
          readFields(lr.bytes(), (m, _x, sr) => (m === 1 ? (names.push(sr.string()), true) : false));
          return true;
        });
        out.services = names;
        return true;
      }
      case 7: {
        const error = { code: 0, message: "" };
        readFields(r.bytes(), (n, _w, er) => {
          if (n === 1) error.code = er.int32();
          else if (n === 2) error.message = er.string();
          else return false;
          return true;
        });
        out.error = error;
        return true;
      }
      default:
        return false;
    }
  });
  return out;
}

function envelope(data: Uint8Array, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(data.length, 1);
  return Buffer.concat([head, data]);
}

/** Splits a gRPC body into its length-prefixed messages as they arrive. */
function deframer(onMessage: (flags: number, data: Buffer) => void) {
  let buf = Buffer.alloc(0);
  return (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
      const len = buf.readUInt32BE(1);
      onMessage(buf[0]!, buf.subarray(5, 5 + len));
      buf = buf.subarray(5 + len);
    }
  };
}

/** One open ServerReflectionInfo stream: each send() waits for its own answer before the next is written. */
function reflectionStream(session: http2.ClientHttp2Session, version: "v1" | "v1alpha", headers: http2.OutgoingHttpHeaders = {}) {
  const stream = session.request({
    ":method": "POST",
    ":path": `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
    "content-type": "application/grpc",
    te: "trailers",
    ...headers,
  });
  const waiting: ((r: ReflectionResponse) => void)[] = [];
  const early: ReflectionResponse[] = [];
  let status: Record<string, unknown> = {};
  const ended = new Promise<Record<string, unknown>>((resolve, reject) => {
    stream.on("response", (h) => (status = { ...h }));
    stream.on("trailers", (t) => (status = { ...status, ...t }));
    stream.on("end", () => resolve(status));
    stream.on("error", reject);
  });
  stream.on(
    "data",
    deframer((_flags, data) => {
      const r = decodeResponse(data);
      const w = waiting.shift();
      if (w) w(r);
      else early.push(r);
    }),
  );
  return {
    /** Writes a request without waiting for an answer. */
    write(req: ReflectionRequest): void {
      stream.write(envelope(encodeRequest(req)));
    },
    send(req: ReflectionRequest, host = ""): Promise<ReflectionResponse> {
      stream.write(envelope(encodeRequest(req, host)));
      const already = early.shift();
      return already ? Promise.resolve(already) : new Promise((resolve) => waiting.push(resolve));
    },
    /** Half-closes and resolves with the response headers and trailers. */
    end(): Promise<Record<string, unknown>> {
      stream.end();
      return ended;
    },
  };
}

/**
 * A registry of the first file and what it imports, from `files` only: it throws on a missing import or type.
 * (A FileDescriptorSet must list imports first; the reflection answer lists the asked file first.)
 */
function registryOf(files: FileDescriptorProto[]): FileRegistry {
  const byName = new Map(files.map((f) => [f.name, f]));
  const ordered: FileDescriptorProto[] = [];
  const visit = (name: string) => {
    const file = byName.get(name);
    if (!file) throw new Error(`import ${name} was not sent`);
    if (ordered.includes(file)) return;
    file.dependency.forEach(visit);
    ordered.push(file);
  };
  visit(files[0]!.name);
  return createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
}

const SERVED = [
  "zitadel.management.v1.ManagementService",
  "zitadel.admin.v1.AdminService",
  "zitadel.user.v2.UserService",
  "zitadel.org.v2.OrganizationService",
  "zitadel.project.v2beta.ProjectService",
  "zitadel.authorization.v2beta.AuthorizationService",
  "zitadel.app.v2beta.AppService",
  "portcullis.v1.CredentialService",
  "portcullis.v1.FederationService",
];

describe("gRPC server reflection", () => {
  let s: TestServer;
  let session: http2.ClientHttp2Session;
  beforeAll(async () => {
    s = await startTestServer({ storage: "pglite" });
    session = http2.connect(s.url);
    session.on("error", () => {});
  });
  afterAll(async () => {
    session?.close();
    await s?.close();
  });

  it.each(["v1", "v1alpha"] as const)("lists every served service and reflection itself (%s), without a token", async (version) => {
    const r = reflectionStream(session, version);
    const answer = await r.send({ listServices: "" }, "portcullis.test");
    expect(answer.validHost).toBe("portcullis.test");
    expect(Buffer.from(answer.originalRequest!)).toEqual(Buffer.from(encodeRequest({ listServices: "" }, "portcullis.test")));
    expect(answer.services).toEqual([...SERVED, "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);
    const end = await r.end();
    expect(end[":status"]).toBe(200);
    expect(end["grpc-status"]).toBe("0");
  });

  it("answers a bad token like no token: reflection is not behind the permission pipeline", async () => {
    const r = reflectionStream(session, "v1", { authorization: "Bearer not-a-token", "x-zitadel-orgid": "nope" });
    expect((await r.send({ listServices: "*" })).services).toContain(SERVED[0]);
    expect((await r.end())["grpc-status"]).toBe("0");
  });

  it("describes services, methods and types with their files and imports, and calls a method through the reflected descriptors", async () => {
    const r = reflectionStream(session, "v1");
    // grpcurl describe zitadel.management.v1.ManagementService: the file, then every import it needs.
    const first = await r.send({ fileContainingSymbol: "zitadel.management.v1.ManagementService" });
    const files = first.files!;
    expect(files[0]!.name).toBe("zitadel/management.proto");
    const names = files.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(["zitadel/user.proto", "google/api/annotations.proto", "google/protobuf/descriptor.proto", "validate/validate.proto"]));
    // Everything needed is there: a registry builds from these files alone (it throws on a missing import or type).
    const registry = registryOf(files);
    const service = registry.getService("zitadel.management.v1.ManagementService")!;
    const getMyOrg = service.methods.find((m) => m.name === "GetMyOrg")!;
    expect(getMyOrg.input.typeName).toBe("zitadel.management.v1.GetMyOrgRequest");
    expect(getMyOrg.output.typeName).toBe("zitadel.management.v1.GetMyOrgResponse");
    // The options travel with the files: the REST route and the permission of the method.
    const addMachineUser = service.methods.find((m) => m.name === "AddMachineUser")!;
    expect(getOption(addMachineUser, httpRule).pattern).toEqual({ case: "post", value: "/users/machine" });
    expect(getOption(addMachineUser, auth_option).permission).toBe("user.write");

    // The same stream, a method this time: the file again, but no import a second time.
    const second = await r.send({ fileContainingSymbol: "zitadel.management.v1.ManagementService.GetMyOrg" });
    expect(second.files!.map((f) => f.name)).toEqual(["zitadel/management.proto"]);
    // A message type and a field, from a file already sent: that file alone.
    expect((await r.send({ fileContainingSymbol: "zitadel.user.v1.Machine" })).files!.map((f) => f.name)).toEqual(["zitadel/user.proto"]);
    expect((await r.send({ fileContainingSymbol: "zitadel.user.v1.Machine.access_token_type" })).files!.map((f) => f.name)).toEqual(["zitadel/user.proto"]);
    expect((await r.end())["grpc-status"]).toBe("0");

    // Call GetMyOrg and Healthz over gRPC (HTTP/2) with clients made from the reflected descriptors only.
    const transport = createGrpcTransport({ baseUrl: s.url });
    const dynamic = createClient(service as DescService, transport) as unknown as Record<string, (req: object, opts?: object) => Promise<object>>;
    const org = (await dynamic.getMyOrg!({}, { headers: { authorization: `Bearer ${s.pat}` } })) as never;
    expect(toJson(getMyOrg.output, org)).toMatchObject({ org: { name: "Portcullis", state: "ORG_STATE_ACTIVE" } });
    expect(await dynamic.healthz!({})).toBeDefined();
    // And one call spelled out byte by byte: the reflected input type encodes the request, the output type decodes the answer.
    const raw = await unaryCall(session, "/zitadel.management.v1.ManagementService/GetMyOrg", toBinary(getMyOrg.input, create(getMyOrg.input)), { authorization: `Bearer ${s.pat}` });
    expect(raw.status["grpc-status"]).toBe("0");
    expect(toJson(getMyOrg.output, fromBinary(getMyOrg.output as DescMessage, raw.messages[0]!))).toMatchObject({ org: { name: "Portcullis" } });
  });

  it("answers files by name, extensions by number, and NOT_FOUND without ending the stream", async () => {
    const r = reflectionStream(session, "v1alpha");
    const byName = await r.send({ fileByFilename: "zitadel/object.proto" });
    expect(byName.files![0]!.name).toBe("zitadel/object.proto");

    const numbers = await r.send({ allExtensionNumbersOfType: "google.protobuf.MethodOptions" });
    expect(numbers.extensionNumbers!.baseTypeName).toBe("google.protobuf.MethodOptions");
    expect(numbers.extensionNumbers!.numbers).toEqual(expect.arrayContaining([httpRule.number, auth_option.number]));

    const ext = await r.send({ fileContainingExtension: { containingType: "google.protobuf.MethodOptions", extensionNumber: httpRule.number } });
    expect(ext.files![0]!.name).toBe("google/api/annotations.proto");

    for (const missing of [{ fileByFilename: "no/such.proto" }, { fileContainingSymbol: "zitadel.management.v1.NoSuchService" }, { fileContainingExtension: { containingType: "google.protobuf.MethodOptions", extensionNumber: 1 } }, { allExtensionNumbersOfType: "no.Such" }]) {
      const answer = await r.send(missing);
      expect(answer.error?.code, JSON.stringify(missing)).toBe(Code.NotFound);
      expect(answer.files).toBeUndefined();
    }
    // Reflection describes itself too.
    const self = await r.send({ fileContainingSymbol: "grpc.reflection.v1.ServerReflection" });
    const reflected = registryOf(self.files!).getService("grpc.reflection.v1.ServerReflection")!;
    expect(reflected.methods[0]).toMatchObject({ name: "ServerReflectionInfo", methodKind: "bidi_streaming" });
    expect((await r.send({ listServices: "" })).services).toHaveLength(SERVED.length + 2);
    expect((await r.end())["grpc-status"]).toBe("0");
  });

  it("ends the stream with INVALID_ARGUMENT for a request that asks nothing (as grpc-go)", async () => {
    const r = reflectionStream(session, "v1");
    r.write({});
    const end = await r.end();
    expect(end["grpc-status"]).toBe(String(Code.InvalidArgument));
  });
});

interface UnaryAnswer {
  status: Record<string, unknown>;
  messages: Buffer[];
  /** The response HEADERS frame ended the stream: gRPC's Trailers-Only form. */
  trailersOnly: boolean;
}

function unaryCall(session: http2.ClientHttp2Session, path: string, message: Uint8Array, headers: http2.OutgoingHttpHeaders = {}, contentType = "application/grpc"): Promise<UnaryAnswer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": contentType, te: "trailers", ...headers });
    const messages: Buffer[] = [];
    let status: Record<string, unknown> = {};
    let trailersOnly = false;
    stream.on("response", (h, flags) => {
      status = { ...h };
      trailersOnly = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    });
    stream.on("trailers", (t) => (status = { ...status, ...t }));
    stream.on("data", deframer((_f, d) => messages.push(Buffer.from(d))));
    stream.on("end", () => resolve({ status, messages, trailersOnly }));
    stream.on("error", reject);
    stream.end(envelope(message));
  });
}

/** A POST over HTTP/1.1, body and headers as they came. */
function h1Post(url: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The trailer frame (flag 0x80) of a gRPC-web body, as header fields. */
function grpcWebTrailer(body: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  deframer((flags, data) => {
    if (!(flags & 0x80)) return;
    for (const line of data.toString("latin1").split("\r\n")) {
      const i = line.indexOf(":");
      if (i > 0) fields[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
  })(body);
  return fields;
}

/** A service the server does not have, for real clients to call. */
const nowhere = registryOf([
  create(FileDescriptorProtoSchema, {
    name: "nowhere.proto",
    package: "portcullis.test",
    syntax: "proto3",
    messageType: [{ name: "Empty" }],
    service: [{ name: "Nowhere", method: [{ name: "Call", inputType: ".portcullis.test.Empty", outputType: ".portcullis.test.Empty" }] }],
  }),
]).getService("portcullis.test.Nowhere")!;

const callNowhere = (transport: Transport) => (createClient(nowhere, transport) as unknown as { call(req: object): Promise<object> }).call({});

describe("unknown gRPC methods", () => {
  let s: TestServer;
  let session: http2.ClientHttp2Session;
  beforeAll(async () => {
    s = await startTestServer({ storage: "pglite" });
    session = http2.connect(s.url);
    session.on("error", () => {});
  });
  afterAll(async () => {
    session?.close();
    await s?.close();
  });

  it("answers gRPC over HTTP/2 with HTTP 200 and grpc-status 12, in grpc-go's words", async () => {
    const cases: [string, string][] = [
      ["/zitadel.management.v1.ManagementService/NoSuchMethod", "unknown method NoSuchMethod for service zitadel.management.v1.ManagementService"],
      ["/zitadel.admin.v1.AdminService/GetMyOrg", "unknown method GetMyOrg for service zitadel.admin.v1.AdminService"],
      ["/zitadel.user.v2.UserService/NoSuchMethod", "unknown method NoSuchMethod for service zitadel.user.v2.UserService"],
      ["/zitadel.session.v2.SessionService/CreateSession", "unknown service zitadel.session.v2.SessionService"],
      ["/no.such.Service/Method", "unknown service no.such.Service"],
      ["/zitadel.x.Y/Z", "unknown service zitadel.x.Y"],
    ];
    for (const [path, message] of cases) {
      for (const contentType of ["application/grpc", "application/grpc+proto"]) {
        const a = await unaryCall(session, path, new Uint8Array(), { authorization: `Bearer ${s.pat}` }, contentType);
        expect(a.status[":status"], path).toBe(200);
        expect(a.status["grpc-status"], path).toBe("12");
        expect(decodeURIComponent(String(a.status["grpc-message"])), path).toBe(message);
        expect(a.messages).toHaveLength(0);
        // One HEADERS frame that ends the stream: gRPC's C core (grpcio, grpc++) reads headers followed by an
        // empty DATA frame as a stream without trailers ("Stream removed").
        expect(a.trailersOnly, path).toBe(true);
      }
    }
  });

  it("answers a real gRPC, gRPC-web and Connect client as each protocol does: Unimplemented, Unimplemented, 404", async () => {
    for (const transport of [createGrpcTransport({ baseUrl: s.url }), createGrpcWebTransport({ baseUrl: s.url, httpVersion: "1.1" }), createGrpcWebTransport({ baseUrl: s.url, httpVersion: "2" })]) {
      const err = await errorOf(callNowhere(transport));
      expect(err?.code).toBe(Code.Unimplemented);
      expect(err?.rawMessage).toBe("unknown service portcullis.test.Nowhere");
    }
    // Connect maps 404 to Unimplemented as well; on the wire it stays a plain 404.
    const connectErr = await errorOf(callNowhere(createConnectTransport({ baseUrl: s.url, httpVersion: "1.1" })));
    expect(connectErr?.code).toBe(Code.Unimplemented);
    const res = await fetch(`${s.url}/portcullis.test.Nowhere/Call`, { method: "POST", headers: { "content-type": "application/proto" }, body: new Uint8Array() });
    expect(res.status).toBe(404);
  });

  it("answers gRPC-web with the status in a trailer frame (binary and text), and gRPC over HTTP/1.1 with a Trailers-Only answer", async () => {
    const web = await h1Post(`${s.url}/zitadel.management.v1.ManagementService/Nope`, { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" }, envelope(new Uint8Array()));
    expect(web.status).toBe(200);
    expect(web.headers["content-type"]).toBe("application/grpc-web+proto");
    expect(grpcWebTrailer(web.body)).toEqual({ "grpc-status": "12", "grpc-message": "unknown method Nope for service zitadel.management.v1.ManagementService" });

    const text = await h1Post(`${s.url}/x.Y/Z`, { "content-type": "application/grpc-web-text" }, Buffer.from(envelope(new Uint8Array()).toString("base64")));
    expect(text.status).toBe(200);
    expect(text.headers["content-type"]).toBe("application/grpc-web-text+proto");
    expect(grpcWebTrailer(Buffer.from(text.body.toString("latin1"), "base64"))).toEqual({ "grpc-status": "12", "grpc-message": "unknown service x.Y" });

    const h1 = await h1Post(`${s.url}/x.Y/Z`, { "content-type": "application/grpc", te: "trailers" }, envelope(new Uint8Array()));
    expect(h1.status).toBe(200);
    expect(h1.headers["grpc-status"]).toBe("12");
  });

  it("leaves everything that is not gRPC as it was", async () => {
    // A Connect (or plain HTTP) request for an unknown RPC path: 404 with the REST error body.
    const r = await fetch(`${s.url}/zitadel.management.v1.ManagementService/NoSuchMethod`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ code: 5, message: "Not Found" });
    // "application/grpcx" is not gRPC.
    const x = await h1Post(`${s.url}/x.Y/Z`, { "content-type": "application/grpcx" }, Buffer.alloc(0));
    expect(x.status).toBe(404);
    // A path that is no RPC path (REST, OAuth, /debug, /openapi) keeps its HTTP answer whatever the content type.
    const restWithGrpc = await h1Post(`${s.url}/management/v1/orgs/me`, { "content-type": "application/grpc" }, Buffer.alloc(0));
    expect(restWithGrpc.status).toBe(405);
    const restUnknown = await h1Post(`${s.url}/management/v1/no/such`, { "content-type": "application/grpc-web+proto" }, Buffer.alloc(0));
    expect([restUnknown.status, JSON.parse(restUnknown.body.toString())]).toEqual([404, { code: 5, message: "Not Found" }]);
    // The server is fine afterwards.
    expect((await fetch(`${s.url}/debug/healthz`)).status).toBe(200);
  });
});
