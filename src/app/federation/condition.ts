import type * as CelModule from "@bufbuild/cel";

/**
 * Binding conditions: CEL expressions (https://cel.dev, evaluated by @bufbuild/cel) over one
 * variable, `claims`, the verified token's payload as a map — e.g.
 * `claims.repository == "acme/api" && claims.ref == "refs/heads/main"` or
 * `claims["kubernetes.io"].namespace == "ci"`. CEL runs no code: no I/O, no loops but the
 * comprehension macros over the (finite) claims, only the standard functions (no extensions).
 *
 * Here rather than in domain/: the domain layer imports no packages (eslint.config.js), and
 * compiling and running CEL needs one. The app layer owns the use (evaluate.ts next to it).
 *
 * Bounded cost. @bufbuild/cel 0.6.1 has no cost limit or interruption (cel-go's CostLimit has no
 * counterpart), so the inputs are bounded instead:
 * - the expression: at most MAX_CONDITION_LENGTH characters and MAX_CONDITION_NODES syntax nodes,
 *   at most MAX_COMPREHENSIONS comprehensions (all / exists / exists_one / map / filter), none
 *   inside another's body (no n² or worse), identifiers only `claims` and comprehension variables,
 *   no message construction;
 * - the claims: at most MAX_CLAIM_ITEMS items per list or map, MAX_CLAIM_VALUES values in all and
 *   MAX_CLAIM_DEPTH levels of nesting (the token itself is at most 16 KiB).
 * So one evaluation costs at most (syntax nodes) × (claim items)² element steps: the worst case
 * that compiles (8 comprehensions over a 64-item list, each body scanning the list again as often
 * as the node bound allows) measured about 20–25 ms on a busy 2-core machine; an ordinary
 * condition (a few comparisons) takes microseconds. condition.test.ts keeps the bound.
 *
 * The result must be a bool. What can be seen without running it is refused at compile time (a
 * literal, arithmetic or a list/map at the top); what cannot (`claims.flag` may be anything) is an
 * error when it runs. A missing claim is an error in CEL (`claims.x == "y"` without x), not
 * false: write `has(claims.x) && claims.x == "y"` — the presets do.
 */

export const MAX_CONDITION_LENGTH = 1024;
export const MAX_CONDITION_NODES = 200;
export const MAX_COMPREHENSIONS = 8;
export const MAX_CLAIM_ITEMS = 64;
export const MAX_CLAIM_VALUES = 1024;
export const MAX_CLAIM_DEPTH = 8;

/**
 * @bufbuild/cel, loaded on first use (`loadCel`): with its protobuf descriptors (cel-spec, the
 * well-known types) and RE2 it is a good part of a start's module loading, and only a server whose
 * bindings have conditions needs it. The binding command and the token path load it before
 * compiling (both are async); compiling before that is a programming error, not a refusal.
 */
let cel: { mod: typeof CelModule; env: CelModule.CelEnv } | undefined;
let loading: Promise<void> | undefined;

export function loadCel(): Promise<void> {
  return (loading ??= import("@bufbuild/cel").then((mod) => {
    cel = { mod, env: mod.celEnv({ variables: { claims: mod.mapType(mod.CelScalar.STRING, mod.CelScalar.DYN) } }) };
  }));
}

export const celLoaded = (): boolean => cel !== undefined;

function engine(): NonNullable<typeof cel> {
  if (!cel) throw new Error("CEL is not loaded yet: await loadCel() before compiling a condition");
  return cel;
}

type Parsed = ReturnType<typeof CelModule.parse>;
type Expr = Parsed["expr"];
/** A planned condition: claims in, a CEL value or error out. */
type Program = (ctx: { claims: Map<string, unknown> }) => unknown;

export interface CompiledCondition {
  readonly source: string;
  readonly program: Program;
}

export type CompileResult = { ok: true; condition: CompiledCondition } | { ok: false; error: string };
export type ConditionResult = { ok: true; value: boolean } | { ok: false; error: string };

/** Functions whose result is a bool: a top-level call to anything else cannot be a condition. */
const BOOL_FUNCTIONS = new Set([
  "_&&_",
  "_||_",
  "!_",
  "_==_",
  "_!=_",
  "_<_",
  "_<=_",
  "_>_",
  "_>=_",
  "@in",
  "startsWith",
  "endsWith",
  "contains",
  "matches",
  "_?_:_",
  "_[_]",
  "@not_strictly_false",
]);

/** Calls the evaluator implements itself rather than as functions (logic, conditional, index). */
const SPECIAL_FORMS = new Set(["_&&_", "_||_", "_?_:_", "@not_strictly_false", "_[_]"]);

interface Walk {
  nodes: number;
  comprehensions: number;
  error?: string;
}

