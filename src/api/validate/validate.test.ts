import {
  create,
  createFileRegistry,
  getOption,
  hasOption,
  setExtension,
  toJson,
  type DescMessage,
  type DescService,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FieldOptionsSchema,
  FileDescriptorProtoSchema,
  file_google_protobuf_duration,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
} from "@bufbuild/protobuf/wkt";
import { AdminService, ListEventsRequestSchema } from "@zitadel/proto/zitadel/admin_pb.js";
import {
  AddAppleProviderRequestSchema,
  AddHumanUserRequestSchema,
  AddLDAPProviderRequestSchema,
  AddMachineKeyRequestSchema,
  AddMachineUserRequestSchema,
  AddOIDCAppRequestSchema,
  AddSAMLAppRequestSchema,
  BulkRemoveUserMetadataRequestSchema,
  BulkSetUserMetadataRequestSchema,
  ListUsersRequestSchema,
  ManagementService,
  RemoveMachineSecretRequestSchema,
  ResendHumanInitializationRequestSchema,
  SetCustomInitMessageTextRequestSchema,
  SetUserMetadataRequestSchema,
  UpdateHumanPhoneRequestSchema,
} from "@zitadel/proto/zitadel/management_pb.js";
import { KeyType } from "@zitadel/proto/zitadel/auth_n_key_pb.js";
import { AccessTokenType, SearchQuerySchema } from "@zitadel/proto/zitadel/user_pb.js";
import { FieldRulesSchema, file_validate_validate, required, rules } from "@zitadel/proto/validate/validate_pb.js";
import { describe, expect, it } from "vitest";
import { validateMessage } from "./index.js";

function check<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): string | undefined {
  return validateMessage(schema, create(schema, init));
}

const range = (from: number, to: number) => `value length must be between ${from} and ${to} runes, inclusive`;

