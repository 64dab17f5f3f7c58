/**
 * The OpenAPI documents under /openapi/: valid OpenAPI 3.1 (checked by an independent validator), the
 * same as `npm run build` writes to dist/openapi/, one operation per REST route and each routed by the
 * server to the method it names, and schemas that the server's real JSON answers (and our requests)
 * satisfy, with every object closed so that a misnamed or missing field shows.
 */
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import { gunzipSync } from "node:zlib";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import * as ajvFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApiDocument, openApiName } from "../src/api/openapi/document.js";
import { compileRoutes } from "../src/api/rest/routes.js";
import { apiServices } from "../src/api/services/catalog.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

type Json = { [key: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const VERBS = ["get", "put", "post", "delete", "patch"];

interface Operation {
  verb: string;
  path: string;
  op: Json;
}

const operationsOf = (doc: Json): Operation[] =>
  Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) => VERBS.filter((v) => item[v]).map((verb) => ({ verb, path, op: item[verb] as Json })));

/** Path parameters of an operation, from its own parameter list. */
const pathParams = (op: Json): Json[] => ((op.parameters ?? []) as Json[]).filter((p) => p.in === "path");

/** A value of the parameter's type for every `{name}`, and the path filled with them. */
function fillPath(path: string, op: Json): { url: string; values: Record<string, string> } {
  const values: Record<string, string> = {};
  for (const p of pathParams(op)) {
    const numeric = p.schema?.type === "integer" || /int/.test(p.schema?.format ?? "");
    values[p.name] = numeric ? "7" : p.schema?.type === "boolean" ? "true" : p.schema?.$ref ? "0" : `v-${p.name}`;
  }
  return { url: path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? "")), values };
}

/** Test-only strictness: every object schema with properties admits no other property. */
function closeObjects(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(closeObjects);
  if (value === null || typeof value !== "object") return value;
  const out: Json = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, closeObjects(v)]));
  if (out.type === "object" && out.properties && out.additionalProperties === undefined) out.unevaluatedProperties = false;
  return out;
}

const addFormats = ((ajvFormats as unknown as { default?: unknown }).default ?? ajvFormats) as (ajv: Ajv2020) => Ajv2020;

