import { describe, it, expect } from "vitest";
import { create, createFileRegistry, setExtension, type MessageInitShape, type DescField, type DescService } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema, MethodOptionsSchema } from "@bufbuild/protobuf/wkt";
import { http } from "@zitadel/proto/google/api/annotations_pb.js";
import { HttpRuleSchema } from "@zitadel/proto/google/api/http_pb.js";
import { ManagementService } from "@zitadel/proto/zitadel/management_pb.js";
import { AdminService } from "@zitadel/proto/zitadel/admin_pb.js";
import { compileRoutes, type RestRoute, type RouteMatch } from "./routes.js";

const management = compileRoutes(ManagementService, "/management/v1");
const admin = compileRoutes(AdminService, "/admin/v1");

const hit = (m: RouteMatch) => {
  if (m.kind !== "hit") throw new Error(`expected a hit, got ${m.status}`);
  return m;
};
const rpc = (m: RouteMatch) => hit(m).route.method.name;

/** A value for a path variable, percent-encoded as a client would send it, and what the router must decode it to. */
function sampleSegment(name: string, field: DescField, rest: boolean): { encoded: string; decoded: string } {
  if (rest) return { encoded: "k1/k%2F2/k%203", decoded: "k1/k/2/k 3" };
  if (field.fieldKind === "enum") {
    const value = field.enum.values[1] ?? field.enum.values[0]!;
    return { encoded: value.name, decoded: value.name };
  }
  if (field.fieldKind === "scalar" && field.scalar !== 9) return { encoded: "42", decoded: "42" };
  return { encoded: `v-${name}-%C3%A9%2Fx`, decoded: `v-${name}-é/x` };
}

function samplePath(route: RestRoute) {
  const expected: Record<string, string> = {};
  const path = route.template.replace(/\{([^}=]+)(=[^}]*)?\}/g, (_, name: string, pattern?: string) => {
    const variable = route.variables.find((v) => v.name === name)!;
    const sample = sampleSegment(name, variable.fields[variable.fields.length - 1]!, pattern === "=**");
    expected[name] = sample.decoded;
    return sample.encoded;
  });
  return { path, expected };
}

const httpMethods = (service: DescService) => service.methods.length;

describe("compileRoutes over the ZITADEL descriptors", () => {
  it.each([
    ["ManagementService", management, ManagementService, 296],
    ["AdminService", admin, AdminService, 204],
  ] as const)("%s: one route per rpc", (_, router, service, count) => {
    expect(httpMethods(service)).toBe(count);
    expect(router.routes).toHaveLength(count);
    expect(new Set(router.routes.map((r) => r.method.name)).size).toBe(count);
  });

  it("reads verb, template, body and variables from google.api.http", () => {
    const route = management.routes.find((r) => r.method.name === "UpdateMachine")!;
    expect(route.verb).toBe("PUT");
    expect(route.template).toBe("/management/v1/users/{user_id}/machine");
    expect(route.body).toBe("*");
    expect(route.bodyField).toBeUndefined();
    expect(route.variables.map((v) => [v.name, v.fields.map((f) => f.name), v.segment, v.rest])).toEqual([["user_id", ["user_id"], 3, false]]);
    const roleKey = management.routes.find((r) => r.method.name === "UpdateProjectRole")!;
    expect(roleKey.variables.map((v) => [v.name, v.rest])).toEqual([
      ["project_id", false],
      ["role_key", true],
    ]);
  });

  const table = [
    ...management.routes.map((route) => ({ service: "management", router: management, route })),
    ...admin.routes.map((route) => ({ service: "admin", router: admin, route })),
  ];
  it.each(table.map((t) => [`${t.service} ${t.route.verb} ${t.route.template}`, t] as const))("%s matches its own template", (_, { router, route }) => {
    const { path, expected } = samplePath(route);
    const match = hit(router.match(route.verb, path));
    expect(match.route).toBe(route);
    expect(match.pathParams).toEqual(expected);
  });
});

