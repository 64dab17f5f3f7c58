import { beforeAll, describe, expect, it } from "vitest";
import {
  claimsInput,
  compileCondition,
  loadCel,
  evaluateCondition,
  MAX_CLAIM_ITEMS,
  MAX_CONDITION_LENGTH,
  type CompiledCondition,
} from "./condition.js";

// @bufbuild/cel is loaded on first use (the binding command and the token path await it).
beforeAll(() => loadCel());

const compiled = (src: string): CompiledCondition => {
  const r = compileCondition(src);
  if (!r.ok) throw new Error(`${src}: ${r.error}`);
  return r.condition;
};
const run = (src: string, claims: Record<string, unknown>) => evaluateCondition(compiled(src), claims);

const github = {
  iss: "https://token.actions.githubusercontent.com",
  sub: "repo:acme/api:ref:refs/heads/main",
  repository: "acme/api",
  repository_owner: "acme",
  ref: "refs/heads/main",
  environment: "prod",
  run_attempt: "1",
  iat: 1_700_000_000,
};
const kubernetes = {
  sub: "system:serviceaccount:ci:builder",
  "kubernetes.io": { namespace: "ci", serviceaccount: { name: "builder", uid: "u-1" }, pod: { name: "p", uid: "u-2" } },
  groups: ["a", "b"],
};

describe("binding conditions (CEL)", () => {
  it("evaluates to true or false on the claims: fields, indexes, nested maps, has(), in, macros, string functions", () => {
    expect(run('claims.repository == "acme/api" && claims.ref == "refs/heads/main"', github)).toEqual({ ok: true, value: true });
    expect(run('claims.repository == "acme/api" && claims.ref == "refs/heads/dev"', github)).toEqual({ ok: true, value: false });
    expect(run('claims["kubernetes.io"].namespace == "ci" && claims["kubernetes.io"].serviceaccount.name == "builder"', kubernetes)).toEqual({ ok: true, value: true });
    expect(run("has(claims.environment)", github)).toEqual({ ok: true, value: true });
    expect(run('has(claims.environment) && claims.environment == "staging"', github)).toEqual({ ok: true, value: false });
    expect(run('has(claims.nope) && claims.nope == "x"', github)).toEqual({ ok: true, value: false });
    expect(run('claims.ref in ["refs/heads/main", "refs/heads/release"]', github)).toEqual({ ok: true, value: true });
    expect(run('claims.groups.exists(g, g == "b")', kubernetes)).toEqual({ ok: true, value: true });
    expect(run('claims.repository.startsWith("acme/") && claims.ref.matches("^refs/heads/(main|release/.*)$")', github)).toEqual({ ok: true, value: true });
    expect(run("claims.iat > 1600000000", github)).toEqual({ ok: true, value: true });
    expect(run("true", github)).toEqual({ ok: true, value: true });
  });

  it("a missing claim compared directly is an error, not false; so is a non-bool result", () => {
    const r = run('claims.nope == "x"', github);
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.error).toMatch(/nope/);
    expect(run("claims.repository", github)).toEqual({ ok: false, error: "the condition did not evaluate to true or false" });
  });

  it("refuses syntax errors, unknown names, non-bool expressions, message construction and oversized input with a clear error", () => {
    const error = (src: string) => {
      const r = compileCondition(src);
      return r.ok ? "compiled" : r.error;
    };
    expect(error("claims.repository == ")).toMatch(/^syntax error: at 1:/);
    expect(error("")).toMatch(/empty/);
    expect(error('repository == "acme/api"')).toMatch(/unknown name repository .*claims/);
    expect(error('claims.repository.lowerAscii() == "acme/api"')).toBe("unknown function lowerAscii");
    expect(error('exec(claims.repository)')).toBe("unknown function exec");
    expect(error('"acme/api"')).toMatch(/true or false/);
    expect(error("1 + 2")).toMatch(/true or false/);
    expect(error('size(claims.repository)')).toMatch(/true or false/);
    expect(error("[true]")).toMatch(/true or false/);
    expect(error("claims.groups.map(g, g == 'a')")).toMatch(/true or false/);
    expect(error("claims.groups.filter(g, g == 'a')")).toMatch(/true or false/);
    expect(error("google.protobuf.BoolValue{value: true}.value")).toMatch(/constructing messages/);
    expect(error(`claims.a == "${"x".repeat(MAX_CONDITION_LENGTH)}"`)).toMatch(/longer than 1024/);
    expect(error(`[${Array(300).fill("1").join(",")}] == []`)).toMatch(/more than 200 terms/);
    expect(error('claims.groups.exists(a, claims.groups.exists(b, a == b))')).toMatch(/inside another/);
    expect(error(Array(9).fill("claims.groups.exists(g, g == 'x')").join(" || "))).toMatch(/more than 8 comprehensions/);
    // Sequential comprehensions (one's result the next one's range) are fine.
    expect(error("claims.groups.filter(g, g != 'a').exists(g, g == 'b')")).toBe("compiled");
  });

  it("binds claims as maps, not JS objects: no prototype members, no code", () => {
    expect(run("has(claims.constructor)", github)).toEqual({ ok: true, value: false });
    expect(run('has(claims.__proto__)', github)).toEqual({ ok: true, value: false });
    expect(compileCondition('claims.repository.exec("x") == 1')).toEqual({ ok: false, error: "unknown function exec" });
  });

  it("bounds the claims a condition runs on (items per list or map, values, depth)", () => {
    expect(claimsInput({ l: Array(MAX_CLAIM_ITEMS + 1).fill(1) })).toMatch(/more than 64 items/);
    expect(claimsInput(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`c${i}`, 1])))).toMatch(/more than 64 members/);
    expect(claimsInput({ a: Array.from({ length: 17 }, () => Array(60).fill("v")) })).toMatch(/more than 1024 values/);
    let deep: unknown = "x";
    for (let i = 0; i < 10; i++) deep = { d: deep };
    expect(claimsInput({ deep })).toMatch(/deeper than 8/);
    expect(run("true", { l: Array(MAX_CLAIM_ITEMS + 1).fill(1) })).toEqual({ ok: false, error: "a claim list has more than 64 items" });
  });

  it("stays cheap at the bounds: the most list scans that compile, inside 8 comprehensions over a 64-item list", () => {
    const l = Array.from({ length: MAX_CLAIM_ITEMS }, (_, i) => `v${i}`);
    const build = (k: number) => Array(8).fill(`claims.l.exists(x, ${Array(k).fill('"zz" in claims.l').join(" || ")})`).join(" || ");
    let k = 1;
    while (compileCondition(build(k + 1)).ok) k++;
    const c = compiled(build(k));
    const input = claimsInput({ l }) as Map<string, unknown>;
    evaluateCondition(c, input);
    const t0 = performance.now();
    expect(evaluateCondition(c, input)).toEqual({ ok: true, value: false });
    const ms = performance.now() - t0;
    expect(8 * k * MAX_CLAIM_ITEMS * MAX_CLAIM_ITEMS).toBeGreaterThan(50_000); // the work is real: ≥ 50k element comparisons
    // Tens of milliseconds on a busy 2-core machine. The limit is loose so that load cannot fail it:
    // the bound itself is the compile-time and claim limits tested above.
    expect(ms).toBeLessThan(2000);
  });
});
