/** The query string (and nested path variables) into the request message, as grpc-gateway's runtime.PopulateQueryParameters does. */
import { create, fromJson, type DescEnum, type DescField, type DescMessage, type JsonValue, type Message } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { isWrapperDesc } from "@bufbuild/protobuf/wkt";
import { fail, parseGoDuration, parseGoInteger, parseScalar, quote, withContext, type ScalarValue } from "./go-parse.js";
import type { RestRoute } from "./routes.js";

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

export function applyQuery(route: RestRoute, target: ReflectMessage, query: URLSearchParams): void {
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
export function populate(root: ReflectMessage, names: readonly string[], values: readonly string[], excluded: ReadonlySet<string> | undefined): void {
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