describe("validateMessage on ZITADEL requests", () => {
  it("reports string length with rune bounds", () => {
    expect(check(AddMachineUserRequestSchema, { userName: "", name: "x" })).toBe(
      `invalid AddMachineUserRequest.UserName: ${range(1, 200)}`,
    );
    expect(check(RemoveMachineSecretRequestSchema, { userId: "a".repeat(201) })).toBe(
      `invalid RemoveMachineSecretRequest.UserId: ${range(1, 200)}`,
    );
  });

  it("counts runes, not UTF-16 units or bytes", () => {
    expect(check(AddMachineUserRequestSchema, { userName: "é".repeat(200), name: "x" })).toBeUndefined();
    expect(check(AddMachineUserRequestSchema, { userName: "😀".repeat(200), name: "x" })).toBeUndefined();
    expect(check(AddMachineUserRequestSchema, { userName: "é".repeat(201), name: "x" })).toBe(
      `invalid AddMachineUserRequest.UserName: ${range(1, 200)}`,
    );
  });

  it("treats an explicit min_len of 0 as set, like the Go pointer test", () => {
    expect(check(ListEventsRequestSchema, { editorUserId: "x".repeat(201) })).toBe(
      `invalid ListEventsRequest.EditorUserId: ${range(0, 200)}`,
    );
  });

  it("checks enum not_in before defined_only (enum.go: const, in/not_in, defined_only)", () => {
    expect(check(AddMachineKeyRequestSchema, { userId: "u", type: 0 })).toBe(
      "invalid AddMachineKeyRequest.Type: value must not be in list [0]",
    );
    expect(check(AddMachineKeyRequestSchema, { userId: "u", type: 99 as KeyType })).toBe(
      "invalid AddMachineKeyRequest.Type: value must be one of the defined enum values",
    );
    expect(check(AddMachineKeyRequestSchema, { userId: "u", type: KeyType.JSON })).toBeUndefined();
    expect(check(AddMachineUserRequestSchema, { userName: "u", name: "x", accessTokenType: 7 as AccessTokenType })).toBe(
      "invalid AddMachineUserRequest.AccessTokenType: value must be one of the defined enum values",
    );
  });

  it("validates proto3 optional fields only when present, after all other fields", () => {
    expect(check(AddMachineUserRequestSchema, { userName: "u", name: "x" })).toBeUndefined();
    expect(check(AddMachineUserRequestSchema, { userName: "u", name: "x", userId: "" })).toBe(
      `invalid AddMachineUserRequest.UserId: ${range(1, 200)}`,
    );
    expect(check(AddMachineUserRequestSchema, { userName: "u", name: "x", userId: "u".repeat(200) })).toBeUndefined();
    expect(check(AddMachineUserRequestSchema, { userName: "u", name: "", userId: "" })).toBe(
      `invalid AddMachineUserRequest.Name: ${range(1, 200)}`,
    );
  });

  it("reports a missing required oneof inside repeated embedded messages", () => {
    expect(check(ListUsersRequestSchema, { queries: [{}] })).toBe(
      "invalid ListUsersRequest.Queries[0]: embedded message failed validation | caused by: invalid SearchQuery.Query: value is required",
    );
    expect(check(ListUsersRequestSchema, {})).toBeUndefined();
  });

  it("checks the selected oneof member and nested Go type names", () => {
    const query = { query: { case: "userNameQuery" as const, value: { userName: "x", method: 42 } } };
    expect(check(ListUsersRequestSchema, { queries: [{ query: { case: "userNameQuery", value: { userName: "x" } } }, query] })).toBe(
      "invalid ListUsersRequest.Queries[1]: embedded message failed validation | caused by: " +
        "invalid SearchQuery.UserNameQuery: embedded message failed validation | caused by: " +
        "invalid UserNameQuery.Method: value must be one of the defined enum values",
    );
    expect(check(BulkSetUserMetadataRequestSchema, { id: "1", metadata: [{ key: "k", value: new Uint8Array() }] })).toBe(
      "invalid BulkSetUserMetadataRequest.Metadata[0]: embedded message failed validation | caused by: " +
        "invalid BulkSetUserMetadataRequest_Metadata.Value: value length must be between 1 and 500000 bytes, inclusive",
    );
  });

  it("reports a required oneof on the oneof's Go name", () => {
    expect(check(AddSAMLAppRequestSchema, { projectId: "p", name: "n" })).toBe("invalid AddSAMLAppRequest.Metadata: value is required");
    expect(check(AddSAMLAppRequestSchema, { projectId: "p", name: "n", metadata: { case: "metadataUrl", value: "u".repeat(201) } })).toBe(
      "invalid AddSAMLAppRequest.MetadataUrl: value length must be at most 200 runes",
    );
  });

  it("measures bytes fields in bytes", () => {
    expect(check(SetUserMetadataRequestSchema, { id: "1", key: "k", value: new Uint8Array() })).toBe(
      "invalid SetUserMetadataRequest.Value: value length must be between 1 and 500000 bytes, inclusive",
    );
    expect(check(SetUserMetadataRequestSchema, { id: "1", key: "k", value: new Uint8Array([1]) })).toBeUndefined();
  });

  it("measures max_bytes in UTF-8 bytes", () => {
    expect(check(SetCustomInitMessageTextRequestSchema, { language: "de", title: "é".repeat(1000) })).toBeUndefined();
    expect(check(SetCustomInitMessageTextRequestSchema, { language: "de", title: "é".repeat(1001) })).toBe(
      "invalid SetCustomInitMessageTextRequest.Title: value length must be at most 2000 bytes",
    );
  });

  it("applies repeated item rules with the item index", () => {
    expect(check(BulkRemoveUserMetadataRequestSchema, { id: "1", keys: ["a", ""] })).toBe(
      `invalid BulkRemoveUserMetadataRequest.Keys[1]: ${range(1, 200)}`,
    );
    const ldap = { name: "n", baseDn: "b", bindDn: "b", bindPassword: "p", userBase: "u", userObjectClasses: ["c"], userFilters: ["f"] };
    expect(check(AddLDAPProviderRequestSchema, { ...ldap, servers: [] })).toBe(
      "invalid AddLDAPProviderRequest.Servers: value must contain between 1 and 20 items, inclusive",
    );
    expect(check(AddLDAPProviderRequestSchema, { ...ldap, servers: ["ldap://x"] })).toBeUndefined();
    expect(check(ListEventsRequestSchema, { eventTypes: Array.from({ length: 31 }, (_, i) => `e${i}`) })).toBe(
      "invalid ListEventsRequest.EventTypes: value must contain no more than 30 item(s)",
    );
  });

  it("checks exact rune length", () => {
    const apple = { clientId: "c", keyId: "k".repeat(10), privateKey: new Uint8Array([1]) };
    expect(check(AddAppleProviderRequestSchema, { ...apple, teamId: "t".repeat(9) })).toBe(
      "invalid AddAppleProviderRequest.TeamId: value length must be 10 runes",
    );
    expect(check(AddAppleProviderRequestSchema, { ...apple, teamId: "t".repeat(10) })).toBeUndefined();
  });

  it("checks string prefixes with a Go-quoted literal", () => {
    expect(check(UpdateHumanPhoneRequestSchema, { userId: "u", phone: "41791234567" })).toBe(
      'invalid UpdateHumanPhoneRequest.Phone: value does not have prefix "+"',
    );
    expect(check(UpdateHumanPhoneRequestSchema, { userId: "u", phone: "+41791234567" })).toBeUndefined();
  });

  it("checks message required before recursing into set messages", () => {
    const profile = { firstName: "f", lastName: "l" };
    expect(check(AddHumanUserRequestSchema, { userName: "u" })).toBe("invalid AddHumanUserRequest.Profile: value is required");
    expect(check(AddHumanUserRequestSchema, { userName: "u", profile })).toBe("invalid AddHumanUserRequest.Email: value is required");
    expect(check(AddHumanUserRequestSchema, { userName: "u", profile, email: { email: "a@example.com" } })).toBeUndefined();
  });

  it("validates emails like Go's net/mail plus PGV's hostname rules", () => {
    const human = (email: string) =>
      check(AddHumanUserRequestSchema, { userName: "u", profile: { firstName: "f", lastName: "l" }, email: { email } });
    const prefix =
      "invalid AddHumanUserRequest.Email: embedded message failed validation | caused by: " +
      "invalid AddHumanUserRequest_Email.Email: value must be a valid email address | caused by: ";
    expect(human("not-an-email")).toBe(`${prefix}mail: missing '@' or angle-addr`);
    expect(human("")).toBe(`${prefix}mail: no address`);
    expect(human("Jane Doe")).toBe(`${prefix}mail: no angle-addr`);
    expect(human("a@b_c.example")).toBe(`${prefix}hostname parts can only contain alphanumeric characters or hyphens, got "_"`);
    expect(human("a@-example.com")).toBe(`${prefix}hostname parts cannot begin with hyphens`);
    expect(human("a@example..com")).toBe(`${prefix}mail: missing '@' or angle-addr`);
    expect(human("a@b.com extra")).toBe(`${prefix}mail: expected single address, got "extra"`);
    expect(human(`${"l".repeat(65)}@example.com`)).toBe(`${prefix}email address local phrase cannot exceed 64 characters`);
    expect(human("Jane <Jane.Doe@Example.COM>")).toBeUndefined();
    expect(human('"jane doe"@example.com')).toBeUndefined();
    expect(human("jane@example.com.")).toBe(`${prefix}mail: missing '@' or angle-addr`);
    expect(human("jane@[127.0.0.1]")).toBe(`${prefix}hostname parts can only contain alphanumeric characters or hyphens, got "["`);
    expect(check(ResendHumanInitializationRequestSchema, { userId: "u", email: "" })).toBeUndefined();
    expect(check(ResendHumanInitializationRequestSchema, { userId: "u", email: "x" })).toBe(
      "invalid ResendHumanInitializationRequest.Email: value must be a valid email address | caused by: mail: missing '@' or angle-addr",
    );
  });

  it("checks duration ranges with Go duration strings", () => {
    const app = { projectId: "p", name: "n" };
    expect(check(AddOIDCAppRequestSchema, { ...app, clockSkew: { seconds: 6n } })).toBe(
      "invalid AddOIDCAppRequest.ClockSkew: value must be inside range [0s, 5s]",
    );
    expect(check(AddOIDCAppRequestSchema, { ...app, clockSkew: { seconds: 5n } })).toBeUndefined();
    expect(check(AddOIDCAppRequestSchema, { ...app, clockSkew: { seconds: -1n, nanos: 5 } })).toBe(
      "invalid AddOIDCAppRequest.ClockSkew: value is not a valid duration | caused by: " +
        "proto: duration (seconds:-1 nanos:5) has seconds and nanos with different signs",
    );
    expect(check(AddOIDCAppRequestSchema, app)).toBeUndefined();
  });

  it("accepts a valid request", () => {
    expect(check(AddMachineUserRequestSchema, { userName: "svc", name: "Service", description: "d", accessTokenType: AccessTokenType.JWT })).toBeUndefined();
  });

  it("guards recursion depth without blowing the stack", () => {
    const nest = (levels: number, leaf: MessageInitShape<typeof SearchQuerySchema>["query"]): MessageInitShape<typeof ListUsersRequestSchema> => {
      let query: MessageInitShape<typeof ListUsersRequestSchema>["queries"] = [{ query: leaf }];
      for (let i = 0; i < levels; i++) query = [{ query: { case: "orQuery", value: { queries: query } } }];
      return { queries: query };
    };
    const valid = { case: "userNameQuery" as const, value: { userName: "x" } };
    expect(check(ListUsersRequestSchema, nest(21, valid))).toBeUndefined();
    const invalidLeaf = check(ListUsersRequestSchema, nest(2, { case: undefined }));
    expect(invalidLeaf).toMatch(/^invalid ListUsersRequest\.Queries\[0\]: embedded message failed validation \| caused by: invalid SearchQuery\.OrQuery/);
    expect(invalidLeaf).toMatch(/invalid SearchQuery\.Query: value is required$/);
    expect(check(ListUsersRequestSchema, nest(1000, valid))).toBe("invalid OrQuery.Queries[0]: value nesting too deep");
  });

  it("is stable across repeated calls (compiled once per descriptor)", () => {
    const msg = create(AddMachineUserRequestSchema, { userName: "", name: "x" });
    expect(validateMessage(AddMachineUserRequestSchema, msg)).toBe(validateMessage(AddMachineUserRequestSchema, msg));
  });
});

