import { describe, it, expect } from "vitest";
import { create, createFileRegistry, setExtension, type MessageInitShape, type DescField, type DescMessage, type DescService, type Message } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FileDescriptorProtoSchema,
  MethodOptionsSchema,
  file_google_protobuf_duration,
  file_google_protobuf_field_mask,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
  timestampFromDate,
  FieldDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import { http } from "@zitadel/proto/google/api/annotations_pb.js";
import { HttpRuleSchema } from "@zitadel/proto/google/api/http_pb.js";
import {
  AddMachineKeyResponseSchema,
  GetOrgIDPByIDResponseSchema,
  GetUserByIDResponseSchema,
  ListUsersResponseSchema,
  ManagementService,
  UpdateMachineResponseSchema,
  type AddMachineKeyRequest,
  type ListUsersRequest,
} from "@zitadel/proto/zitadel/management_pb.js";
import { AdminService } from "@zitadel/proto/zitadel/admin_pb.js";
import { AccessTokenType, UserState } from "@zitadel/proto/zitadel/user_pb.js";
import { IDPOwnerType, IDPState } from "@zitadel/proto/zitadel/idp_pb.js";
import { DomainError } from "../../domain/errors.js";
import { compileRoutes, type RestRoute, type RestRouter } from "./routes.js";
import { decodeRequest, encodeResponse } from "./transcode.js";

const management = compileRoutes(ManagementService, "/management/v1");
const admin = compileRoutes(AdminService, "/admin/v1");
const utf8 = new TextEncoder();

function decode(router: RestRouter, verb: string, path: string, opts: { query?: string; body?: string | Uint8Array } = {}) {
  const match = router.match(verb, path);
  if (match.kind !== "hit") throw new Error(`${verb} ${path}: ${match.status}`);
  const body = typeof opts.body === "string" ? utf8.encode(opts.body) : opts.body;
  return decodeRequest(match.route, match.pathParams, new URLSearchParams(opts.query ?? ""), body);
}

function invalidArgument(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    expect((e as DomainError).kind).toBe("InvalidArgument");
    expect((e as DomainError).id).toBe("");
    return (e as DomainError).message;
  }
  throw new Error("expected InvalidArgument");
}

/** Reads a (nested) field through the reflect API; lists come back as arrays. */
function valueAt(schema: DescMessage, message: Message, fields: readonly DescField[]): unknown {
  let r: ReflectMessage = reflect(schema, message);
  for (const f of fields.slice(0, -1)) r = r.get(f) as ReflectMessage;
  const leaf = fields[fields.length - 1]!;
  const value = r.get(leaf);
  return leaf.fieldKind === "list" ? [...(value as Iterable<unknown>)] : value;
}

// ---------------------------------------------------------------------------------------------------------------
// Every route of both services

interface Sample {
  readonly segment: string;
  readonly query: string;
  readonly json: unknown;
  readonly value: unknown;
}

/** A sample per field type: how it is written in a path, a query string and JSON, and what the decoded message holds. */
function sampleFor(field: DescField, tag: string): Sample | undefined {
  if (field.fieldKind === "enum") {
    const v = field.enum.values[1] ?? field.enum.values[0]!;
    return { segment: v.name, query: v.name, json: v.name, value: v.number };
  }
  if (field.fieldKind !== "scalar") return undefined;
  switch (field.scalar) {
    case 9:
      return { segment: encodeURIComponent(`${tag} é/x`), query: `${tag} é&x`, json: `${tag} é&x`, value: undefined };
    case 8:
      return { segment: "true", query: "true", json: true, value: true };
    case 3:
    case 4:
    case 6:
    case 16:
    case 18:
      return { segment: "42", query: "42", json: "42", value: 42n };
    case 5:
    case 13:
    case 7:
    case 15:
    case 17:
      return { segment: "42", query: "42", json: 42, value: 42 };
    case 12:
      return { segment: "AQI=", query: "AQI=", json: "AQI=", value: new Uint8Array([1, 2]) };
    default:
      return undefined;
  }
}

const stringValue = (sample: Sample, tag: string, raw: "segment" | "query") => sample.value ?? (raw === "segment" ? `${tag} é/x` : `${tag} é&x`);