/** Checks identifiers, message construction, comprehension nesting and size; the first problem in `w.error`. */
function walk(e: Expr | undefined, scope: readonly string[], inBody: boolean, w: Walk): void {
  if (!e || w.error) return;
  if (++w.nodes > MAX_CONDITION_NODES) {
    w.error = `the condition has more than ${MAX_CONDITION_NODES} terms`;
    return;
  }
  const k = e.exprKind;
  switch (k.case) {
    case "identExpr":
      if (k.value.name !== "claims" && !scope.includes(k.value.name)) w.error = `unknown name ${k.value.name} (the only variable is claims)`;
      return;
    case "selectExpr":
      return walk(k.value.operand, scope, inBody, w);
    case "callExpr":
      if (!SPECIAL_FORMS.has(k.value.function) && !engine().env.funcs.find(k.value.function)) {
        w.error = `unknown function ${k.value.function}`;
        return;
      }
      walk(k.value.target, scope, inBody, w);
      for (const a of k.value.args) walk(a, scope, inBody, w);
      return;
    case "listExpr":
      for (const a of k.value.elements) walk(a, scope, inBody, w);
      return;
    case "structExpr":
      if (k.value.messageName) {
        w.error = `constructing messages (${k.value.messageName}) is not allowed`;
        return;
      }
      for (const entry of k.value.entries) {
        if (entry.keyKind.case === "mapKey") walk(entry.keyKind.value, scope, inBody, w);
        walk(entry.value, scope, inBody, w);
      }
      return;
    case "comprehensionExpr": {
      const c = k.value;
      if (inBody) {
        w.error = "a comprehension (all, exists, exists_one, map, filter) inside another one is not allowed";
        return;
      }
      if (++w.comprehensions > MAX_COMPREHENSIONS) {
        w.error = `more than ${MAX_COMPREHENSIONS} comprehensions`;
        return;
      }
      walk(c.iterRange, scope, inBody, w);
      walk(c.accuInit, scope, inBody, w);
      const inner = [...scope, c.iterVar, c.iterVar2, c.accuVar].filter((v): v is string => !!v);
      walk(c.loopCondition, inner, true, w);
      walk(c.loopStep, inner, true, w);
      walk(c.result, [...scope, c.accuVar], inBody, w);
      return;
    }
    default:
      return;
  }
}

/** What the top of the expression shows about its type: an error when it cannot be a bool. */
function notBool(e: Expr): string | undefined {
  const k = e.exprKind;
  const why = "the condition must evaluate to true or false";
  switch (k.case) {
    case "constExpr":
      return k.value.constantKind.case === "boolValue" ? undefined : why;
    case "listExpr":
    case "structExpr":
      return why;
    case "callExpr":
      return BOOL_FUNCTIONS.has(k.value.function) ? undefined : why;
    case "comprehensionExpr": {
      // all / exists / exists_one end in a bool; map and filter in a list (their result is the accumulator, a list).
      const init = k.value.accuInit?.exprKind;
      return init?.case === "listExpr" ? why : undefined;
    }
    default:
      return undefined;
  }
}

/** Parses and checks a condition; the error says what is wrong, for the API's InvalidArgument. */
export function compileCondition(source: string): CompileResult {
  if (typeof source !== "string" || source.trim() === "") return { ok: false, error: "the condition is empty" };
  if (source.length > MAX_CONDITION_LENGTH) return { ok: false, error: `the condition is longer than ${MAX_CONDITION_LENGTH} characters` };
  const { mod, env } = engine();
  let parsed: Parsed;
  try {
    parsed = mod.parse(source);
  } catch (e) {
    return { ok: false, error: `syntax error: ${(e as Error).message.replace(/^<input>:/, "at ")}` };
  }
  const w: Walk = { nodes: 0, comprehensions: 0 };
  walk(parsed.expr, [], false, w);
  if (w.error) return { ok: false, error: w.error };
  const typeError = notBool(parsed.expr);
  if (typeError) return { ok: false, error: typeError };
  try {
    const planned = mod.plan(env, parsed);
    return { ok: true, condition: { source, program: (ctx) => planned(ctx as never) } };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

const compiled = new Map<string, CompileResult>();
/** compileCondition with a bounded cache by source (conditions are few and evaluated often). */
export function compileConditionCached(source: string): CompileResult {
  let r = compiled.get(source);
  if (!r) {
    r = compileCondition(source);
    if (compiled.size >= 1000) compiled.delete(compiled.keys().next().value!);
    compiled.set(source, r);
  }
  return r;
}

/** JSON claims → CEL input (objects as Maps: no prototype lookups), within the size bounds; a string says why not. */
export function claimsInput(claims: Record<string, unknown>): Map<string, unknown> | string {
  let values = 0;
  const convert = (v: unknown, depth: number): unknown => {
    if (++values > MAX_CLAIM_VALUES) throw new Error(`the claims hold more than ${MAX_CLAIM_VALUES} values`);
    if (depth > MAX_CLAIM_DEPTH) throw new Error(`the claims are nested deeper than ${MAX_CLAIM_DEPTH} levels`);
    if (Array.isArray(v)) {
      if (v.length > MAX_CLAIM_ITEMS) throw new Error(`a claim list has more than ${MAX_CLAIM_ITEMS} items`);
      return v.map((x) => convert(x, depth + 1));
    }
    if (typeof v === "object" && v !== null) {
      const entries = Object.entries(v);
      if (entries.length > MAX_CLAIM_ITEMS) throw new Error(`a claim object has more than ${MAX_CLAIM_ITEMS} members`);
      return new Map(entries.map(([key, x]) => [key, convert(x, depth + 1)]));
    }
    return v; // string, number (a CEL double), boolean, null
  };
  try {
    return convert(claims, 0) as Map<string, unknown>;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Runs a compiled condition on the claims: true or false, or why it could not be decided. */
export function evaluateCondition(condition: CompiledCondition, claims: Record<string, unknown> | Map<string, unknown>): ConditionResult {
  const input = claims instanceof Map ? claims : claimsInput(claims);
  if (typeof input === "string") return { ok: false, error: input };
  let r: unknown;
  try {
    r = condition.program({ claims: input });
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
  if (engine().mod.isCelError(r)) return { ok: false, error: r.message };
  if (typeof r !== "boolean") return { ok: false, error: "the condition did not evaluate to true or false" };
  return { ok: true, value: r };
}