/** Every request message type reachable from the services, nested types included. */
function requestMessages(services: readonly DescService[]): DescMessage[] {
  const seen = new Map<string, DescMessage>();
  const visit = (desc: DescMessage): void => {
    if (seen.has(desc.typeName)) return;
    seen.set(desc.typeName, desc);
    for (const field of desc.fields) if (field.message !== undefined) visit(field.message);
  };
  for (const service of services) for (const method of service.methods) visit(method.input);
  return [...seen.values()];
}

/** Rule paths (e.g. `string.minLen`) that validate.ts implements. */
const SUPPORTED = new Set([
  ...["minLen", "maxLen", "len", "minBytes", "maxBytes", "lenBytes", "prefix", "suffix", "contains", "notContains", "pattern"].map((r) => `string.${r}`),
  ...["in", "notIn", "const", "email", "hostname", "ip", "ipv4", "ipv6", "address", "uuid", "ignoreEmpty"].map((r) => `string.${r}`),
  ...["minLen", "maxLen", "len", "prefix", "suffix", "contains", "in", "notIn", "const", "pattern", "ignoreEmpty"].map((r) => `bytes.${r}`),
  ...["definedOnly", "in", "notIn", "const"].map((r) => `enum.${r}`),
  ...["minItems", "maxItems", "unique", "ignoreEmpty"].map((r) => `repeated.${r}`),
  ...["required", "skip"].map((r) => `message.${r}`),
  ...["required", "lt", "lte", "gt", "gte", "const", "in", "notIn"].map((r) => `duration.${r}`),
]);

