/**
 * Property-based fuzzing of the REST transcoder at unit level: the router (compileRoutes().match),
 * request decoding (decodeRequest) and response encoding (encodeResponse), with random and mutated
 * paths, query strings and bodies. A request may only ever be accepted or refused with
 * InvalidArgument; nothing else may escape, and whatever is accepted must survive validation and
 * re-encoding.
 */
import { fromJson, toJson, type DescMessage, type Message } from "@bufbuild/protobuf";
import { AdminService } from "@zitadel/proto/zitadel/admin_pb.js";
import { ManagementService } from "@zitadel/proto/zitadel/management_pb.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileRoutes, type RestRoute, type RouteMatch } from "../../src/api/rest/routes.js";
import { decodeRequest, encodeResponse } from "../../src/api/rest/transcode.js";
import { validateMessage } from "../../src/api/validate/index.js";
import { DomainError } from "../../src/domain/errors.js";
import { messageJson, messageOf } from "./proto-arbitraries.js";
import { deepJson, fuzzParams, nastyString, pctEncode, runsScaled, timeoutFor, wellFormed } from "./support.js";

const routers = [compileRoutes(ManagementService, "/management/v1"), compileRoutes(AdminService, "/admin/v1")];
const routes = routers.flatMap((r) => r.routes);
const VERBS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "get", "FOO", ""];

