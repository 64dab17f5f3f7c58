import { getOption, hasOption, type DescField, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { http } from "@zitadel/proto/google/api/annotations_pb.js";
import type { HttpRule } from "@zitadel/proto/google/api/http_pb.js";

/** A `{field}` or `{field=**}` in a template, resolved against the request message. */
export interface PathVariable {
  /** The field path as written in the template, e.g. `user_id` or `a.b`; the key in `pathParams`. */
  readonly name: string;
  /** The fields from the request message down to the bound scalar. */
  readonly fields: readonly DescField[];
  /** Index of the path segment the value starts at (prefix segments included). */
  readonly segment: number;
  /** `{field=**}`: the value is the rest of the path, segments joined with `/`. */
  readonly rest: boolean;
}

export interface RestRoute {
  readonly method: DescMethod;
  /** HTTP method as registered with grpc-gateway, e.g. `GET` (or a custom pattern's kind). */
  readonly verb: string;
  /** The full template including the prefix, e.g. `/management/v1/users/{id}`. */
  readonly template: string;
  /** `google.api.http` body: `""` (query string), `"*"` (whole message) or a top-level field name. */
  readonly body: string;
  /** The field for a named body; undefined for `""` and `"*"`. */
  readonly bodyField: DescField | undefined;
  readonly variables: readonly PathVariable[];
  /** `google.api.http` response_body; `""` means the whole response message. */
  readonly responseBody: string;
}

export type PathParams = Readonly<Record<string, string>>;

export interface RouteHit {
  readonly kind: "hit";
  readonly route: RestRoute;
  readonly pathParams: PathParams;
}

export interface RouteMiss {
  readonly kind: "miss";
  /** 404: no route has this path; 405: some route has it, but not for this verb; 400: undecodable path. */
  readonly status: 400 | 404 | 405;
  /** The verbs that would have matched (405 only). */
  readonly allow: readonly string[];
}

export type RouteMatch = RouteHit | RouteMiss;

export interface RestRouter {
  readonly routes: readonly RestRoute[];
  /** `path` is the raw (still percent-encoded) URL path without the query string. */
  match(httpMethod: string, path: string): RouteMatch;
}

interface TrieNode {
  readonly literals: Map<string, TrieNode>;
  param: TrieNode | undefined;
  /** Routes whose template ends at this node, by verb. */
  readonly routes: Map<string, RestRoute>;
  /** Routes whose trailing `**` starts at this node, by verb. */
  readonly restRoutes: Map<string, RestRoute>;
}

type TemplateSegment =
  | { readonly kind: "literal"; readonly value: string }
  | { readonly kind: "param"; readonly variable: string | undefined }
  | { readonly kind: "rest"; readonly variable: string | undefined };

const newNode = (): TrieNode => ({ literals: new Map(), param: undefined, routes: new Map(), restRoutes: new Map() });

const NOT_FOUND: RouteMiss = { kind: "miss", status: 404, allow: [] };
const BAD_REQUEST: RouteMiss = { kind: "miss", status: 400, allow: [] };

/** Compiles every `google.api.http` binding of `service` (additional bindings included) into one router under `prefix`. */
export function compileRoutes(service: DescService, prefix: string): RestRouter {
  const prefixSegments = splitPrefix(prefix);
  const root = newNode();
  const routes: RestRoute[] = [];
  for (const method of service.methods) {
    if (!hasOption(method, http)) continue;
    for (const rule of flattenBindings(getOption(method, http))) {
      const { route, segments } = compileRoute(method, rule, prefix, prefixSegments);
      insert(root, [...prefixSegments.map(literalSegment), ...segments], route);
      routes.push(route);
    }
  }
  return { routes, match: (httpMethod, path) => matchPath(root, httpMethod, path) };
}

function splitPrefix(prefix: string): string[] {
  const trimmed = prefix.replace(/\/+$/, "");
  if (trimmed === "") return [];
  if (!trimmed.startsWith("/")) throw new Error(`route prefix must start with "/": ${prefix}`);
  return trimmed.slice(1).split("/");
}

const literalSegment = (value: string): TemplateSegment => ({ kind: "literal", value });

function flattenBindings(rule: HttpRule): HttpRule[] {
  return [rule, ...rule.additionalBindings.flatMap(flattenBindings)];
}

function verbAndPath(rule: HttpRule): { verb: string; path: string } | undefined {
  switch (rule.pattern.case) {
    case "get":
    case "put":
    case "post":
    case "delete":
    case "patch":
      return { verb: rule.pattern.case.toUpperCase(), path: rule.pattern.value };
    case "custom":
      return { verb: rule.pattern.value.kind, path: rule.pattern.value.path };
    default:
      return undefined;
  }
}

function compileRoute(method: DescMethod, rule: HttpRule, prefix: string, prefixSegments: readonly string[]) {
  const binding = verbAndPath(rule);
  if (!binding) throw new Error(`${method.parent.typeName}.${method.name}: google.api.http rule without a pattern`);
  const where = `${method.parent.typeName}.${method.name} (${binding.verb} ${binding.path})`;
  const segments = parseTemplate(binding.path, where);
  const variables = segments.flatMap((segment, i): PathVariable[] =>
    segment.kind !== "literal" && segment.variable !== undefined
      ? [{ name: segment.variable, fields: resolvePathField(method.input, segment.variable, where), segment: prefixSegments.length + i, rest: segment.kind === "rest" }]
      : [],
  );
  const route: RestRoute = {
    method,
    verb: binding.verb,
    template: prefix.replace(/\/+$/, "") + binding.path,
    body: rule.body,
    bodyField: resolveBodyField(method.input, rule.body, where),
    variables,
    responseBody: rule.responseBody,
  };
  return { route, segments };
}

/**
 * The subset of the http.proto template grammar that grpc-gateway users write in practice: literals, `*`, `**`,
 * `{field}`, `{field=*}` and a trailing `{field=**}`. Sub-templates (`{name=shelves/*}`) and custom verbs (`:cancel`)
 * are rejected at start-up rather than matched wrongly.
 */
function parseTemplate(path: string, where: string): TemplateSegment[] {
  if (!path.startsWith("/")) throw new Error(`${where}: template must start with "/"`);
  const parts = path.slice(1).split("/");
  const segments = parts.map((part) => parseSegment(part, where));
  const restAt = segments.findIndex((s) => s.kind === "rest");
  if (restAt !== -1 && restAt !== segments.length - 1) throw new Error(`${where}: "**" is only supported as the last segment`);
  return segments;
}

function parseSegment(part: string, where: string): TemplateSegment {
  if (part === "*") return { kind: "param", variable: undefined };
  if (part === "**") return { kind: "rest", variable: undefined };
  const variable = /^\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?:=(\*\*?))?\}$/.exec(part);
  if (variable) return { kind: variable[2] === "**" ? "rest" : "param", variable: variable[1] };
  if (part === "" || /[{}*:=]/.test(part)) throw new Error(`${where}: unsupported template segment "${part}"`);
  return { kind: "literal", value: part };
}