describe("precedence: a literal segment beats a {param}", () => {
  it("GET /users/_is_unique is IsUserUnique, GET /users/123 is GetUserByID", () => {
    expect(rpc(management.match("GET", "/management/v1/users/_is_unique"))).toBe("IsUserUnique");
    const byId = hit(management.match("GET", "/management/v1/users/123"));
    expect(byId.route.method.name).toBe("GetUserByID");
    expect(byId.pathParams).toEqual({ id: "123" });
  });

  it("/users/{id}/metadata/_bulk beats /users/{id}/metadata/{key} on POST and DELETE", () => {
    expect(rpc(management.match("POST", "/management/v1/users/1/metadata/_bulk"))).toBe("BulkSetUserMetadata");
    expect(rpc(management.match("DELETE", "/management/v1/users/1/metadata/_bulk"))).toBe("BulkRemoveUserMetadata");
    expect(rpc(management.match("POST", "/management/v1/users/1/metadata/_search"))).toBe("ListUserMetadata");
    const set = hit(management.match("POST", "/management/v1/users/1/metadata/color"));
    expect(set.route.method.name).toBe("SetUserMetadata");
    expect(set.pathParams).toEqual({ id: "1", key: "color" });
  });

  it("falls back to the {param} branch when the literal branch dead-ends", () => {
    // /projects/members/roles/_search is a literal route; /projects/{project_id}/roles/_search must still match "p1".
    expect(rpc(management.match("POST", "/management/v1/projects/members/roles/_search"))).toBe("ListProjectMemberRoles");
    expect(hit(management.match("POST", "/management/v1/projects/p1/roles/_search")).pathParams).toEqual({ project_id: "p1" });
    // "members" as an id: no literal route continues with /grants, so the param branch wins.
    expect(hit(management.match("GET", "/management/v1/projects/members")).route.method.name).toBe("GetProjectByID");
  });

  it("admin: /orgs/default and /orgs/_is_unique beat /orgs/{id}", () => {
    expect(rpc(admin.match("GET", "/admin/v1/orgs/default"))).toBe("GetDefaultOrg");
    expect(rpc(admin.match("GET", "/admin/v1/orgs/_is_unique"))).toBe("IsOrgUnique");
    expect(rpc(admin.match("GET", "/admin/v1/orgs/o1"))).toBe("GetOrgByID");
  });
});

describe("misses", () => {
  it("404 for a path no route has", () => {
    expect(management.match("GET", "/management/v1/nope")).toEqual({ kind: "miss", status: 404, allow: [] });
    expect(management.match("GET", "/users/1")).toMatchObject({ status: 404 });
    expect(management.match("GET", "/admin/v1/orgs/o1")).toMatchObject({ status: 404 });
    expect(management.match("GET", "/management/v1")).toMatchObject({ status: 404 });
  });

  it("405 when the path exists for other verbs, listing them", () => {
    const miss = management.match("PATCH", "/management/v1/users/123");
    expect(miss.kind).toBe("miss");
    if (miss.kind !== "miss") return;
    expect(miss.status).toBe(405);
    expect([...miss.allow].sort()).toEqual(["DELETE", "GET"]);
    // "_search" is also a valid {user_id}, so every verb with a /orgs/me/members/{x} route is allowed.
    const search = management.match("GET", "/management/v1/orgs/me/members/_search");
    expect(search.kind === "miss" && search.status === 405 && [...search.allow].sort()).toEqual(["DELETE", "POST", "PUT"]);
    expect(management.match("get", "/management/v1/users/1")).toMatchObject({ status: 405 });
  });

  it("treats a trailing slash as a different path", () => {
    expect(management.match("GET", "/management/v1/users/1/")).toMatchObject({ kind: "miss", status: 404 });
    expect(management.match("POST", "/management/v1/users/_search/")).toMatchObject({ kind: "miss", status: 404 });
  });

  it("lets a {param} match an empty segment, as grpc-gateway's OpPush does (validation rejects the empty id later)", () => {
    expect(hit(management.match("GET", "/management/v1/users/")).pathParams).toEqual({ id: "" });
    expect(rpc(management.match("GET", "/management/v1/users/"))).toBe("GetUserByID");
  });

  it("400 for a path that is not absolute or not percent-decodable", () => {
    expect(management.match("GET", "users/1")).toMatchObject({ status: 400 });
    expect(management.match("GET", "/management/v1/users/%zz")).toMatchObject({ status: 400 });
    expect(management.match("GET", "/management/v1/users/%C3")).toMatchObject({ status: 400 });
  });
});

describe("percent-decoding", () => {
  it("decodes each segment after splitting, so %2F stays inside a {param}", () => {
    const m = hit(management.match("GET", "/management/v1/users/a%2Fb%20c"));
    expect(m.route.method.name).toBe("GetUserByID");
    expect(m.pathParams).toEqual({ id: "a/b c" });
  });

  it("matches literals after decoding and leaves + alone", () => {
    expect(rpc(management.match("GET", "/management/v1/users/%5Fis%5Funique"))).toBe("IsUserUnique");
    expect(hit(management.match("GET", "/management/v1/users/a+b")).pathParams).toEqual({ id: "a+b" });
  });
});