function rulePaths(json: unknown, prefix = ""): string[] {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return [prefix];
  return Object.entries(json).flatMap(([k, v]) => (k === "items" ? rulePaths(v, "") : rulePaths(v, prefix === "" ? k : `${prefix}.${k}`)));
}

describe("ManagementService and AdminService inputs", () => {
  const messages = requestMessages([ManagementService, AdminService]);

  it("validates a default instance of every reachable message without throwing", () => {
    expect(messages.length).toBeGreaterThan(500);
    for (const desc of messages) {
      const result = validateMessage(desc, create(desc));
      expect(result === undefined || result.startsWith("invalid ")).toBe(true);
    }
  });

  it("uses only rule kinds that are implemented", () => {
    const used = new Set<string>();
    for (const desc of messages) {
      for (const field of desc.fields) {
        if (hasOption(field, rules)) for (const path of rulePaths(toJson(FieldRulesSchema, getOption(field, rules)))) used.add(path);
      }
      for (const oneof of desc.oneofs) if (getOption(oneof, required)) used.add("oneof.required");
    }
    expect([...used].filter((p) => p !== "oneof.required" && !SUPPORTED.has(p))).toEqual([]);
    for (const kind of ["oneof.required", "string.email", "string.prefix", "bytes.maxLen", "enum.notIn", "repeated.minItems", "duration.lte"]) {
      expect(used).toContain(kind);
    }
  });
});