/** One path segment as it may appear in a URL: plain ids, percent-encoded anything, malformed escapes. */
const segment = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[0-9]{1,20}$/) },
  { weight: 3, arbitrary: nastyString(24).map(pctEncode) },
  { weight: 2, arbitrary: nastyString(24).map((s) => s.replace(/[/?#]/g, "")) },
  { weight: 1, arbitrary: fc.constantFrom("", ".", "..", "%", "%2", "%zz", "%2F", "%2f..%2f", "%00", "%C0%AF", "%ED%A0%80", "*", "**", "{id}", "me", "_search", "users") },
);

/** A path that follows one of the templates, with its variables (and sometimes its literals) replaced. */
const templatedPath = fc
  .tuple(fc.constantFrom(...routes), fc.array(segment, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 3 }), fc.constantFrom("as-is", "trailing-slash", "double-slash", "extra", "drop-last", "upper"))
  .map(([route, values, mutate, how]) => {
    let i = 0;
    const parts = route.template.split("/").map((p) => (p.startsWith("{") || p === "*" || p === "**" ? values[i++ % values.length]! : p));
    for (const m of mutate) {
      const j = 1 + (m % (parts.length - 1));
      parts[j] = values[m % values.length]!;
    }
    let path = parts.join("/");
    if (how === "trailing-slash") path += "/";
    if (how === "double-slash") path = path.replace("/", "//");
    if (how === "extra") path += "/" + values[0];
    if (how === "drop-last") path = path.slice(0, path.lastIndexOf("/"));
    if (how === "upper") path = path.toUpperCase();
    return { route, path };
  });

const anyPath = fc.oneof(
  { weight: 4, arbitrary: templatedPath.map((t) => t.path) },
  { weight: 1, arbitrary: fc.array(segment, { maxLength: 10 }).map((s) => "/management/v1/" + s.join("/")) },
  { weight: 1, arbitrary: nastyString(80) },
  { weight: 1, arbitrary: fc.nat({ max: 5000 }).map((n) => "/management/v1" + "/a".repeat(n)) },
);

/** Checks a router answer against the templates: every bound value really sits where the template says. */
function checkMatch(verb: string, path: string, m: RouteMatch): void {
  if (m.kind === "miss") {
    expect([400, 404, 405]).toContain(m.status);
    if (m.status === 405) expect(m.allow.length).toBeGreaterThan(0);
    if (m.status === 405) expect(m.allow).not.toContain(verb);
    return;
  }
  expect(m.route.verb).toBe(verb);
  const actual = path.slice(1).split("/").map((s) => decodeURIComponent(s));
  const template = m.route.template.slice(1).split("/");
  for (let i = 0; i < template.length; i++) {
    const t = template[i]!;
    const rest = t === "**" || /=\*\*\}$/.test(t);
    if (rest) {
      const name = /^\{([^=}]+)/.exec(t)?.[1];
      if (name) expect(m.pathParams[name]).toBe(actual.slice(i).join("/"));
      return;
    }
    expect(i).toBeLessThan(actual.length);
    if (t.startsWith("{")) expect(m.pathParams[/^\{([^=}]+)/.exec(t)![1]!]).toBe(actual[i]);
    else if (t !== "*") expect(actual[i]).toBe(t);
  }
  expect(actual.length).toBe(template.length);
  for (const v of m.route.variables) expect(typeof m.pathParams[v.name]).toBe("string");
}

/** Query strings: the input message's own field names (proto, JSON, dotted, map[key]) with hostile values, plus noise. */
function queryFor(route: RestRoute): fc.Arbitrary<string> {
  const names = route.method.input.fields.flatMap((f) => {
    const own = [f.name, f.jsonName];
    const nested = f.message ? f.message.fields.slice(0, 6).flatMap((g) => [`${f.name}.${g.name}`, `${f.jsonName}.${g.jsonName}`]) : [];
    const mapped = f.fieldKind === "map" ? [`${f.name}[k]`, `${f.name}[]`, `${f.jsonName}[%zz]`] : [];
    return [...own, ...nested, ...mapped];
  });
  const key = fc.oneof({ weight: 4, arbitrary: names.length ? fc.constantFrom(...names) : fc.constant("x") }, { weight: 1, arbitrary: nastyString(16) });
  const value = fc.oneof(
    nastyString(40),
    fc.constantFrom("true", "t", "0", "1", "-1", "0x1F", "0b101", "0o17", "1_000", "9223372036854775808", "-9223372036854775809", "1e309", "NaN", "inf", "1h30m", "1.5s", "-300ms", "2024-01-01T00:00:00Z", "a,b,c", '{"a":1}', "[1,2]", "YWJj", "YWJj=", "YW==", "%", "TEXT_QUERY_METHOD_EQUALS", "USER_STATE_ACTIVE", "99"),
  );
  const pair = fc.tuple(key, value, fc.boolean()).map(([k, v, raw]) => (raw ? `${k}=${v}` : `${pctEncode(k)}=${pctEncode(v)}`));
  return fc.array(pair, { maxLength: 6 }).map((p) => p.join("&"));
}

const bodyFor = (route: RestRoute): fc.Arbitrary<Uint8Array | undefined> => {
  const bodyType: DescMessage = route.bodyField?.message ?? route.method.input;
  const text = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));
  return fc.oneof(
    { weight: 5, arbitrary: messageJson(bodyType).map((j) => text(JSON.stringify(j))) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((j) => text(JSON.stringify(j) ?? "")) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 1, arbitrary: nastyString(200).map(text) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "",
        "   \r\n\t",
        "\ufeff{}",
        "{}{}",
        '{"userName":"a","userName":"b"}',
        '{"__proto__":{"x":1}}',
        '{"constructor":{"prototype":{}}}',
        "[]",
        "null",
        "1e400",
        '"\\ud800"',
        '{"a":"\\u0000"}',
        "{",
        '{"userId":',
      ).map(text),
    },
    { weight: 1, arbitrary: deepJson.map(text) },
    { weight: 1, arbitrary: fc.constant(Uint8Array.of(0xc3, 0x28, 0x7b, 0x7d)) },
  );
};

/** A route with path parameters as the router would bind them (or anything at all), a query and a body. */
const requestCase = fc.constantFrom(...routes).chain((route) =>
  fc.record({
    route: fc.constant(route),
    // Well-formed strings only: the router's decodeURIComponent can never produce a lone surrogate.
    params: fc.oneof(
      fc.tuple(...route.variables.map(() => nastyString(30))).map((vals) => Object.fromEntries(route.variables.map((v, i) => [v.name, wellFormed(vals[i]!)]))),
      fc.constant({} as Record<string, string>),
    ),
    query: queryFor(route),
    body: bodyFor(route),
  }),
);

/** What decodeRequest may do: return a message or refuse with InvalidArgument, nothing else. */
function decodeOrInvalid(c: { route: RestRoute; params: Record<string, string>; query: string; body: Uint8Array | undefined }): Message | undefined {
  try {
    return decodeRequest(c.route, c.params, new URLSearchParams(c.query), c.body);
  } catch (e) {
    if (!(e instanceof DomainError)) throw new Error(`decodeRequest threw a non-DomainError: ${String((e as Error)?.stack ?? e)}`);
    expect(e.kind).toBe("InvalidArgument");
    expect(typeof e.message).toBe("string");
    return undefined;
  }
}

