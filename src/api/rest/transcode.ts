import {
  create,
  fromJson,
  ScalarType,
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
import { isWrapperDesc } from "@bufbuild/protobuf/wkt";
import { DomainError } from "../../domain/errors.js";
import type { PathParams, RestRoute } from "./routes.js";

type ScalarValue = string | number | bigint | boolean | Uint8Array;

const invalid = (message: string) => new DomainError("InvalidArgument", "", message);
function fail(message: string): never {
  throw invalid(message);
}

/** Runs `fn`, prefixing the message of any InvalidArgument it raises (grpc-gateway wraps errors the same way). */
function withContext<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DomainError) throw invalid(context + e.message);
    throw e;
  }
}

/** Go's %q for the ASCII inputs these messages are about. */
const quote = (s: string) => JSON.stringify(s);

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

const exclusionCache = new WeakMap<RestRoute, ReadonlySet<string>>();

/**
 * Fields the query string may not set: path variables and a named body. grpc-gateway filters by the raw key, so
 * `?userId=` (JSON name) could still overwrite a `{user_id}`; here the resolved field is compared, so neither name can.
 */
function exclusions(route: RestRoute): ReadonlySet<string> {
  let set = exclusionCache.get(route);
  if (!set) {
    const paths = route.variables.map((v) => v.fields);
    if (route.bodyField) paths.push([route.bodyField]);
    set = new Set(paths.map((fields) => fields.map((f) => f.number).join(".")));
    exclusionCache.set(route, set);
  }
  return set;
}

const mapKeySyntax = /^(.*)\[(.*)\]$/;

function applyQuery(route: RestRoute, target: ReflectMessage, query: URLSearchParams): void {
  const excluded = exclusions(route);
  for (const key of new Set(query.keys())) {
    const values = query.getAll(key);
    if (values.length === 1 && values[0] === "") continue;
    const mapKey = mapKeySyntax.exec(key);
    if (mapKey) populate(target, mapKey[1]!.split("."), [mapKey[2]!, ...values], excluded);
    else populate(target, key.split("."), values, excluded);
  }
}

const fieldsByNameCache = new WeakMap<DescMessage, ReadonlyMap<string, DescField>>();

/** Proto name first, then JSON name (protoreflect Fields.ByName, then ByJSONName). */
function fieldByName(desc: DescMessage, name: string): DescField | undefined {
  let byName = fieldsByNameCache.get(desc);
  if (!byName) {
    const map = new Map<string, DescField>();
    for (const f of desc.fields) map.set(f.name, f);
    for (const f of desc.fields) if (!map.has(f.jsonName)) map.set(f.jsonName, f);
    fieldsByNameCache.set(desc, (byName = map));
  }
  return byName.get(name);
}

/** runtime.populateFieldValueFromPath: walks (and creates) singular message fields, then sets the leaf. */
function populate(root: ReflectMessage, names: readonly string[], values: readonly string[], excluded: ReadonlySet<string> | undefined): void {
  const chain: DescField[] = [];
  let desc = root.desc;
  let key = "";
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const field = fieldByName(desc, name);
    if (!field) {
      // Unknown parameters are ignored, but grpc-gateway has already created the messages on the way.
      mutableAt(root, chain);
      return;
    }
    chain.push(field);
    key = key === "" ? String(field.number) : `${key}.${field.number}`;
    if (excluded?.has(key)) return;
    if (i === names.length - 1) break;
    if (field.fieldKind !== "message") return fail(`invalid path: ${quote(name)} is not a message`);
    desc = field.message;
  }
  const leaf = chain.pop()!;
  setLeaf(mutableAt(root, chain), leaf, values);
}

function mutableAt(root: ReflectMessage, chain: readonly DescField[]): ReflectMessage {
  let current = root;
  for (const field of chain) {
    if (field.fieldKind !== "message") break;
    const child = current.get(field);
    if (!current.isSet(field)) current.set(field, child);
    current = child;
  }
  return current;
}

function setLeaf(target: ReflectMessage, field: DescField, values: readonly string[]): void {
  if (field.oneof && target.oneofCase(field.oneof)) fail(`field already set for oneof ${quote(field.oneof.name)}`);
  switch (field.fieldKind) {
    case "list": {
      const list = target.get(field);
      for (const raw of values) list.add(withContext(`parsing list ${quote(field.name)}: `, () => parseQueryValue(field, raw)));
      return;
    }
    case "map": {
      if (values.length !== 2) fail(`more than one value provided for key ${quote(values[0] ?? "")} in map ${quote(`${field.parent.typeName}.${field.name}`)}`);
      const key = withContext(`parsing map key ${quote(field.name)}: `, () => parseScalar(field.mapKey, values[0]!, false));
      const value = withContext(`parsing map value ${quote(field.name)}: `, () => parseQueryValue(field, values[1]!));
      target.get(field).set(key, value);
      return;
    }
    default:
      if (values.length > 1) fail(`too many values for field ${quote(field.name)}: ${values.join(", ")}`);
      target.set(field, withContext(`parsing field ${quote(field.name)}: `, () => parseQueryValue(field, values[0]!)));
  }
}