function samplePath(route: RestRoute) {
  const expectations: Array<{ fields: readonly DescField[]; value: unknown }> = [];
  const path = route.template.replace(/\{([^}=]+)(=[^}]*)?\}/g, (_, name: string, pattern?: string) => {
    const variable = route.variables.find((v) => v.name === name)!;
    if (pattern === "=**") {
      expectations.push({ fields: variable.fields, value: "k1/k 2/k3" });
      return "k1/k%202/k3";
    }
    const sample = sampleFor(variable.fields[variable.fields.length - 1]!, `p-${name}`)!;
    expectations.push({ fields: variable.fields, value: stringValue(sample, `p-${name}`, "segment") });
    return sample.segment;
  });
  return { path, expectations };
}

/** The first top-level field that is neither a path variable nor a named body, with a sample value. */
function sampleField(route: RestRoute): { field: DescField; sample: Sample } | undefined {
  const bound = new Set(route.variables.map((v) => v.fields[0]));
  for (const field of route.method.input.fields) {
    if (bound.has(field) || field === route.bodyField || field.oneof) continue;
    const sample = sampleFor(field, "f");
    if (sample) return { field, sample };
  }
  return undefined;
}

const table = [
  ...management.routes.map((route) => ({ name: "management", router: management, route })),
  ...admin.routes.map((route) => ({ name: "admin", router: admin, route })),
];