describe("OpenAPI documents", () => {
  let s: TestServer;
  const docs = new Map<string, Json>();
  beforeAll(async () => {
    // Hundreds of calls without a token: the per-address failure limit would turn them into 429s.
    s = await startTestServer({ storage: "pglite", env: { PORTCULLIS_RATE_LIMIT_ENABLED: "false" } });
    for (const src of apiServices) {
      const res = await fetch(`${s.url}/openapi/${openApiName(src)}.json`);
      expect(res.status).toBe(200);
      docs.set(openApiName(src), (await res.json()) as Json);
    }
  });
  afterAll(async () => {
    await s?.close();
  });

  it("lists the documents at /openapi/ and serves them public, cacheable and compressed", async () => {
    for (const path of ["/openapi/", "/openapi", "/openapi/index.json"]) {
      const res = await fetch(s.url + path);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        documents: apiServices.map((src) => ({ name: openApiName(src), service: src.service.typeName, prefix: src.prefix, url: `/openapi/${openApiName(src)}.json` })),
      });
    }
    expect(apiServices.map((src) => openApiName(src))).toEqual([
      "management.v1",
      "admin.v1",
      "zitadel.user.v2.UserService",
      "zitadel.org.v2.OrganizationService",
      "zitadel.project.v2beta.ProjectService",
      "zitadel.authorization.v2beta.AuthorizationService",
      "zitadel.app.v2beta.AppService",
      "portcullis.v1.CredentialService",
      "portcullis.v1.FederationService",
    ]);

    const url = `${s.url}/openapi/management.v1.json`;
    const plain = await fetch(url, { headers: { "accept-encoding": "identity" } });
    expect(plain.headers.get("content-type")).toBe("application/json");
    expect(plain.headers.get("cache-control")).toBe("public, max-age=3600");
    expect(plain.headers.get("content-encoding")).toBeNull();
    const etag = plain.headers.get("etag")!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const body = Buffer.from(await plain.arrayBuffer());
    expect(await fetch(url, { headers: { "accept-encoding": "identity", "if-none-match": etag } }).then((r) => r.status)).toBe(304);

    // fetch() would undo the gzip itself; read the bytes as they came.
    const zipped = await rawGet(url, { "accept-encoding": "gzip, br" });
    expect(zipped.headers["content-encoding"]).toBe("gzip");
    expect(zipped.headers.etag).not.toBe(etag);
    expect(zipped.headers.vary).toBe("accept-encoding");
    expect(gunzipSync(zipped.body).equals(body)).toBe(true);

    expect((await fetch(url, { method: "HEAD" })).status).toBe(200);
    expect(await fetch(url, { method: "POST" }).then((r) => [r.status, r.headers.get("allow")])).toEqual([405, "GET, HEAD"]);
    expect((await fetch(`${s.url}/openapi/nope.json`)).status).toBe(404);
    // Public: no token needed, and no token asked for.
    expect(plain.headers.get("www-authenticate")).toBeNull();
  });

  it("serves what `npm run build` wrote to dist/openapi/, derived from the same descriptors", () => {
    for (const src of apiServices) {
      const served = docs.get(openApiName(src))!;
      expect(served).toEqual(JSON.parse(JSON.stringify(openApiDocument(src))));
      const built = new URL(`../dist/openapi/${openApiName(src)}.json`, import.meta.url);
      expect(existsSync(built), `${built.pathname}: run npm run build first`).toBe(true);
      expect(JSON.parse(readFileSync(built, "utf8"))).toEqual(served);
    }
    expect(JSON.parse(readFileSync(new URL("../dist/openapi/index.json", import.meta.url), "utf8")).documents).toHaveLength(apiServices.length);
  });

  it("are valid OpenAPI 3.1 documents whose schemas all compile", async () => {
    for (const [prefix, doc] of docs) {
      const validator = new Validator();
      const result = await validator.validate(doc);
      expect(result.errors, prefix).toBeUndefined();
      expect(result.valid).toBe(true);
      expect(validator.version).toBe("3.1");
      expect(doc.openapi).toBe("3.1.0");
      // Every $ref resolves and every schema is valid JSON Schema 2020-12.
      const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
      ajv.addSchema({ $id: "doc.json", components: doc.components });
      for (const name of Object.keys(doc.components.schemas)) expect(() => ajv.getSchema(`doc.json#/components/schemas/${encodeURIComponent(name)}`), name).not.toThrow();
      expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
      expect(doc.security).toEqual([{ bearer: [] }]);
    }
  });

  it("has one operation per REST route, each routed by the server's router to the method it names", () => {
    for (const src of apiServices) {
      const doc = docs.get(openApiName(src))!;
      const router = compileRoutes(src.service, src.prefix);
      const ops = operationsOf(doc);
      expect(ops).toHaveLength(router.routes.length);
      expect(new Set(ops.map((o) => o.op.operationId)).size).toBe(ops.length);
      for (const { verb, path, op } of ops) {
        const { url, values } = fillPath(path, op);
        const hit = router.match(verb.toUpperCase(), url);
        if (hit.kind !== "hit") throw new Error(`${verb} ${url} (${op.operationId}) is not routed: ${hit.status}`);
        expect(`/${hit.route.method.parent.typeName}/${hit.route.method.name}`, `${verb} ${path}`).toBe(op["x-grpc-method"]);
        expect(hit.pathParams).toEqual(values);
        // The parameters name real fields: path ones as the template does, the rest as the transcoder reads them.
        for (const p of op.parameters ?? []) if (p.$ref) expect(p.$ref).toBe("#/components/parameters/x-zitadel-orgid");
      }
      for (const route of router.routes) {
        const path = route.template.replace(/\{([^=}]+)(=\*\*?)?\}/g, "{$1}");
        expect(doc.paths[path]?.[route.verb.toLowerCase()]?.["x-grpc-method"], `${route.verb} ${route.template}`).toBe(`/${route.method.parent.typeName}/${route.method.name}`);
      }
    }
  });

  it("every operation is routed by the live server: without a token 401, public methods 200 (or 501 when not implemented), never 404/405", async () => {
    let calls = 0;
    for (const doc of docs.values()) {
      for (const { verb, path, op } of operationsOf(doc)) {
        const { url } = fillPath(path, op);
        const res = await fetch(s.url + url, { method: verb.toUpperCase(), ...(op.requestBody ? { body: "{}", headers: { "content-type": "application/json" } } : {}) });
        await res.arrayBuffer();
        const isPublic = Array.isArray(op.security) && op.security.length === 0;
        expect(res.status, `${verb} ${url} (${op.operationId})`).toBe(!isPublic ? 401 : op["x-portcullis-implemented"] ? 200 : 501);
        calls++;
      }
    }
    expect(calls).toBeGreaterThan(400);
  });

  it("describes the JSON the server really reads and writes (closed objects, formats checked)", async () => {
    const mgmt = docs.get("management.v1")!;
    const admin = docs.get("admin.v1")!;
    const validators = new Map<Json, Ajv2020>();
    const ajvFor = (doc: Json) => {
      let ajv = validators.get(doc);
      if (!ajv) {
        ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
        ajv.addSchema({ $id: "doc.json", components: closeObjects(doc.components) });
        validators.set(doc, ajv);
      }
      return ajv;
    };
    const check = (doc: Json, what: string, schema: Json, value: unknown) => {
      const validate = ajvFor(doc).compile(closeObjects(rebase(schema)) as Json);
      const ok = validate(value);
      expect(ok, `${what}: ${JSON.stringify(validate.errors)}\n${JSON.stringify(value)}`).toBe(true);
    };
    /** Calls the operation of a gRPC method the way the document describes it, checking request and response. */
    const call = async (doc: Json, method: string, params: Record<string, string>, body?: Json) => {
      const found = operationsOf(doc).find((o) => String(o.op["x-grpc-method"]).endsWith(`/${method}`));
      if (!found) throw new Error(`no operation for ${method}`);
      const { verb, path, op } = found;
      const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ""));
      if ((body !== undefined) !== (op.requestBody !== undefined)) throw new Error(`${method}: the document says body ${op.requestBody ? "yes" : "no"}`);
      if (body !== undefined) check(doc, `${method} request`, op.requestBody.content["application/json"].schema, body);
      const res = await fetch(s.url + url, {
        method: verb.toUpperCase(),
        headers: { authorization: `Bearer ${s.pat}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const json = (await res.json()) as Json;
      expect(res.status, `${method}: ${JSON.stringify(json)}`).toBe(200);
      check(doc, `${method} response`, op.responses["200"].content["application/json"].schema, json);
      return json;
    };

    // The closed schemas do catch a wrong type or an unknown field.
    const addResponse = { $ref: "#/components/schemas/zitadel.management.v1.AddMachineUserResponse" };
    expect(() => check(mgmt, "wrong type", addResponse, { userId: 5 })).toThrow();
    expect(() => check(mgmt, "unknown field", addResponse, { userId: "1", user_id: "1" })).toThrow();
    expect(() => check(mgmt, "64-bit as number", addResponse, { userId: "1", details: { sequence: 5 } })).toThrow();
    check(mgmt, "64-bit as string", addResponse, { userId: "1", details: { sequence: "5", changeDate: "2024-01-01T00:00:00Z" } });
    expect(() => check(mgmt, "date-time", addResponse, { details: { changeDate: "yesterday" } })).toThrow();

    const me = await call(mgmt, "GetMyOrg", {});
    const orgId = me.org.id as string;
    const added = await call(mgmt, "AddMachineUser", {}, { userName: "openapi-robot", name: "OpenAPI Robot", description: "checks the schemas", accessTokenType: "ACCESS_TOKEN_TYPE_JWT" });
    const userId = added.userId as string;
    await call(mgmt, "GetUserByID", { id: userId });
    await call(mgmt, "ListUsers", {}, { query: { limit: 10, asc: true }, sortingColumn: "USER_FIELD_NAME_USER_NAME", queries: [{ userNameQuery: { userName: "openapi", method: "TEXT_QUERY_METHOD_STARTS_WITH" } }] });
    await call(mgmt, "UpdateMachine", { user_id: userId }, { name: "OpenAPI Robot 2", description: "still checking", accessTokenType: "ACCESS_TOKEN_TYPE_BEARER" });
    await call(mgmt, "GenerateMachineSecret", { user_id: userId }, {});
    const key = await call(mgmt, "AddMachineKey", { user_id: userId }, { type: "KEY_TYPE_JSON", expirationDate: "2519-04-01T08:45:00Z" });
    await call(mgmt, "GetMachineKeyByIDs", { user_id: userId, key_id: key.keyId as string });
    await call(mgmt, "ListMachineKeys", { user_id: userId }, { query: { limit: 5 } });
    await call(mgmt, "AddPersonalAccessToken", { user_id: userId }, { expirationDate: "2519-04-01T08:45:00Z" });
    await call(mgmt, "ListPersonalAccessTokens", { user_id: userId }, {});
    await call(mgmt, "SetUserMetadata", { id: userId, key: "colour" }, { value: Buffer.from("blue").toString("base64") });
    await call(mgmt, "GetUserMetadata", { id: userId, key: "colour" });
    await call(mgmt, "ListUserMetadata", { id: userId }, {});
    await call(mgmt, "ListUserChanges", { user_id: userId }, {});
    await call(mgmt, "AddOrgMember", {}, { userId, roles: ["ORG_USER_MANAGER"] });
    await call(mgmt, "ListOrgMembers", {}, { query: { limit: 10 } });
    await call(mgmt, "ListOrgMemberRoles", {});
    await call(mgmt, "Healthz", {});
    await call(admin, "GetOrgByID", { id: orgId });
    await call(admin, "ListOrgs", {}, { query: { limit: 10 } });
    await call(admin, "ListIAMMembers", {}, { query: { limit: 10 } });
  });
});

function rawGet(url: string, headers: Record<string, string>): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on("error", reject);
  });
}

/** A schema taken out of the document, with its `#/components/...` references pointing into the registered copy. */
function rebase(schema: Json): Json {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc.json#/components/')) as Json;
}