// Up to 10 × FUZZ_RUNS cases per property: more than vitest's default 60 s at `npm run fuzz`.
describe("REST transcoder fuzzing (unit)", { timeout: timeoutFor(runsScaled(10), 5) }, () => {
  it("the router never throws and every hit binds exactly what the template says", () => {
    fc.assert(
      fc.property(fc.constantFrom(...VERBS), anyPath, (verb, path) => {
        for (const router of routers) {
          const m = router.match(verb, path);
          let decodable = true;
          try {
            path.split("/").forEach((s) => decodeURIComponent(s));
          } catch {
            decodable = false;
          }
          if (m.kind === "hit") expect(decodable).toBe(true);
          if (decodable && path.startsWith("/")) checkMatch(verb, path, m);
          else if (m.kind === "miss") expect([400, 404, 405]).toContain(m.status);
        }
      }),
      fuzzParams(runsScaled(10)),
    );
  });

  it("a path built from a route's own template with plain ids routes to a route of that verb", () => {
    const plain = fc.tuple(fc.constantFrom(...routes), fc.array(fc.stringMatching(/^[0-9]{1,18}$/), { minLength: 4, maxLength: 4 })).map(([route, ids]) => {
      let i = 0;
      return { route, path: route.template.split("/").map((p) => (p.startsWith("{") || p === "*" ? ids[i++ % 4]! : p)).join("/") };
    });
    fc.assert(
      fc.property(plain, ({ route, path }) => {
        const router = routers.find((r) => r.routes.includes(route))!;
        const m = router.match(route.verb, path);
        expect(m.kind).toBe("hit");
        checkMatch(route.verb, path, m);
      }),
      fuzzParams(runsScaled(10)),
    );
  });

  it("decodeRequest accepts or refuses with InvalidArgument; what it accepts validates and re-encodes losslessly", () => {
    fc.assert(
      fc.property(requestCase, (c) => {
        const message = decodeOrInvalid(c);
        if (!message) return;
        const schema = c.route.method.input;
        const violation = validateMessage(schema, message);
        expect(violation === undefined || typeof violation === "string").toBe(true);
        const encoded = encodeResponse(schema, message as never);
        const again = fromJson(schema, JSON.parse(encoded));
        expect(toJson(schema, again)).toEqual(toJson(schema, message));
      }),
      fuzzParams(runsScaled(10)),
    );
  });

  it("huge and deeply nested bodies are refused with InvalidArgument or decoded, never a stack overflow", () => {
    const big = fc.oneof(
      deepJson,
      fc.nat({ max: 2_000_000 }).map((n) => `{"userName":"${"x".repeat(n)}"}`),
      fc.nat({ max: 200_000 }).map((n) => `{"queries":[${'{"userNameQuery":{"userName":"a"}},'.repeat(n)}{}]}`),
      fc.nat({ max: 5_000 }).map((n) => `{"queries":[${'{"orQuery":{"queries":['.repeat(n)}${"]}}".repeat(n)}]}`),
      fc.nat({ max: 100_000 }).map((n) => `{"metadata":{${Array.from({ length: Math.min(n, 20_000) }, (_, i) => `"k${i}":"dg=="`).join(",")}}}`),
    );
    fc.assert(
      fc.property(fc.constantFrom(...routes.filter((r) => r.body !== "")), big, (route, text) => {
        const message = decodeOrInvalid({ route, params: {}, query: "", body: new Uint8Array(Buffer.from(text)) });
        if (message) expect(typeof validateMessage(route.method.input, message)).not.toBe("object");
      }),
      fuzzParams(runsScaled(0.5)),
    );
  });

  it("encodeResponse writes every response type as JSON protobuf-es reads back to the same message", () => {
    const outputs = [...new Map(routes.map((r) => [r.method.output.typeName, r.method.output])).values()];
    const outputCase = fc.constantFrom(...outputs).chain((schema) => fc.tuple(fc.constant(schema), messageOf(schema, 4)));
    fc.assert(
      fc.property(outputCase, ([schema, message]) => {
        const text = encodeResponse(schema, message as never);
        const json = JSON.parse(text) as unknown;
        expect(typeof json).toBe("object");
        expect(toJson(schema, fromJson(schema, json as never))).toEqual(toJson(schema, message));
      }),
      fuzzParams(runsScaled(10)),
    );
  });
});