/** runtime.parseField: the element type of a list or map is described by the same enum/message/scalar properties. */
function parseQueryValue(field: DescField, raw: string): ScalarValue | ReflectMessage {
  if (field.enum) return parseQueryEnum(field.enum, raw);
  if (field.message) return parseQueryMessage(field.message, raw);
  return parseScalar(field.scalar!, raw, false);
}

function parseQueryEnum(desc: DescEnum, raw: string): number {
  const named = desc.values.find((v) => v.name === raw);
  if (named) return named.number;
  let number: number | undefined;
  try {
    number = Number(parseGoInteger(raw, true, 64, false));
  } catch {
    number = undefined;
  }
  return desc.values.some((v) => v.number === number) ? number! : fail(`${quote(raw)} is not a valid value`);
}

/** runtime.parseMessage: only well-known types have a query-string form. */
function parseQueryMessage(desc: DescMessage, raw: string): ReflectMessage {
  if (isWrapperDesc(desc)) {
    const message = create(desc);
    reflect(desc, message).set(desc.fields[0], parseScalar(desc.fields[0].scalar, raw, false));
    return reflect(desc, message);
  }
  switch (desc.typeName) {
    case "google.protobuf.Timestamp":
      return reflect(desc, fromJsonOr(desc, raw, `parsing time ${quote(raw)} as "2006-01-02T15:04:05.999999999Z07:00"`));
    case "google.protobuf.Duration":
      return reflect(desc, create(desc, parseGoDuration(raw)));
    case "google.protobuf.FieldMask":
      return reflect(desc, create(desc, { paths: raw.split(",") }));
    case "google.protobuf.Struct":
    case "google.protobuf.Value":
      return reflect(desc, fromJsonOr(desc, parseJsonText(raw), undefined));
    default:
      return fail(`unsupported message type: ${quote(desc.typeName)}`);
  }
}

function parseJsonText(raw: string): JsonValue {
  try {
    return JSON.parse(raw) as JsonValue;
  } catch (e) {
    return fail(`proto: syntax error: ${(e as Error).message}`);
  }
}

function fromJsonOr(desc: DescMessage, json: JsonValue, message: string | undefined): Message {
  try {
    return fromJson(desc, json);
  } catch (e) {
    return fail(message ?? `proto: ${(e as Error).message}`);
  }
}

/** `base0`: path parameters (runtime.Int64 & co. call strconv with base 0); query values use base 10. */
function parseScalar(scalar: ScalarType, raw: string, base0: boolean): ScalarValue {
  switch (scalar) {
    case ScalarType.STRING:
      return raw;
    case ScalarType.BOOL:
      return parseGoBool(raw);
    case ScalarType.BYTES:
      return parseGoBytes(raw);
    case ScalarType.DOUBLE:
      return parseGoFloat(raw, 64);
    case ScalarType.FLOAT:
      return parseGoFloat(raw, 32);
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return Number(parseGoInteger(raw, true, 32, base0));
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return Number(parseGoInteger(raw, false, 32, base0));
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return parseGoInteger(raw, true, 64, base0);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return parseGoInteger(raw, false, 64, base0);
  }
}

function parseGoBool(raw: string): boolean {
  switch (raw) {
    case "1":
    case "t":
    case "T":
    case "true":
    case "TRUE":
    case "True":
      return true;
    case "0":
    case "f":
    case "F":
    case "false":
    case "FALSE":
    case "False":
      return false;
    default:
      return fail(`strconv.ParseBool: parsing ${quote(raw)}: invalid syntax`);
  }
}

const digitsByRadix: Readonly<Record<number, RegExp>> = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ };
const radixPrefix: Readonly<Record<number, string>> = { 2: "0b", 8: "0o", 10: "", 16: "0x" };

