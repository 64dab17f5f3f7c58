/**
 * grpc-gateway's transcoding: an HTTP request into the method's request message (body, path variables, and the
 * query string in query.ts; Go's value parsers in go-parse.ts), and a response message into protojson.
 */
import {
  create,
  fromJson,
  toJson,
  type DescEnum,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type Message,
  type MessageShape,
} from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { fail, parseGoInteger, parseScalar, withContext, type ScalarValue } from "./go-parse.js";
import { applyQuery, populate } from "./query.js";
import type { PathParams, RestRoute } from "./routes.js";

/**
 * Builds the request message the way grpc-gateway's generated handlers do: body (`*` or a named field), then path
 * parameters, then — unless the body is `*` — the query string.
 */
export function decodeRequest(route: RestRoute, pathParams: PathParams, query: URLSearchParams, body: Uint8Array | undefined): Message {
  const schema = route.method.input;
  const message = decodeBody(route, body);
  const target = reflect(schema, message);
  applyPathParams(route, target, pathParams);
  if (route.body !== "*") applyQuery(route, target, query);
  return message;
}

function decodeBody(route: RestRoute, body: Uint8Array | undefined): Message {
  const schema = route.method.input;
  if (route.body === "") return create(schema); // grpc-gateway drains and ignores the body
  const json = parseJsonBody(body);
  if (json === undefined) return create(schema); // io.EOF from the JSON decoder is not an error
  if (route.bodyField) return readJson(schema, { [route.bodyField.jsonName]: json });
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    fail(`proto: syntax error: ${schema.typeName} must be a JSON object, got ${json === null ? "null" : Array.isArray(json) ? "array" : typeof json}`);
  }
  return readJson(schema, json);
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const jsonWhitespace = /^[ \t\n\r]*$/;

/** undefined for an empty or whitespace-only body. JSON.parse is iterative in V8, so deep nesting cannot overflow the stack. */
function parseJsonBody(body: Uint8Array | undefined): JsonValue | undefined {
  if (!body || body.length === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return fail("proto: syntax error: invalid UTF-8 in request body");
  }
  if (jsonWhitespace.test(text)) return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch (e) {
    return fail(`proto: syntax error: ${(e as Error).message}`);
  }
}

// protojson with DiscardUnknown. protobuf-es already accepts both field names, enum names and numbers, 64-bit ints as
// string or number and both base64 alphabets; its recursion limit (100) stands in for protojson's (10000).
const jsonReadOptions = { ignoreUnknownFields: true } as const;

function readJson(schema: DescMessage, json: JsonValue): Message {
  try {
    return fromJson(schema, json, jsonReadOptions);
  } catch (e) {
    return fail(`proto: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function applyPathParams(route: RestRoute, target: ReflectMessage, pathParams: PathParams): void {
  for (const variable of route.variables) {
    const raw = pathParams[variable.name];
    if (raw === undefined) fail(`missing parameter ${variable.name}`);
    withContext(`type mismatch, parameter: ${variable.name}, error: `, () => {
      const [field, ...nested] = variable.fields;
      // Generated code converts top-level fields with runtime.String/Int64/Enum/...; nested ones go through
      // runtime.PopulateFieldFromPath, i.e. the query-string parser.
      if (nested.length === 0 && field) target.set(field, parsePathValue(field, raw));
      else populate(target, variable.fields.map((f) => f.name), [raw], undefined);
    });
  }
}

/** grpc-gateway's runtime.String/Bool/Int32/Int64/Uint32/Uint64/Float32/Float64/Bytes/Enum (integers in base 0). */
function parsePathValue(field: DescField, raw: string): ScalarValue {
  if (field.fieldKind === "enum") return parsePathEnum(field.enum, raw);
  if (field.fieldKind !== "scalar") return fail(`unsupported path parameter type for ${field.name}`);
  return parseScalar(field.scalar, raw, true);
}

function parsePathEnum(desc: DescEnum, raw: string): number {
  const named = desc.values.find((v) => v.name === raw);
  if (named) return named.number;
  let number: number | undefined;
  try {
    number = Number(parseGoInteger(raw, true, 32, true));
  } catch {
    number = undefined;
  }
  return desc.values.some((v) => v.number === number) ? number! : fail(`${raw} is not valid`);
}

/**
 * protojson with grpc-gateway's defaults: JSON names, no zero values, 64-bit integers as strings, enums by name,
 * padded standard base64, RFC 3339 timestamps. protobuf-es' toJson does all of that with its default options (no
 * per-call option object); the one thing left is field order, see declarationOrder.
 */
export function encodeResponse<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): string {
  const json = toJson(schema, message);
  const reorder = typesToReorder(schema);
  return JSON.stringify(reorder ? declarationOrder(schema, json as JsonObject, reorder) : json);
}

const reorderCache = new WeakMap<DescMessage, ReadonlySet<DescMessage> | null>();

/**
 * protojson writes fields in declaration order, protobuf-es' toJson in field-number order. They differ only where a
 * oneof is declared out of number order (e.g. zitadel.idp.v1.IDP, settings.v1.EmailProvider). Returns the message
 * types below `root` that must be walked to restore protojson's order, or null when none (the common, fast case).
 */
function typesToReorder(root: DescMessage): ReadonlySet<DescMessage> | null {
  const cached = reorderCache.get(root);
  if (cached !== undefined) return cached;
  const parents = new Map<DescMessage, Set<DescMessage>>([[root, new Set()]]);
  const queue = [root];
  for (let m = queue.pop(); m; m = queue.pop()) {
    for (const child of childMessages(m)) {
      let p = parents.get(child);
      if (!p) {
        parents.set(child, (p = new Set()));
        queue.push(child);
      }
      p.add(m);
    }
  }
  const need = new Set<DescMessage>();
  const pending = [...parents.keys()].filter(isOutOfNumberOrder);
  for (let m = pending.pop(); m; m = pending.pop()) {
    if (need.has(m)) continue;
    need.add(m);
    pending.push(...(parents.get(m) ?? []));
  }
  const result = need.size > 0 ? need : null;
  reorderCache.set(root, result);
  return result;
}

/** Message types written as plain JSON objects; google.protobuf.* either have a custom form or never reorder. */
function childMessages(desc: DescMessage): DescMessage[] {
  return desc.fields.flatMap((f) => (f.message && !f.message.typeName.startsWith("google.protobuf.") ? [f.message] : []));
}

const isOutOfNumberOrder = (desc: DescMessage) => desc.fields.some((f, i) => i > 0 && f.number < desc.fields[i - 1]!.number);

function declarationOrder(desc: DescMessage, json: JsonObject, reorder: ReadonlySet<DescMessage>): JsonObject {
  const out: JsonObject = isOutOfNumberOrder(desc) ? {} : json;
  for (const field of desc.fields) {
    const value = json[field.jsonName];
    if (value === undefined) continue;
    const child = field.message;
    out[field.jsonName] = child && reorder.has(child) ? reorderValue(field, child, value, reorder) : value;
  }
  return out;
}

function reorderValue(field: DescField, child: DescMessage, value: JsonValue, reorder: ReadonlySet<DescMessage>): JsonValue {
  switch (field.fieldKind) {
    case "list":
      return (value as JsonObject[]).map((item) => declarationOrder(child, item, reorder));
    case "map":
      return Object.fromEntries(Object.entries(value as Record<string, JsonObject>).map(([k, v]) => [k, declarationOrder(child, v, reorder)]));
    default:
      return declarationOrder(child, value as JsonObject, reorder);
  }
}