describe("decodeRequest over every ZITADEL route", () => {
  it("has enough routes with a sample field for the table to mean something", () => {
    expect(table.length).toBe(500);
    expect(table.filter((t) => t.route.body === "*" && sampleField(t.route)).length).toBeGreaterThan(150);
    expect(table.filter((t) => t.route.body === "" && sampleField(t.route)).length).toBeGreaterThanOrEqual(6);
  });

  it.each(table.map((t) => [`${t.name} ${t.route.verb} ${t.route.template} (body "${t.route.body}")`, t] as const))("%s", (_, { router, route }) => {
    const { path, expectations } = samplePath(route);
    const extra = sampleField(route);
    let message: Message;
    if (route.body === "*") {
      // Path parameters overwrite whatever the body says about the same fields.
      const body: Record<string, unknown> = { unknownField: { nested: [1, 2] } };
      for (const v of route.variables) if (v.fields.length === 1) body[v.fields[0]!.jsonName] = sampleFor(v.fields[0]!, "from-body")?.json;
      if (extra) body[extra.field.jsonName] = extra.sample.json;
      message = decode(router, route.verb, path, { body: JSON.stringify(body) });
    } else {
      // Query parameters never touch path fields, under either name.
      const query = new URLSearchParams({ unknownParam: "1" });
      for (const v of route.variables) {
        query.append(v.fields[0]!.jsonName, "from-query");
        query.append(v.fields[0]!.name, "from-query");
      }
      if (extra) query.append(extra.field.jsonName, extra.sample.query);
      message = decode(router, route.verb, path, { query: query.toString() });
    }
    expect(message.$typeName).toBe(route.method.input.typeName);
    for (const { fields, value } of expectations) expect(valueAt(route.method.input, message, fields)).toEqual(value);
    if (extra) expect(valueAt(route.method.input, message, [extra.field])).toEqual(stringValue(extra.sample, "f", "query"));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// JSON bodies

describe("JSON body (body: \"*\")", () => {
  const listUsers = (body: string) => decode(management, "POST", "/management/v1/users/_search", { body }) as ListUsersRequest;

  it("accepts JSON names and proto names, enum names and numbers, 64-bit ints as string or number", () => {
    const camel = listUsers(
      '{"query":{"offset":"5","limit":10,"asc":true},"sortingColumn":"USER_FIELD_NAME_USER_NAME","queries":[{"userNameQuery":{"userName":"a","method":"TEXT_QUERY_METHOD_CONTAINS"}}]}',
    );
    const snake = listUsers('{"query":{"offset":5,"limit":"10","asc":true},"sorting_column":1,"queries":[{"user_name_query":{"user_name":"a","method":4}}]}');
    for (const m of [camel, snake]) {
      expect(m.query).toMatchObject({ offset: 5n, limit: 10, asc: true });
      expect(m.sortingColumn).toBe(1);
      expect(m.queries[0]?.query).toMatchObject({ case: "userNameQuery", value: { userName: "a", method: 4 } });
    }
  });

  it("ignores unknown fields and unknown enum names, like protojson with DiscardUnknown", () => {
    const m = listUsers('{"foo":1,"query":{"bar":[1,{"x":null}],"limit":3},"sortingColumn":"NO_SUCH_VALUE"}');
    expect(m.query?.limit).toBe(3);
    expect(m.sortingColumn).toBe(0);
  });

  it("accepts standard and URL-safe base64, padded or not, for bytes", () => {
    const key = (publicKey: string) => (decode(management, "POST", "/management/v1/users/u1/keys", { body: JSON.stringify({ publicKey }) }) as AddMachineKeyRequest).publicKey;
    for (const b64 of ["+/8=", "-_8=", "+/8", "-_8"]) expect([...key(b64)]).toEqual([251, 255]);
  });

  it("parses RFC 3339 timestamps with offsets", () => {
    const m = decode(management, "POST", "/management/v1/users/u1/keys", { body: '{"type":"KEY_TYPE_JSON","expirationDate":"2030-01-02T03:04:05.5+01:00"}' }) as AddMachineKeyRequest;
    expect(m.type).toBe(1);
    expect(m.expirationDate).toMatchObject({ seconds: BigInt(Date.UTC(2030, 0, 2, 2, 4, 5) / 1000), nanos: 500_000_000 });
  });

  it("treats an empty or whitespace-only body as {}", () => {
    for (const body of [undefined, "", " \n\t\r "]) {
      const m = decode(management, "PUT", "/management/v1/users/u1/machine", { body });
      expect(m).toEqual(create(ManagementService.method.updateMachine.input, { userId: "u1" }));
    }
  });

  it.each([
    ["truncated", "{"],
    ["not JSON", "userName=x"],
    ["an array", "[]"],
    ["a number", "1"],
    ["a string", '"x"'],
    ["null", "null"],
    ["trailing garbage", '{"name":"x"} x'],
    ["a wrong scalar type", '{"name":1}'],
    ["a wrong enum type", '{"accessTokenType":true}'],
    ["a fractional enum", '{"accessTokenType":1.5}'],
    ["an int32 out of range", '{"accessTokenType":4294967296}'],
    ["the same field by both names", '{"name":"a","name":"b","access_token_type":1,"accessTokenType":1}'],
  ])("rejects a body that is %s", (_, body) => {
    const message = invalidArgument(() => decode(management, "PUT", "/management/v1/users/u1/machine", { body }));
    expect(message).toMatch(/^proto: /);
  });

  it("rejects wrong nested types and invalid UTF-8", () => {
    expect(invalidArgument(() => listUsers('{"queries":{}}'))).toMatch(/^proto: .*queries/);
    expect(invalidArgument(() => listUsers('{"query":{"offset":"abc"}}'))).toMatch(/^proto: .*offset/);
    expect(invalidArgument(() => decode(management, "POST", "/management/v1/users/_search", { body: new Uint8Array([0x7b, 0xff, 0x7d]) }))).toMatch(/UTF-8/);
    expect(invalidArgument(() => decode(management, "POST", "/management/v1/users/_search", { body: new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]) }))).toMatch(/^proto: /);
  });

  it("survives huge and deeply nested bodies", () => {
    const deepArray = "[".repeat(1 << 20);
    expect(invalidArgument(() => listUsers(deepArray))).toMatch(/^proto: /);
    const deepUnknown = '{"x":'.repeat(100_000) + "1" + "}".repeat(100_000);
    expect(listUsers(deepUnknown).$typeName).toBe("zitadel.management.v1.ListUsersRequest");
    const deepKnown = `{"queries":[${'{"orQuery":{"queries":['.repeat(200)}${"]}}".repeat(200)}]}`;
    expect(invalidArgument(() => listUsers(deepKnown))).toMatch(/^proto: /);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Path parameters

describe("path parameters", () => {
  it("convert enums by name or number, grpc-gateway's runtime.Enum", () => {
    const byName = decode(management, "DELETE", "/management/v1/policies/login/second_factors/SECOND_FACTOR_TYPE_U2F");
    const byNumber = decode(management, "DELETE", "/management/v1/policies/login/second_factors/2");
    expect((byName as unknown as { type: number }).type).toBe(2);
    expect((byNumber as unknown as { type: number }).type).toBe(2);
    expect(invalidArgument(() => decode(management, "DELETE", "/management/v1/policies/login/second_factors/99"))).toBe("type mismatch, parameter: type, error: 99 is not valid");
    expect(invalidArgument(() => decode(management, "DELETE", "/management/v1/policies/login/second_factors/otp"))).toBe("type mismatch, parameter: type, error: otp is not valid");
  });

  it("convert uint64 with strconv.ParseUint(s, 0, 64)", () => {
    const failed = (seq: string) => (decode(admin, "DELETE", `/admin/v1/failedevents/db/view/${seq}`) as unknown as { failedSequence: bigint }).failedSequence;
    expect(failed("18446744073709551615")).toBe(18446744073709551615n);
    expect(failed("0x10")).toBe(16n);
    expect(failed("1_000")).toBe(1000n);
    expect(invalidArgument(() => failed("abc"))).toBe('type mismatch, parameter: failed_sequence, error: strconv.ParseUint: parsing "abc": invalid syntax');
    expect(invalidArgument(() => failed("-1"))).toBe('type mismatch, parameter: failed_sequence, error: strconv.ParseUint: parsing "-1": invalid syntax');
    expect(invalidArgument(() => failed("18446744073709551616"))).toBe(
      'type mismatch, parameter: failed_sequence, error: strconv.ParseUint: parsing "18446744073709551616": value out of range',
    );
  });

  it("bind a multi-segment {role_key=**} into the request", () => {
    const m = decode(management, "PUT", "/management/v1/projects/p1/roles/team%20a/admin", { body: '{"displayName":"x","roleKey":"ignored"}' });
    expect(m).toMatchObject({ projectId: "p1", roleKey: "team a/admin", displayName: "x" });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Query strings

describe("query string (body: \"\")", () => {
  it("sets scalars by JSON or proto name, ignoring empty and unknown parameters", () => {
    expect(decode(management, "GET", "/management/v1/users/_is_unique", { query: "userName=a%20b&email=&bogus=1" })).toMatchObject({ userName: "a b", email: "" });
    expect(decode(management, "GET", "/management/v1/users/_is_unique", { query: "user_name=x" })).toMatchObject({ userName: "x" });
  });

  it("sets nested fields by dotted path, repeated fields by repetition, bools, 64-bit ints and enums", () => {
    const m = decode(admin, "POST", "/admin/v1/domains/_search", { query: "query.offset=5&query.limit=3&query.asc=t&sortingColumn=1" });
    expect(m).toMatchObject({ query: { offset: 5n, limit: 3, asc: true }, sortingColumn: 1 });
    const byName = decode(admin, "POST", "/admin/v1/domains/_search", { query: "sorting_column=DOMAIN_FIELD_NAME_DOMAIN" });
    expect(byName).toMatchObject({ sortingColumn: 1 });
    const roles = decode(management, "POST", "/management/v1/projects/grants/members/roles/_search", { query: "result=a&result=b&query.limit=2" });
    expect(roles).toMatchObject({ result: ["a", "b"], query: { limit: 2 } });
  });

  it("never lets a query parameter overwrite a path parameter", () => {
    expect(decode(management, "GET", "/management/v1/users/u1", { query: "id=u2" })).toMatchObject({ id: "u1" });
    const grants = decode(management, "GET", "/management/v1/granted_projects/p1/grants/g1/roles/_search", { query: "projectId=x&grant_id=y&query.limit=1" });
    expect(grants).toMatchObject({ projectId: "p1", grantId: "g1", query: { limit: 1 } });
  });

  it("ignores the query string and the body where grpc-gateway does", () => {
    expect(decode(management, "PUT", "/management/v1/users/u1/machine", { query: "name=fromQuery", body: '{"name":"fromBody"}' })).toMatchObject({ name: "fromBody" });
    expect(decode(management, "GET", "/management/v1/users/u1", { body: "not json" })).toMatchObject({ id: "u1" });
  });

  it.each([
    ["query.offset=abc", 'parsing field "offset": strconv.ParseUint: parsing "abc": invalid syntax'],
    ["query.limit=4294967296", 'parsing field "limit": strconv.ParseUint: parsing "4294967296": value out of range'],
    ["query.asc=yes", 'parsing field "asc": strconv.ParseBool: parsing "yes": invalid syntax'],
    ["sortingColumn=NOPE", 'parsing field "sorting_column": "NOPE" is not a valid value'],
    ["sortingColumn=1&sortingColumn=2", 'too many values for field "sorting_column": 1, 2'],
    ["query=1", 'parsing field "query": unsupported message type: "zitadel.v1.ListQuery"'],
    ["queries.domainQuery.domain=x", 'invalid path: "queries" is not a message'],
  ])("rejects ?%s", (query, message) => {
    expect(invalidArgument(() => decode(admin, "POST", "/admin/v1/domains/_search", { query }))).toBe(message);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Features ZITADEL's v1 services do not use: named bodies, nested path variables, well-known types in queries

function syntheticService(): DescService {
  const field = (name: string, number: number, type: Type, extra: MessageInitShape<typeof FieldDescriptorProtoSchema> = {}) => ({
    name,
    number,
    type,
    label: Label.OPTIONAL,
    jsonName: name.replace(/_(.)/g, (_, c: string) => c.toUpperCase()),
    ...extra,
  });
  const ref = (typeName: string) => ({ typeName });
  const rules: Record<string, MessageInitShape<typeof HttpRuleSchema>> = {
    Get: { pattern: { case: "get", value: "/v1/things/{inner.name}" } },
    Patch: { pattern: { case: "patch", value: "/v1/things/{inner.name}" }, body: "inner" },
    Tags: { pattern: { case: "put", value: "/v1/tags/{id}" }, body: "tags" },
    Sized: { pattern: { case: "get", value: "/v1/sizes/{inner.size}" } },
  };
  const file = create(FileDescriptorProtoSchema, {
    name: "transcode_test.proto",
    package: "tt",
    syntax: "proto3",
    dependency: [
      "google/protobuf/duration.proto",
      "google/protobuf/field_mask.proto",
      "google/protobuf/struct.proto",
      "google/protobuf/timestamp.proto",
      "google/protobuf/wrappers.proto",
    ],
    enumType: [{ name: "Color", value: [{ name: "COLOR_UNSPECIFIED", number: 0 }, { name: "COLOR_RED", number: 1 }] }],
    messageType: [
      { name: "Inner", field: [field("name", 1, Type.STRING), field("size", 2, Type.INT64), field("flag", 3, Type.BOOL)] },
      {
        name: "Req",
        oneofDecl: [{ name: "choice" }],
        nestedType: [{ name: "LabelsEntry", field: [field("key", 1, Type.STRING), field("value", 2, Type.INT32)], options: { mapEntry: true } }],
        field: [
          field("id", 1, Type.STRING),
          field("inner", 2, Type.MESSAGE, ref(".tt.Inner")),
          field("tags", 3, Type.STRING, { label: Label.REPEATED }),
          field("labels", 4, Type.MESSAGE, { typeName: ".tt.Req.LabelsEntry", label: Label.REPEATED }),
          field("at", 5, Type.MESSAGE, ref(".google.protobuf.Timestamp")),
          field("ttl", 6, Type.MESSAGE, ref(".google.protobuf.Duration")),
          field("mask", 7, Type.MESSAGE, ref(".google.protobuf.FieldMask")),
          field("limit", 8, Type.MESSAGE, ref(".google.protobuf.Int64Value")),
          field("extra", 9, Type.MESSAGE, ref(".google.protobuf.Struct")),
          field("data", 10, Type.BYTES),
          field("color", 11, Type.ENUM, { typeName: ".tt.Color" }),
          field("colors", 12, Type.ENUM, { typeName: ".tt.Color", label: Label.REPEATED }),
          field("left", 13, Type.STRING, { oneofIndex: 0 }),
          field("right", 14, Type.INT32, { oneofIndex: 0 }),
          field("ratio", 15, Type.FLOAT),
        ],
      },
    ],
    service: [
      {
        name: "Svc",
        method: Object.entries(rules).map(([name, rule]) => {
          const options = create(MethodOptionsSchema);
          setExtension(options, http, create(HttpRuleSchema, rule));
          return { name, inputType: ".tt.Req", outputType: ".tt.Req", options };
        }),
      },
    ],
  });
  const deps = [file_google_protobuf_duration, file_google_protobuf_field_mask, file_google_protobuf_struct, file_google_protobuf_timestamp, file_google_protobuf_wrappers];
  return createFileRegistry(file, (name) => deps.find((d) => d.proto.name === name)).getService("tt.Svc")!;
}

describe("synthetic service", () => {
  const router = compileRoutes(syntheticService(), "");
  const json = (m: Message) => JSON.parse(encodeResponse(router.routes[0]!.method.input, m)) as unknown;

  it("binds a nested {inner.name} path variable, creating the parent message", () => {
    expect(json(decode(router, "GET", "/v1/things/n1", { query: "inner.size=7&inner.flag=true" }))).toEqual({ inner: { name: "n1", size: "7", flag: true } });
  });

  it("decodes a named body into its field, then path and query on top", () => {
    // The query filter covers the body field too, so inner.flag is not applied (grpc-gateway's filter does the same).
    const m = decode(router, "PATCH", "/v1/things/n1", { body: '{"name":"body","size":"3"}', query: "id=q&inner.flag=1" });
    expect(json(m)).toEqual({ id: "q", inner: { name: "n1", size: "3" } });
    expect(json(decode(router, "PATCH", "/v1/things/n1", { query: "inner.size=9" }))).toEqual({ inner: { name: "n1" } });
    expect(json(decode(router, "PUT", "/v1/tags/t1", { body: '["a","b"]' }))).toEqual({ id: "t1", tags: ["a", "b"] });
    expect(invalidArgument(() => decode(router, "PUT", "/v1/tags/t1", { body: '{"a":1}' }))).toMatch(/^proto: /);
  });

  it("parses well-known types, maps, bytes, enums, floats and repeated enums from the query string", () => {
    const query = [
      "at=2024-01-02T03:04:05.5Z",
      "ttl=1h30m0.5s",
      "mask=a,b.c",
      "limit=12",
      'extra={"k":[1,"x"]}',
      "labels[a]=1",
      "data=-_8=",
      "color=COLOR_RED",
      "colors=1&colors=COLOR_RED&colors=0",
      "ratio=0.1",
    ].join("&");
    expect(json(decode(router, "GET", "/v1/things/n", { query: query.replace(/\+/g, "%2B") }))).toEqual({
      inner: { name: "n" },
      labels: { a: 1 },
      at: "2024-01-02T03:04:05.500Z",
      ttl: "5400.500s",
      mask: "a,b.c",
      limit: "12",
      extra: { k: [1, "x"] },
      data: "+/8=",
      color: "COLOR_RED",
      colors: ["COLOR_RED", "COLOR_RED", "COLOR_UNSPECIFIED"],
      ratio: Math.fround(0.1),
    });
  });

  it.each([
    ["left=a&right=1", 'field already set for oneof "choice"'],
    ["ttl=5", 'parsing field "ttl": time: missing unit in duration "5"'],
    ["ttl=1d", 'parsing field "ttl": time: unknown unit "d" in duration "1d"'],
    ["at=yesterday", 'parsing field "at": parsing time "yesterday" as "2006-01-02T15:04:05.999999999Z07:00"'],
    ["limit=1.5", 'parsing field "limit": strconv.ParseInt: parsing "1.5": invalid syntax'],
    ["data=!!", 'parsing field "data": illegal base64 data at input byte 0'],
    ["labels=1", 'more than one value provided for key "1" in map "tt.Req.labels"'],
    ["ratio=1e39", 'parsing field "ratio": strconv.ParseFloat: parsing "1e39": value out of range'],
    ["colors=1&colors=7", 'parsing list "colors": "7" is not a valid value'],
  ])("rejects ?%s", (query, message) => {
    expect(invalidArgument(() => decode(router, "GET", "/v1/things/n", { query }))).toBe(message);
  });

  it("converts nested path variables with the query-string parser (base 10), reporting a type mismatch", () => {
    expect(json(decode(router, "GET", "/v1/sizes/-12"))).toEqual({ inner: { size: "-12" } });
    expect(invalidArgument(() => decode(router, "GET", "/v1/sizes/0x10"))).toBe(
      'type mismatch, parameter: inner.size, error: parsing field "size": strconv.ParseInt: parsing "0x10": invalid syntax',
    );
    const patch = router.routes.find((r) => r.verb === "PATCH")!;
    expect(invalidArgument(() => decodeRequest(patch, {}, new URLSearchParams(), undefined))).toBe("missing parameter inner.name");
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Responses

describe("encodeResponse", () => {
  const at = timestampFromDate(new Date("2024-05-06T07:08:09Z"));

  it("writes ObjectDetails with int64 as string and RFC 3339 timestamps", () => {
    const m = create(UpdateMachineResponseSchema, { details: { sequence: 2n, creationDate: at, resourceOwner: "org1" } });
    expect(encodeResponse(UpdateMachineResponseSchema, m)).toBe('{"details":{"sequence":"2","creationDate":"2024-05-06T07:08:09Z","resourceOwner":"org1"}}');
  });

  it("writes a machine user: set-but-empty messages kept, zero scalars and enums omitted", () => {
    const user = (accessTokenType: AccessTokenType, hasSecret: boolean) =>
      create(GetUserByIDResponseSchema, {
        user: {
          id: "u1",
          details: { sequence: 3n, changeDate: at, resourceOwner: "org1" },
          state: UserState.ACTIVE,
          userName: "svc",
          loginNames: ["svc@org"],
          preferredLoginName: "svc@org",
          type: { case: "machine", value: { name: "", description: "", hasSecret, accessTokenType } },
        },
      });
    expect(encodeResponse(GetUserByIDResponseSchema, user(AccessTokenType.BEARER, false))).toBe(
      '{"user":{"id":"u1","details":{"sequence":"3","changeDate":"2024-05-06T07:08:09Z","resourceOwner":"org1"},"state":"USER_STATE_ACTIVE","userName":"svc","loginNames":["svc@org"],"preferredLoginName":"svc@org","machine":{}}}',
    );
    expect(JSON.parse(encodeResponse(GetUserByIDResponseSchema, user(AccessTokenType.JWT, true))).user.machine).toEqual({ hasSecret: true, accessTokenType: "ACCESS_TOKEN_TYPE_JWT" });
  });

  it("writes an empty list response as its details only, and an empty message as {}", () => {
    const nanos = timestampFromDate(new Date("2024-05-06T07:08:09.120Z"));
    const m = create(ListUsersResponseSchema, { details: { processedSequence: 7n, viewTimestamp: nanos } });
    expect(encodeResponse(ListUsersResponseSchema, m)).toBe('{"details":{"processedSequence":"7","viewTimestamp":"2024-05-06T07:08:09.120Z"}}');
    expect(encodeResponse(ListUsersResponseSchema, create(ListUsersResponseSchema))).toBe("{}");
  });

  it("writes bytes as padded standard base64 and unknown enum numbers as numbers", () => {
    const key = create(AddMachineKeyResponseSchema, { keyId: "k1", keyDetails: new Uint8Array([251, 255]) });
    expect(encodeResponse(AddMachineKeyResponseSchema, key)).toBe('{"keyId":"k1","keyDetails":"+/8="}');
    const odd = create(GetUserByIDResponseSchema, { user: { state: 42 as UserState } });
    expect(encodeResponse(GetUserByIDResponseSchema, odd)).toBe('{"user":{"state":42}}');
  });

  it("keeps protojson's declaration order where a oneof is declared out of field-number order", () => {
    const idp = create(GetOrgIDPByIDResponseSchema, {
      idp: { id: "i1", state: IDPState.IDP_STATE_ACTIVE, owner: IDPOwnerType.IDP_OWNER_TYPE_ORG, autoRegister: true, config: { case: "jwtConfig", value: { issuer: "iss" } } },
    });
    // jwt_config is field 9 but declared before auto_register (8); protojson follows the declaration.
    expect(encodeResponse(GetOrgIDPByIDResponseSchema, idp)).toBe(
      '{"idp":{"id":"i1","state":"IDP_STATE_ACTIVE","owner":"IDP_OWNER_TYPE_ORG","jwtConfig":{"issuer":"iss"},"autoRegister":true}}',
    );
  });
});