/** strconv.ParseInt / ParseUint with base 10 or base 0 (0x, 0o, 0b, leading-0 octal, `_` separators). */
function parseGoInteger(raw: string, signed: boolean, bits: 32 | 64, base0: boolean): bigint {
  const fn = signed ? "ParseInt" : "ParseUint";
  const syntaxError = () => fail(`strconv.${fn}: parsing ${quote(raw)}: invalid syntax`);
  let digits = raw;
  let negative = false;
  if (signed && (digits.startsWith("+") || digits.startsWith("-"))) {
    negative = digits.startsWith("-");
    digits = digits.slice(1);
  }
  let radix = 10;
  if (base0) {
    const unsignedText = digits;
    const prefix = /^0([xXoObB])/.exec(digits);
    if (prefix) {
      radix = { x: 16, o: 8, b: 2 }[prefix[1]!.toLowerCase() as "x" | "o" | "b"];
      digits = digits.slice(2);
    } else if (digits.length > 1 && digits.startsWith("0")) {
      radix = 8;
      digits = digits.slice(1);
    }
    if (digits.includes("_")) {
      if (!underscoreOK(unsignedText)) syntaxError();
      digits = digits.replaceAll("_", "");
    }
  }
  if (!digitsByRadix[radix]!.test(digits)) syntaxError();
  const magnitude = BigInt(radixPrefix[radix]! + digits);
  const value = negative ? -magnitude : magnitude;
  const [min, max] = signed ? [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n] : [0n, (1n << BigInt(bits)) - 1n];
  if (value < min || value > max) fail(`strconv.${fn}: parsing ${quote(raw)}: value out of range`);
  return value;
}

/** strconv.underscoreOK: `_` only between digits, or right after a base prefix. */
function underscoreOK(s: string): boolean {
  let saw = "^";
  let i = 0;
  let hex = false;
  if (s.length >= 2 && s[0] === "0" && /[bBoOxX]/.test(s[1]!)) {
    i = 2;
    saw = "0";
    hex = s[1] === "x" || s[1] === "X";
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (/[0-9]/.test(c) || (hex && /[a-fA-F]/.test(c))) saw = "0";
    else if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
    } else {
      if (saw === "_") return false;
      saw = "!";
    }
  }
  return saw !== "_";
}

const decimalFloat = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const specialFloat = /^(?:[+-]?inf(?:inity)?|nan)$/i;

/** strconv.ParseFloat for decimal and inf/nan spellings (Go's hexadecimal floats are not accepted). */
function parseGoFloat(raw: string, bits: 32 | 64): number {
  if (specialFloat.test(raw)) return /nan/i.test(raw) ? NaN : raw.startsWith("-") ? -Infinity : Infinity;
  if (!decimalFloat.test(raw)) return fail(`strconv.ParseFloat: parsing ${quote(raw)}: invalid syntax`);
  const value = bits === 32 ? Math.fround(Number(raw)) : Number(raw);
  return Number.isFinite(value) ? value : fail(`strconv.ParseFloat: parsing ${quote(raw)}: value out of range`);
}

const stdBase64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const urlBase64 = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;

/** runtime.Bytes: padded standard base64, else padded URL-safe base64 (Go's decoder skips CR and LF). */
function parseGoBytes(raw: string): Uint8Array {
  const text = raw.replace(/[\r\n]/g, "");
  if (!stdBase64.test(text) && !urlBase64.test(text)) {
    const bad = text.search(/[^A-Za-z0-9_\-+/]/);
    return fail(`illegal base64 data at input byte ${bad === -1 ? text.length - (text.length % 4) : bad}`);
  }
  return new Uint8Array(Buffer.from(text, "base64"));
}

const durationUnits: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  "µs": 1_000n,
  "μs": 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const durationTerm = /([0-9]*)(?:\.([0-9]*))?([^0-9.]*)/y;
const maxDurationNanos = (1n << 63n) - 1n;

/** time.ParseDuration, e.g. `1h30m`, `1.5s`, `-300ms`. */
function parseGoDuration(raw: string): { seconds: bigint; nanos: number } {
  const invalidDuration = () => fail(`time: invalid duration ${quote(raw)}`);
  let rest = raw;
  const negative = rest.startsWith("-");
  if (negative || rest.startsWith("+")) rest = rest.slice(1);
  if (rest === "0") return { seconds: 0n, nanos: 0 };
  if (rest === "") invalidDuration();
  let total = 0n;
  for (let at = 0; at < rest.length; ) {
    durationTerm.lastIndex = at;
    const [, whole = "", fraction, unitName = ""] = durationTerm.exec(rest) ?? [];
    if (whole === "" && (fraction ?? "") === "") invalidDuration();
    if (unitName === "") fail(`time: missing unit in duration ${quote(raw)}`);
    const unit = durationUnits[unitName] ?? fail(`time: unknown unit ${quote(unitName)} in duration ${quote(raw)}`);
    total += BigInt(whole || "0") * unit;
    if (fraction) total += (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length);
    if (total > maxDurationNanos) invalidDuration();
    at = durationTerm.lastIndex;
  }
  const signed = negative ? -total : total;
  return { seconds: signed / 1_000_000_000n, nanos: Number(signed % 1_000_000_000n) };
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