// ---------------------------------------------------------------------------
// Rule kinds ZITADEL's v1 APIs do not use, exercised through a synthetic descriptor.

type FieldSpec = {
  name: string;
  type: FieldDescriptorProto_Type;
  repeated?: boolean;
  typeName?: string;
  proto3Optional?: boolean;
  rules?: MessageInitShape<typeof FieldRulesSchema>;
};

function probe(fields: FieldSpec[], nested: { name: string; fields: FieldSpec[]; mapEntry?: boolean }[] = []): DescMessage {
  const toField = (f: FieldSpec, i: number) => {
    const options = create(FieldOptionsSchema);
    if (f.rules !== undefined) setExtension(options, rules, create(FieldRulesSchema, f.rules));
    return {
      name: f.name,
      number: i + 1,
      type: f.type,
      typeName: f.typeName,
      label: f.repeated === true ? FieldDescriptorProto_Label.REPEATED : FieldDescriptorProto_Label.OPTIONAL,
      proto3Optional: f.proto3Optional,
      oneofIndex: f.proto3Optional === true ? 0 : undefined,
      options,
    };
  };
  const file = create(FileDescriptorProtoSchema, {
    name: "probe/probe.proto",
    package: "probe",
    syntax: "proto3",
    dependency: ["validate/validate.proto", "google/protobuf/duration.proto", "google/protobuf/timestamp.proto", "google/protobuf/wrappers.proto"],
    messageType: [
      {
        name: "Probe",
        field: fields.map(toField),
        oneofDecl: fields.some((f) => f.proto3Optional === true) ? [{ name: `_${fields.find((f) => f.proto3Optional)?.name}` }] : [],
        nestedType: nested.map((n) => ({ name: n.name, field: n.fields.map(toField), options: { mapEntry: n.mapEntry === true } })),
      },
    ],
  });
  const deps = [file_validate_validate, file_google_protobuf_duration, file_google_protobuf_timestamp, file_google_protobuf_wrappers];
  const registry = createFileRegistry(file, (name) => deps.find((d) => d.proto.name === name));
  const desc = registry.getMessage("probe.Probe");
  if (desc === undefined) throw new Error("probe descriptor missing");
  return desc;
}

const T = FieldDescriptorProto_Type;

function probeCheck(desc: DescMessage, init: Record<string, unknown>): string | undefined {
  return validateMessage(desc, create(desc, init as never));
}