describe("{role_key=**}", () => {
  it("binds the rest of the path, decoded per segment and joined with /", () => {
    const m = hit(management.match("PUT", "/management/v1/projects/p1/roles/a/b%2Fc/d"));
    expect(m.route.method.name).toBe("UpdateProjectRole");
    expect(m.pathParams).toEqual({ project_id: "p1", role_key: "a/b/c/d" });
    expect(hit(management.match("DELETE", "/management/v1/projects/p1/roles/admin")).route.method.name).toBe("RemoveProjectRole");
  });

  it("matches zero segments and keeps a trailing slash, as grpc-gateway's ** does", () => {
    expect(hit(management.match("PUT", "/management/v1/projects/p1/roles")).pathParams).toEqual({ project_id: "p1", role_key: "" });
    expect(hit(management.match("PUT", "/management/v1/projects/p1/roles/a/")).pathParams).toEqual({ project_id: "p1", role_key: "a/" });
  });

  it("does not steal literal routes below /projects/{id}/roles", () => {
    expect(rpc(management.match("POST", "/management/v1/projects/p1/roles/_search"))).toBe("ListProjectRoles");
    expect(rpc(management.match("POST", "/management/v1/projects/p1/roles/_bulk"))).toBe("BulkAddProjectRoles");
    expect(management.match("GET", "/management/v1/projects/p1/roles/a/b")).toMatchObject({ status: 405 });
  });
});

// A hand-built service for template features ZITADEL's v1 services do not use.
function syntheticService(rules: Record<string, MessageInitShape<typeof HttpRuleSchema>>): DescService {
  const string = (name: string, number: number) => ({ name, number, type: FieldDescriptorProto_Type.STRING, label: FieldDescriptorProto_Label.OPTIONAL });
  const file = create(FileDescriptorProtoSchema, {
    name: "routes_test.proto",
    package: "rt",
    syntax: "proto3",
    messageType: [
      { name: "Inner", field: [string("b", 1)] },
      {
        name: "Req",
        field: [{ name: "a", number: 1, type: FieldDescriptorProto_Type.MESSAGE, typeName: ".rt.Inner", label: FieldDescriptorProto_Label.OPTIONAL }, string("c", 2)],
      },
    ],
    service: [
      {
        name: "Svc",
        method: Object.entries(rules).map(([name, rule]) => {
          const options = create(MethodOptionsSchema);
          setExtension(options, http, create(HttpRuleSchema, rule));
          return { name, inputType: ".rt.Req", outputType: ".rt.Req", options };
        }),
      },
    ],
  });
  return createFileRegistry(file, () => undefined).getService("rt.Svc")!;
}

describe("template features beyond ZITADEL v1", () => {
  it("binds nested field paths, anonymous wildcards, custom verbs and additional bindings", () => {
    const router = compileRoutes(
      syntheticService({
        Get: {
          pattern: { case: "get", value: "/v1/things/{a.b}" },
          additionalBindings: [create(HttpRuleSchema, { pattern: { case: "custom", value: { kind: "SEARCH", path: "/v1/*/{c=*}" } } })],
        },
        Rest: { pattern: { case: "post", value: "/v1/files/**" }, body: "a" },
      }),
      "/api/",
    );
    expect(router.routes.map((r) => `${r.verb} ${r.template}`)).toEqual(["GET /api/v1/things/{a.b}", "SEARCH /api/v1/*/{c=*}", "POST /api/v1/files/**"]);
    const nested = hit(router.match("GET", "/api/v1/things/x"));
    expect(nested.pathParams).toEqual({ "a.b": "x" });
    expect(nested.route.variables[0]!.fields.map((f) => f.name)).toEqual(["a", "b"]);
    expect(hit(router.match("SEARCH", "/api/v1/anything/y")).pathParams).toEqual({ c: "y" });
    expect(hit(router.match("POST", "/api/v1/files/p/q")).route.bodyField?.name).toBe("a");
    expect(router.match("GET", "/api/v1/anything/y")).toMatchObject({ status: 405, allow: ["SEARCH"] });
  });

  it.each([
    ["/v1/{a.b=shelves/*}", /unsupported template segment/],
    ["/v1/{c}:cancel", /unsupported template segment/],
    ["/v1/{c=**}/tail", /only supported as the last segment/],
    ["/v1/{missing}", /names no field/],
    ["/v1/{a}", /singular scalar or enum/],
    ["v1/things", /must start with/],
  ])("rejects %s at start-up", (template, error) => {
    expect(() => compileRoutes(syntheticService({ Get: { pattern: { case: "get", value: template } } }), "")).toThrow(error);
  });

  it("rejects two rpcs on the same verb and shape", () => {
    const service = syntheticService({
      One: { pattern: { case: "get", value: "/v1/{c}" } },
      Two: { pattern: { case: "get", value: "/v1/{a.b}" } },
    });
    expect(() => compileRoutes(service, "")).toThrow(/ambiguous routes/);
  });

  it("rejects a body naming no top-level field", () => {
    expect(() => compileRoutes(syntheticService({ Post: { pattern: { case: "post", value: "/v1" }, body: "nope" } }), "")).toThrow(/body "nope"/);
  });
});