/** Path variables name proto fields (not JSON names); every hop but the last must be a singular message. */
function resolvePathField(input: DescMessage, fieldPath: string, where: string): DescField[] {
  const fields: DescField[] = [];
  let message: DescMessage | undefined = input;
  for (const name of fieldPath.split(".")) {
    const field: DescField | undefined = message?.fields.find((f) => f.name === name);
    if (!field) throw new Error(`${where}: path variable "${fieldPath}" names no field of ${input.typeName}`);
    fields.push(field);
    message = field.fieldKind === "message" ? field.message : undefined;
  }
  const leaf = fields[fields.length - 1];
  if (!leaf || (leaf.fieldKind !== "scalar" && leaf.fieldKind !== "enum")) {
    throw new Error(`${where}: path variable "${fieldPath}" must be a singular scalar or enum field`);
  }
  return fields;
}

function resolveBodyField(input: DescMessage, body: string, where: string): DescField | undefined {
  if (body === "" || body === "*") return undefined;
  const field = input.fields.find((f) => f.name === body);
  if (!field) throw new Error(`${where}: body "${body}" names no top-level field of ${input.typeName}`);
  return field;
}

function insert(root: TrieNode, segments: readonly TemplateSegment[], route: RestRoute): void {
  let node = root;
  for (const segment of segments) {
    if (segment.kind === "rest") return register(node.restRoutes, route);
    node = segment.kind === "literal" ? childLiteral(node, segment.value) : (node.param ??= newNode());
  }
  register(node.routes, route);
}

function childLiteral(node: TrieNode, value: string): TrieNode {
  let child = node.literals.get(value);
  if (!child) node.literals.set(value, (child = newNode()));
  return child;
}

/** grpc-gateway would silently let the later registration win; two rpcs on one verb+shape is a descriptor bug. */
function register(byVerb: Map<string, RestRoute>, route: RestRoute): void {
  const existing = byVerb.get(route.verb);
  if (existing) throw new Error(`ambiguous routes: ${route.verb} ${existing.template} and ${route.template}`);
  byVerb.set(route.verb, route);
}

function matchPath(root: TrieNode, httpMethod: string, path: string): RouteMatch {
  const segments = splitPath(path);
  if (!segments) return BAD_REQUEST;
  const route = find(root, segments, 0, httpMethod);
  if (route) return { kind: "hit", route, pathParams: bindVariables(route, segments) };
  const allow = new Set<string>();
  collectVerbs(root, segments, 0, allow);
  return allow.size === 0 ? NOT_FOUND : { kind: "miss", status: 405, allow: [...allow] };
}

/**
 * Splits first, then percent-decodes each segment, so `%2F` stays inside its segment. (grpc-gateway's default
 * UnescapingModeLegacy decodes before splitting; the brief asks for per-segment decoding on purpose.)
 */
function splitPath(path: string): string[] | undefined {
  if (!path.startsWith("/")) return undefined;
  const segments = path.slice(1).split("/");
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (!segment.includes("%")) continue;
    try {
      segments[i] = decodeURIComponent(segment);
    } catch {
      return undefined;
    }
  }
  return segments;
}

/** Depth-first in grpc-gateway precedence order: literal, then `{param}`, then a trailing `**`. */
function find(node: TrieNode, segments: readonly string[], at: number, verb: string): RestRoute | undefined {
  if (at === segments.length) return node.routes.get(verb) ?? node.restRoutes.get(verb);
  const literal = node.literals.get(segments[at]!);
  const viaLiteral = literal && find(literal, segments, at + 1, verb);
  if (viaLiteral) return viaLiteral;
  const viaParam = node.param && find(node.param, segments, at + 1, verb);
  return viaParam || node.restRoutes.get(verb);
}

function collectVerbs(node: TrieNode, segments: readonly string[], at: number, into: Set<string>): void {
  for (const verb of node.restRoutes.keys()) into.add(verb);
  if (at === segments.length) {
    for (const verb of node.routes.keys()) into.add(verb);
    return;
  }
  const literal = node.literals.get(segments[at]!);
  if (literal) collectVerbs(literal, segments, at + 1, into);
  if (node.param) collectVerbs(node.param, segments, at + 1, into);
}

function bindVariables(route: RestRoute, segments: readonly string[]): PathParams {
  const params: Record<string, string> = {};
  for (const v of route.variables) {
    params[v.name] = v.rest ? segments.slice(v.segment).join("/") : segments[v.segment]!;
  }
  return params;
}