describe("validateMessage on other PGV rule kinds", () => {
  it("formats numeric ranges, const and lists like Go", () => {
    const desc = probe([
      { name: "count", type: T.UINT32, rules: { type: { case: "uint32", value: { gt: 0, lte: 10 } } } },
      { name: "big", type: T.INT64, rules: { type: { case: "int64", value: { in: [1n, 2n] } } } },
      { name: "ratio", type: T.DOUBLE, rules: { type: { case: "double", value: { lt: 1e6 } } } },
      { name: "scale", type: T.FLOAT, rules: { type: { case: "float", value: { gte: 0.1 } } } },
      { name: "exact", type: T.SINT32, rules: { type: { case: "sint32", value: { const: -3 } } } },
    ]);
    const ok = { count: 1, big: 1n, ratio: 0, scale: 0.5, exact: -3 };
    expect(probeCheck(desc, ok)).toBeUndefined();
    expect(probeCheck(desc, { ...ok, count: 0 })).toBe("invalid Probe.Count: value must be inside range (0, 10]");
    expect(probeCheck(desc, { ...ok, big: 3n })).toBe("invalid Probe.Big: value must be in list [1 2]");
    expect(probeCheck(desc, { ...ok, ratio: 2e6 })).toBe("invalid Probe.Ratio: value must be less than 1e+06");
    expect(probeCheck(desc, { ...ok, scale: 0.05 })).toBe("invalid Probe.Scale: value must be greater than or equal to 0.1");
    expect(probeCheck(desc, { ...ok, exact: 3 })).toBe("invalid Probe.Exact: value must equal -3");
  });

  it("checks string pattern, suffix, in, uuid and unique repeated items", () => {
    const desc = probe([
      { name: "slug", type: T.STRING, rules: { type: { case: "string", value: { pattern: "^[a-z]+$", suffix: "x" } } } },
      { name: "color", type: T.STRING, rules: { type: { case: "string", value: { in: ["red", "blue"] } } } },
      { name: "id", type: T.STRING, rules: { type: { case: "string", value: { wellKnown: { case: "uuid", value: true } } } } },
      { name: "tags", type: T.STRING, repeated: true, rules: { type: { case: "repeated", value: { unique: true } } } },
    ]);
    const ok = { slug: "abx", color: "red", id: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", tags: ["a", "b"] };
    expect(probeCheck(desc, ok)).toBeUndefined();
    expect(probeCheck(desc, { ...ok, slug: "ab" })).toBe('invalid Probe.Slug: value does not have suffix "x"');
    expect(probeCheck(desc, { ...ok, slug: "A\tx" })).toBe('invalid Probe.Slug: value does not match regex pattern "^[a-z]+$"');
    expect(probeCheck(desc, { ...ok, color: "green" })).toBe("invalid Probe.Color: value must be in list [red blue]");
    expect(probeCheck(desc, { ...ok, id: "nope" })).toBe("invalid Probe.Id: value must be a valid UUID | caused by: invalid uuid format");
    expect(probeCheck(desc, { ...ok, tags: ["a", "b", "a"] })).toBe("invalid Probe.Tags[2]: repeated value must contain unique items");
  });

  it("checks timestamps, wrappers and map values", () => {
    const desc = probe(
      [
        { name: "at", type: T.MESSAGE, typeName: ".google.protobuf.Timestamp", rules: { type: { case: "timestamp", value: { required: true, lt: { seconds: 86_400n } } } } },
        { name: "nick", type: T.MESSAGE, typeName: ".google.protobuf.StringValue", rules: { type: { case: "string", value: { maxLen: 3n } } } },
        { name: "labels", type: T.MESSAGE, repeated: true, typeName: ".probe.Probe.LabelsEntry", rules: { type: { case: "map", value: { values: { type: { case: "string", value: { minLen: 1n } } } } } } },
        { name: "retries", type: T.INT32, proto3Optional: true, rules: { type: { case: "int32", value: { lt: 5 } } } },
      ],
      [{ name: "LabelsEntry", mapEntry: true, fields: [{ name: "key", type: T.STRING }, { name: "value", type: T.STRING }] }],
    );
    const ok = { at: { seconds: 10n } };
    expect(probeCheck(desc, ok)).toBeUndefined();
    expect(probeCheck(desc, {})).toBe("invalid Probe.At: value is required");
    expect(probeCheck(desc, { at: { seconds: 86_400n, nanos: 5 } })).toBe(
      "invalid Probe.At: value must be less than 1970-01-02 00:00:00 +0000 UTC",
    );
    expect(probeCheck(desc, { ...ok, nick: "abcd" })).toBe("invalid Probe.Nick: value length must be at most 3 runes");
    expect(probeCheck(desc, { ...ok, labels: { b: "", a: "x", c: "" } })).toBe("invalid Probe.Labels[b]: value length must be at least 1 runes");
    expect(probeCheck(desc, { ...ok, retries: 0 })).toBeUndefined();
    expect(probeCheck(desc, { ...ok, retries: 5 })).toBe("invalid Probe.Retries: value must be less than 5");
  });
});
