/**
 * Enforces the protoc-gen-validate (PGV) `validate.rules` options embedded in
 * the ZITADEL descriptors, reproducing the text of the Go PGV `Validate()`
 * methods ZITADEL generates (first violation only). Rule templates referenced
 * below are envoyproxy/protoc-gen-validate `templates/goshared` and
 * `templates/go`.
 */
import {
  getOption,
  hasOption,
  isFieldSet,
  ScalarType,
  type DescEnum,
  type DescField,
  type DescMessage,
  type DescOneof,
  type Message,
} from "@bufbuild/protobuf";
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import { isIPv4, isIPv6 } from "node:net";
import {
  FieldRulesSchema,
  disabled as disabledOption,
  ignored as ignoredOption,
  required as oneofRequiredOption,
  rules as fieldRulesOption,
  type AnyRules,
  type BytesRules,
  type DurationRules,
  type EnumRules,
  type FieldRules,
  type MapRules,
  type MessageRules,
  type RepeatedRules,
  type StringRules,
  type TimestampRules,
} from "@zitadel/proto/validate/validate_pb.js";

/** Message levels below the request; ZITADEL's own user query limit (20) stays well inside. */
const MAX_DEPTH = 64;

export function validateMessage(schema: DescMessage, msg: Message): string | undefined {
  const outcome = runMessage(compiledFor(schema), msg as unknown as Fields, 0);
  return outcome instanceof Fatal ? outcome.text : outcome;
}

// ---------------------------------------------------------------------------
// Runtime model

type Fields = Record<string, unknown>;

interface Failure {
  readonly reason: string;
  readonly cause?: string;
  readonly index?: string;
  /** Reported as-is by every enclosing message instead of being wrapped. */
  readonly fatal?: boolean;
}

/** A formatted violation that must reach the caller unwrapped (nesting guard). */
class Fatal {
  constructor(readonly text: string) {}
}

type Outcome = Failure | Fatal | undefined;
type ValueCheck = (value: unknown, depth: number) => Outcome;
type Step = (msg: Fields, depth: number) => string | Fatal | undefined;
type Reason = string | undefined;

interface CompiledMessage {
  readonly steps: readonly Step[];
}

const REQUIRED: Failure = { reason: "value is required" };
const TOO_DEEP: Failure = { reason: "value nesting too deep", fatal: true };

function runMessage(compiled: CompiledMessage, msg: Fields, depth: number): string | Fatal | undefined {
  for (const step of compiled.steps) {
    const outcome = step(msg, depth);
    if (outcome !== undefined) return outcome;
  }
  return undefined;
}

function report(msgName: string, fieldName: string, outcome: Outcome): string | Fatal | undefined {
  if (outcome === undefined || outcome instanceof Fatal) return outcome;
  const label = outcome.index === undefined ? fieldName : `${fieldName}[${outcome.index}]`;
  const cause = outcome.cause === undefined ? "" : ` | caused by: ${outcome.cause}`;
  const text = `invalid ${msgName}.${label}: ${outcome.reason}${cause}`;
  return outcome.fatal === true ? new Fatal(text) : text;
}

function firstOf<T>(checks: readonly ((value: T) => Reason)[]): ((value: T) => Failure | undefined) | undefined {
  if (checks.length === 0) return undefined;
  return (value) => {
    for (const check of checks) {
      const reason = check(value);
      if (reason !== undefined) return { reason };
    }
    return undefined;
  };
}

// ---------------------------------------------------------------------------
// Message compilation

const compiledMessages = new WeakMap<DescMessage, CompiledMessage>();

function compiledFor(desc: DescMessage): CompiledMessage {
  let compiled = compiledMessages.get(desc);
  if (compiled === undefined) {
    compiled = compileMessage(desc);
    compiledMessages.set(desc, compiled);
  }
  return compiled;
}

function compileMessage(desc: DescMessage): CompiledMessage {
  if (getOption(desc, disabledOption) || getOption(desc, ignoredOption)) return { steps: [] };
  const name = goMessageName(desc);
  const isOptional = (f: DescField) => f.proto.proto3Optional === true;
  // PGV msg.go order: plain fields, real oneofs, then proto3 `optional` fields.
  const steps = [
    ...desc.fields.filter((f) => f.oneof === undefined && !isOptional(f)).map((f) => plainFieldStep(name, f)),
    ...desc.oneofs.map((o) => oneofStep(name, o)),
    ...desc.fields.filter(isOptional).map((f) => optionalFieldStep(name, f)),
  ];
  return { steps: steps.filter((s): s is Step => s !== undefined) };
}

function plainFieldStep(msgName: string, field: DescField): Step | undefined {
  const check = compileFieldCheck(field);
  if (check === undefined) return undefined;
  const goName = goFieldName(field.name);
  const key = field.localName;
  return (msg, depth) => report(msgName, goName, check(msg[key], depth));
}

/** Go PGV renders proto3 `optional` fields inside `if m.X != nil`. */
function optionalFieldStep(msgName: string, field: DescField): Step | undefined {
  const check = compileFieldCheck(field);
  if (check === undefined) return undefined;
  const goName = goFieldName(field.name);
  const key = field.localName;
  return (msg, depth) => {
    const value = msg[key];
    return value === undefined ? undefined : report(msgName, goName, check(value, depth));
  };
}

interface OneofCase {
  readonly goName: string;
  readonly check: ValueCheck;
}

function oneofStep(msgName: string, oneof: DescOneof): Step | undefined {
  const cases = new Map<string, OneofCase>();
  for (const field of oneof.fields) {
    const check = compileFieldCheck(field);
    if (check !== undefined) cases.set(field.localName, { goName: goFieldName(field.name), check });
  }
  const required = getOption(oneof, oneofRequiredOption);
  if (cases.size === 0 && !required) return undefined;
  const requiredText = `invalid ${msgName}.${goFieldName(oneof.name)}: value is required`;
  const key = oneof.localName;
  return (msg, depth) => {
    const selected = msg[key] as { case?: string; value?: unknown };
    if (selected.case === undefined) return required ? requiredText : undefined;
    const c = cases.get(selected.case);
    return c === undefined ? undefined : report(msgName, c.goName, c.check(selected.value, depth));
  };
}

// ---------------------------------------------------------------------------
// Field compilation

type Target =
  | { readonly kind: "scalar"; readonly scalar: ScalarType }
  | { readonly kind: "enum"; readonly desc: DescEnum }
  | { readonly kind: "message"; readonly desc: DescMessage };

function fieldRules(field: DescField): FieldRules | undefined {
  return hasOption(field, fieldRulesOption) ? getOption(field, fieldRulesOption) : undefined;
}

function compileFieldCheck(field: DescField): ValueCheck | undefined {
  const fr = fieldRules(field);
  switch (field.fieldKind) {
    case "scalar":
      return compileValueCheck(fr, { kind: "scalar", scalar: field.scalar });
    case "enum":
      return compileValueCheck(fr, { kind: "enum", desc: field.enum });
    case "message":
      return compileValueCheck(fr, { kind: "message", desc: field.message });
    case "list":
      return compileListCheck(fr, listElement(field));
    case "map":
      return compileMapCheck(fr, field);
  }
}

function listElement(field: DescField & { fieldKind: "list" }): Target {
  switch (field.listKind) {
    case "scalar":
      return { kind: "scalar", scalar: field.scalar };
    case "enum":
      return { kind: "enum", desc: field.enum };
    case "message":
      return { kind: "message", desc: field.message };
  }
}

function mapValue(field: DescField & { fieldKind: "map" }): Target {
  switch (field.mapKind) {
    case "scalar":
      return { kind: "scalar", scalar: field.scalar };
    case "enum":
      return { kind: "enum", desc: field.enum };
    case "message":
      return { kind: "message", desc: field.message };
  }
}

/** Mirrors PGV's resolveRules: which template renders a value of `target`. */
function compileValueCheck(fr: FieldRules | undefined, target: Target): ValueCheck | undefined {
  const type = fr?.type ?? { case: undefined };
  if (target.kind === "message") return compileMessageValue(fr, type, target.desc);
  if (target.kind === "enum") return type.case === "enum" ? compileEnum(type.value, target.desc) : undefined;
  return compileScalar(type, target.scalar);
}

function compileMessageValue(fr: FieldRules | undefined, type: FieldRules["type"], desc: DescMessage): ValueCheck | undefined {
  switch (type.case) {
    case undefined:
      return compileEmbedded(fr?.message, desc);
    case "duration":
      return desc.typeName === "google.protobuf.Duration" ? compileDuration(type.value) : undefined;
    case "timestamp":
      return desc.typeName === "google.protobuf.Timestamp" ? compileTimestamp(type.value) : undefined;
    case "any":
      return desc.typeName === "google.protobuf.Any" ? compileAny(type.value) : undefined;
    default:
      return WRAPPERS.has(desc.typeName) ? compileWrapper(fr, type, desc) : undefined;
  }
}

/** Messages generated without PGV have no Validate() for Go to call. */
function hasGoValidate(desc: DescMessage): boolean {
  return !/^(google|validate|protoc-gen-openapiv2)\//.test(desc.file.name);
}

function compileEmbedded(rules: MessageRules | undefined, desc: DescMessage): ValueCheck | undefined {
  const required = rules?.required === true;
  const recurse = rules?.skip !== true && hasGoValidate(desc);
  if (!required && !recurse) return undefined;
  let compiled: CompiledMessage | undefined;
  return (value, depth) => {
    if (value === undefined) return required ? REQUIRED : undefined;
    if (!recurse) return undefined;
    compiled ??= compiledFor(desc);
    if (compiled.steps.length === 0) return undefined;
    if (depth >= MAX_DEPTH) return TOO_DEEP;
    const nested = runMessage(compiled, value as Fields, depth + 1);
    if (nested === undefined || nested instanceof Fatal) return nested;
    return { reason: "embedded message failed validation", cause: nested };
  };
}

const WRAPPERS = new Set(
  ["Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes"].map((n) => `google.protobuf.${n}Value`),
);

/** protobuf-es unboxes singular wrapper fields; oneof members and list items stay boxed. */
function compileWrapper(fr: FieldRules | undefined, type: FieldRules["type"], desc: DescMessage): ValueCheck | undefined {
  const valueField = desc.fields[0];
  if (valueField?.fieldKind !== "scalar") return undefined;
  const inner = compileScalar(type, valueField.scalar);
  const required = fr?.message?.required === true;
  if (inner === undefined && !required) return undefined;
  return (value, depth) => {
    if (value === undefined) return required ? { reason: "value is required and must not be nil." } : undefined;
    const unboxed = isBoxed(value) ? value.value : value;
    return inner?.(unboxed, depth);
  };
}

function isBoxed(value: unknown): value is { value: unknown } {
  return typeof value === "object" && value !== null && "$typeName" in value;
}

function compileScalar(type: FieldRules["type"], scalar: ScalarType): ValueCheck | undefined {
  switch (type.case) {
    case "string":
      return scalar === ScalarType.STRING ? compileString(type.value) : undefined;
    case "bytes":
      return scalar === ScalarType.BYTES ? compileBytes(type.value) : undefined;
    case "bool":
      return scalar === ScalarType.BOOL ? compileBool(type.value) : undefined;
    case "float":
    case "double":
    case "int32":
    case "int64":
    case "uint32":
    case "uint64":
    case "sint32":
    case "sint64":
    case "fixed32":
    case "fixed64":
    case "sfixed32":
    case "sfixed64":
      return compileNumeric(type.case, type.value as unknown as NumericRules);
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------
// Presence of proto2 rule fields (Go templates test the pointer, not the value)

const ruleDescs = new Map<string, DescMessage>(
  FieldRulesSchema.fields.flatMap((f) => (f.message === undefined ? [] : [[f.message.typeName, f.message] as const])),
);

function has(rule: Message, localName: string): boolean {
  const field = ruleDescs.get(rule.$typeName)?.fields.find((f) => f.localName === localName);
  return field !== undefined && isFieldSet(rule, field);
}

// ---------------------------------------------------------------------------
// Repeated and map (goshared/repeated.go, goshared/map.go)

function countCheck(min: bigint, max: bigint, maxSet: boolean, noun: "item" | "pair"): ((n: number) => Reason) | undefined {
  // `{{ if $r.GetMinItems }}` tests the value; `{{ else if $r.MaxItems }}` the pointer.
  if (min !== 0n) {
    if (min === max) return (n) => (BigInt(n) !== min ? `value must contain exactly ${min} ${noun}(s)` : undefined);
    if (maxSet) {
      return (n) => (BigInt(n) < min || BigInt(n) > max ? `value must contain between ${min} and ${max} ${noun}s, inclusive` : undefined);
    }
    return (n) => (BigInt(n) < min ? `value must contain at least ${min} ${noun}(s)` : undefined);
  }
  if (maxSet) return (n) => (BigInt(n) > max ? `value must contain no more than ${max} ${noun}(s)` : undefined);
  return undefined;
}

function compileListCheck(fr: FieldRules | undefined, element: Target): ValueCheck | undefined {
  if (fr?.type.case === "repeated") return compileRepeated(fr.type.value, element);
  if (fr !== undefined && fr.type.case !== undefined) return undefined;
  const items = compileValueCheck(undefined, element);
  return items === undefined ? undefined : listLoop(undefined, items);
}

function compileRepeated(r: RepeatedRules, element: Target): ValueCheck | undefined {
  const count = countCheck(r.minItems, r.maxItems, has(r, "maxItems"), "item");
  const items = compileValueCheck(r.items, element);
  const loop = r.unique || items !== undefined ? listLoop(r.unique ? uniqueKey : undefined, items) : undefined;
  if (count === undefined && loop === undefined) return undefined;
  return (value, depth) => {
    const list = value as readonly unknown[];
    if (r.ignoreEmpty && list.length === 0) return undefined;
    const reason = count?.(list.length);
    if (reason !== undefined) return { reason };
    return loop?.(list, depth);
  };
}

function listLoop(unique: ((item: unknown) => unknown) | undefined, items: ValueCheck | undefined): ValueCheck {
  return (value, depth) => {
    const list = value as readonly unknown[];
    const seen = unique === undefined ? undefined : new Set<unknown>();
    for (let i = 0; i < list.length; i++) {
      const item = list[i];
      if (seen !== undefined && unique !== undefined) {
        const key = unique(item);
        if (seen.has(key)) return { reason: "repeated value must contain unique items", index: String(i) };
        seen.add(key);
      }
      const outcome = items?.(item, depth);
      if (outcome !== undefined) return outcome instanceof Fatal ? outcome : { ...outcome, index: String(i) };
    }
    return undefined;
  };
}

function uniqueKey(item: unknown): unknown {
  if (item instanceof Uint8Array) return Buffer.from(item).toString("latin1");
  // Go map keys never match NaN, so every NaN is unique.
  return typeof item === "number" && Number.isNaN(item) ? Symbol() : item;
}

function compileMapCheck(fr: FieldRules | undefined, field: DescField & { fieldKind: "map" }): ValueCheck | undefined {
  const keyType: Target = { kind: "scalar", scalar: field.mapKey };
  if (fr?.type.case === "map") return compileMapRules(fr.type.value, field.mapKey, keyType, mapValue(field));
  if (fr?.type.case !== undefined || field.mapKind !== "message") return undefined;
  const values = compileValueCheck(undefined, mapValue(field));
  return values === undefined ? undefined : mapLoop(field.mapKey, undefined, values);
}

function compileMapRules(r: MapRules, keyScalar: ScalarType, keyType: Target, valueType: Target): ValueCheck | undefined {
  const count = countCheck(r.minPairs, r.maxPairs, has(r, "maxPairs"), "pair");
  const keys = compileValueCheck(r.keys, keyType);
  const values = compileValueCheck(r.values, valueType);
  const loop = keys !== undefined || values !== undefined ? mapLoop(keyScalar, keys, values) : undefined;
  if (count === undefined && loop === undefined) return undefined;
  return (value, depth) => {
    const size = Object.keys(value as object).length;
    if (r.ignoreEmpty && size === 0) return undefined;
    const reason = count?.(size);
    if (reason !== undefined) return { reason };
    return loop?.(value, depth);
  };
}

/** Newer PGV sorts map keys so the first failure is deterministic. */
function mapLoop(keyScalar: ScalarType, keys: ValueCheck | undefined, values: ValueCheck | undefined): ValueCheck {
  const toKey = mapKeyConverter(keyScalar);
  return (value, depth) => {
    const map = value as Record<string, unknown>;
    const entries = Object.keys(map).map((k) => [k, toKey(k)] as const);
    entries.sort((a, b) => compareKeys(a[1], b[1]));
    for (const [raw, key] of entries) {
      const outcome = keys?.(key, depth) ?? values?.(map[raw], depth);
      if (outcome !== undefined) return outcome instanceof Fatal ? outcome : { ...outcome, index: raw };
    }
    return undefined;
  };
}

function mapKeyConverter(scalar: ScalarType): (key: string) => string | number | bigint | boolean {
  switch (scalar) {
    case ScalarType.STRING:
      return (k) => k;
    case ScalarType.BOOL:
      return (k) => k === "true";
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return (k) => BigInt(k);
    default:
      return (k) => Number(k);
  }
}

function compareKeys(a: string | number | bigint | boolean, b: string | number | bigint | boolean): number {
  if (typeof a === "string" && typeof b === "string") return compareUtf8(a, b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Go compares strings bytewise; code point order equals UTF-8 byte order. */
function compareUtf8(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i]?.codePointAt(0) ?? 0) - (y[i]?.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

// ---------------------------------------------------------------------------
// Strings (goshared/string.go, goshared/known.go)

function compileString(r: StringRules): ValueCheck | undefined {
  const checks: ((s: string) => Reason)[] = [];
  if (has(r, "const")) checks.push((s) => (s !== r.const ? `value must equal ${r.const}` : undefined));
  const inList = membership(r.in, r.notIn, (v) => v);
  if (inList !== undefined) checks.push(inList);
  pushLength(checks, r, runeCount, "runes", ["len", "minLen", "maxLen"]);
  pushLength(checks, r, utf8Length, "bytes", ["lenBytes", "minBytes", "maxBytes"]);
  pushAffixes(checks, r);
  const wellKnown = stringWellKnown(r);
  if (wellKnown !== undefined) checks.push(wellKnown);
  if (has(r, "pattern")) {
    const re = goRegExp(r.pattern);
    checks.push((s) => (re.test(s) ? undefined : `value does not match regex pattern ${goQuote(r.pattern)}`));
  }
  const run = firstOf(checks);
  if (run === undefined) return undefined;
  return (value) => {
    const s = value as string;
    return r.ignoreEmpty && s === "" ? undefined : run(s);
  };
}

function pushLength<R extends Message>(
  checks: ((s: string) => Reason)[],
  r: R,
  measure: (s: string) => number,
  unit: "runes" | "bytes",
  [lenName, minName, maxName]: readonly [keyof R & string, keyof R & string, keyof R & string],
): void {
  const len = r[lenName] as bigint;
  const min = r[minName] as bigint;
  const max = r[maxName] as bigint;
  const [hasLen, hasMin, hasMax] = [has(r, lenName), has(r, minName), has(r, maxName)];
  const check = lengthCheck(hasLen, hasMin, hasMax, len, min, max, unit);
  if (check !== undefined) checks.push((s) => check(measure(s)));
}

function lengthCheck(
  hasLen: boolean,
  hasMin: boolean,
  hasMax: boolean,
  len: bigint,
  min: bigint,
  max: bigint,
  unit: "runes" | "bytes",
): ((n: number) => Reason) | undefined {
  if (hasLen || (hasMin && hasMax && min === max)) {
    const exact = hasLen ? len : min;
    return (n) => (BigInt(n) !== exact ? `value length must be ${exact} ${unit}` : undefined);
  }
  if (hasMin && hasMax) {
    return (n) => (BigInt(n) < min || BigInt(n) > max ? `value length must be between ${min} and ${max} ${unit}, inclusive` : undefined);
  }
  if (hasMin) return (n) => (BigInt(n) < min ? `value length must be at least ${min} ${unit}` : undefined);
  if (hasMax) return (n) => (BigInt(n) > max ? `value length must be at most ${max} ${unit}` : undefined);
  return undefined;
}

function pushAffixes(checks: ((s: string) => Reason)[], r: StringRules): void {
  if (has(r, "prefix")) checks.push((s) => (s.startsWith(r.prefix) ? undefined : `value does not have prefix ${goQuote(r.prefix)}`));
  if (has(r, "suffix")) checks.push((s) => (s.endsWith(r.suffix) ? undefined : `value does not have suffix ${goQuote(r.suffix)}`));
  if (has(r, "contains")) {
    checks.push((s) => (s.includes(r.contains) ? undefined : `value does not contain substring ${goQuote(r.contains)}`));
  }
  if (has(r, "notContains")) {
    checks.push((s) => (s.includes(r.notContains) ? `value contains substring ${goQuote(r.notContains)}` : undefined));
  }
}

/** uri, uri_ref and well_known_regex are not implemented (unused by ZITADEL's v1 APIs). */
function stringWellKnown(r: StringRules): ((s: string) => Reason) | undefined {
  const wk = r.wellKnown;
  if (wk.case === undefined || wk.value === false) return undefined;
  switch (wk.case) {
    case "ip":
      return (s) => (parseIP(s) === undefined ? "value must be a valid IP address" : undefined);
    case "ipv4":
      return (s) => (parseIP(s)?.v4 !== true ? "value must be a valid IPv4 address" : undefined);
    case "ipv6":
      return (s) => (parseIP(s)?.v4 !== false ? "value must be a valid IPv6 address" : undefined);
    case "email":
      return withCause("value must be a valid email address", emailError);
    case "hostname":
      return withCause("value must be a valid hostname", hostnameError);
    case "address":
      return (s) =>
        hostnameError(s) !== undefined && parseIP(s) === undefined ? "value must be a valid hostname, or ip address" : undefined;
    case "uuid":
      return withCause("value must be a valid UUID", (s) => (UUID.test(s) ? undefined : "invalid uuid format"));
    default:
      return undefined;
  }
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Encodes a `reason | caused by: cause` pair as one reason string. */
function withCause(reason: string, error: (s: string) => string | undefined): (s: string) => Reason {
  return (s) => {
    const cause = error(s);
    return cause === undefined ? undefined : `${reason} | caused by: ${cause}`;
  };
}

function runeCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A surrogate pair is one code point; a lone surrogate counts as one (U+FFFD in Go).
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/** Go RE2 syntax is close enough to JS `u` regexps for PGV patterns. */
function goRegExp(pattern: string): RegExp {
  return new RegExp(pattern, "u");
}

// ---------------------------------------------------------------------------
// Bytes, bool, enum, numbers (goshared/bytes.go, const.go, in.go, enum.go, num.go, ltgt.go)

function compileBytes(r: BytesRules): ValueCheck | undefined {
  const checks: ((b: Uint8Array) => Reason)[] = [];
  const check = lengthCheck(has(r, "len"), has(r, "minLen"), has(r, "maxLen"), r.len, r.minLen, r.maxLen, "bytes");
  if (check !== undefined) checks.push((b) => check(b.length));
  // []byte options are tested for length, not presence, by `{{ if $r.Prefix }}`.
  if (r.prefix.length > 0) checks.push((b) => (startsWith(b, r.prefix) ? undefined : `value does not have prefix ${byteStr(r.prefix)}`));
  if (r.suffix.length > 0) checks.push((b) => (endsWith(b, r.suffix) ? undefined : `value does not have suffix ${byteStr(r.suffix)}`));
  if (r.contains.length > 0) checks.push((b) => (indexOf(b, r.contains) ? undefined : `value does not contain ${byteStr(r.contains)}`));
  const inList = membership(r.in.map(latin1), r.notIn.map(latin1), () => "", goBytesList(r.in), goBytesList(r.notIn));
  if (inList !== undefined) checks.push((b) => inList(latin1(b)));
  if (r.const.length > 0) checks.push((b) => (latin1(b) === latin1(r.const) ? undefined : `value must equal ${goBytes(r.const)}`));
  const wellKnown = bytesWellKnown(r);
  if (wellKnown !== undefined) checks.push(wellKnown);
  if (has(r, "pattern")) {
    const re = goRegExp(r.pattern);
    const decoder = new TextDecoder();
    checks.push((b) => (re.test(decoder.decode(b)) ? undefined : `value does not match regex pattern ${goQuote(r.pattern)}`));
  }
  const run = firstOf(checks);
  if (run === undefined) return undefined;
  return (value) => {
    const b = value as Uint8Array;
    return r.ignoreEmpty && b.length === 0 ? undefined : run(b);
  };
}

function bytesWellKnown(r: BytesRules): ((b: Uint8Array) => Reason) | undefined {
  const wk = r.wellKnown;
  if (wk.case === undefined || !wk.value) return undefined;
  switch (wk.case) {
    case "ip":
      return (b) => (b.length === 4 || b.length === 16 ? undefined : "value must be a valid IP address");
    case "ipv4":
      return (b) => (b.length === 4 || (b.length === 16 && isV4Mapped(b)) ? undefined : "value must be a valid IPv4 address");
    case "ipv6":
      return (b) => (b.length === 16 && !isV4Mapped(b) ? undefined : "value must be a valid IPv6 address");
  }
}

function isV4Mapped(b: Uint8Array): boolean {
  return b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
}

function startsWith(b: Uint8Array, p: Uint8Array): boolean {
  return b.length >= p.length && latin1(b.subarray(0, p.length)) === latin1(p);
}

function endsWith(b: Uint8Array, p: Uint8Array): boolean {
  return b.length >= p.length && latin1(b.subarray(b.length - p.length)) === latin1(p);
}

function indexOf(b: Uint8Array, p: Uint8Array): boolean {
  return latin1(b).includes(latin1(p));
}

function compileBool(r: { const: boolean } & Message): ValueCheck | undefined {
  if (!has(r, "const")) return undefined;
  return (value) => (value !== r.const ? { reason: `value must equal ${r.const}` } : undefined);
}

/** in.go: `not_in` is only consulted when `in` is empty. */
function membership<T>(
  inList: readonly T[],
  notInList: readonly T[],
  format: (v: T) => string,
  inText = goList(inList.map(format)),
  notInText = goList(notInList.map(format)),
): ((v: T) => Reason) | undefined {
  if (inList.length > 0) {
    const set = new Set(inList);
    return (v) => (set.has(v) ? undefined : `value must be in list ${inText}`);
  }
  if (notInList.length > 0) {
    const set = new Set(notInList);
    return (v) => (set.has(v) ? `value must not be in list ${notInText}` : undefined);
  }
  return undefined;
}

/** enum.go: const, in/not_in, then defined_only. */
function compileEnum(r: EnumRules, desc: DescEnum): ValueCheck | undefined {
  const checks: ((v: number) => Reason)[] = [];
  if (has(r, "const")) checks.push((v) => (v !== r.const ? `value must equal ${r.const}` : undefined));
  const inList = membership(r.in, r.notIn, String);
  if (inList !== undefined) checks.push(inList);
  if (r.definedOnly) {
    const defined = new Set(desc.values.map((v) => v.number));
    checks.push((v) => (defined.has(v) ? undefined : "value must be one of the defined enum values"));
  }
  const run = firstOf(checks);
  return run === undefined ? undefined : (value) => run(value as number);
}

type NumericCase =
  | "float"
  | "double"
  | "int32"
  | "int64"
  | "uint32"
  | "uint64"
  | "sint32"
  | "sint64"
  | "fixed32"
  | "fixed64"
  | "sfixed32"
  | "sfixed64";
type Num = number | bigint;

interface NumericRules extends Message {
  const: Num;
  lt: Num;
  lte: Num;
  gt: Num;
  gte: Num;
  in: Num[];
  notIn: Num[];
  ignoreEmpty: boolean;
}

interface Bound<T> {
  readonly value: T;
  readonly text: string;
}

interface Bounds<T> {
  readonly lt?: Bound<T>;
  readonly lte?: Bound<T>;
  readonly gt?: Bound<T>;
  readonly gte?: Bound<T>;
}

function compileNumeric(kind: NumericCase, r: NumericRules): ValueCheck | undefined {
  // int64-like values may arrive as bigint, or as string/number under a jstype option.
  const normalize = /64$/.test(kind) ? (v: unknown): Num => BigInt(v as Num | string) : (v: unknown): Num => v as number;
  const format = numberFormat(kind);
  const bound = (name: "lt" | "lte" | "gt" | "gte"): Bound<Num> | undefined =>
    has(r, name) ? { value: r[name], text: format(r[name]) } : undefined;
  const checks: ((v: Num) => Reason)[] = [];
  if (has(r, "const")) checks.push((v) => (v !== r.const ? `value must equal ${format(r.const)}` : undefined));
  const range = rangeCheck({ lt: bound("lt"), lte: bound("lte"), gt: bound("gt"), gte: bound("gte") });
  if (range !== undefined) checks.push(range);
  const inList = membership(r.in, r.notIn, format);
  if (inList !== undefined) checks.push(inList);
  const run = firstOf(checks);
  if (run === undefined) return undefined;
  return (value) => {
    const v = normalize(value);
    return r.ignoreEmpty && (v === 0 || v === 0n) ? undefined : run(v);
  };
}

function numberFormat(kind: NumericCase): (v: Num) => string {
  if (kind === "float") return (v) => goFloat32(Number(v));
  if (kind === "double") return (v) => goFloat64(Number(v));
  return String;
}

/** ltgt.go (and its duration/timestamp twins); bound ordering was decided at generation time. */
function rangeCheck<T extends Num>({ lt, lte, gt, gte }: Bounds<T>): ((v: T) => Reason) | undefined {
  if (lt !== undefined) {
    if (gt !== undefined) {
      return lt.value > gt.value
        ? (v) => (v <= gt.value || v >= lt.value ? `value must be inside range (${gt.text}, ${lt.text})` : undefined)
        : (v) => (v >= lt.value && v <= gt.value ? `value must be outside range [${lt.text}, ${gt.text}]` : undefined);
    }
    if (gte !== undefined) {
      return lt.value > gte.value
        ? (v) => (v < gte.value || v >= lt.value ? `value must be inside range [${gte.text}, ${lt.text})` : undefined)
        : (v) => (v >= lt.value && v < gte.value ? `value must be outside range [${lt.text}, ${gte.text})` : undefined);
    }
    return (v) => (v >= lt.value ? `value must be less than ${lt.text}` : undefined);
  }
  if (lte !== undefined) {
    if (gt !== undefined) {
      return lte.value > gt.value
        ? (v) => (v <= gt.value || v > lte.value ? `value must be inside range (${gt.text}, ${lte.text}]` : undefined)
        : (v) => (v > lte.value && v <= gt.value ? `value must be outside range (${lte.text}, ${gt.text}]` : undefined);
    }
    if (gte !== undefined) {
      return lte.value > gte.value
        ? (v) => (v < gte.value || v > lte.value ? `value must be inside range [${gte.text}, ${lte.text}]` : undefined)
        : (v) => (v > lte.value && v < gte.value ? `value must be outside range (${lte.text}, ${gte.text})` : undefined);
    }
    return (v) => (v > lte.value ? `value must be less than or equal to ${lte.text}` : undefined);
  }
  if (gt !== undefined) return (v) => (v <= gt.value ? `value must be greater than ${gt.text}` : undefined);
  if (gte !== undefined) return (v) => (v < gte.value ? `value must be greater than or equal to ${gte.text}` : undefined);
  return undefined;
}

// ---------------------------------------------------------------------------
// Well-known message types (go/duration.go, go/timestamp.go, goshared/any.go)

function compileDuration(r: DurationRules): ValueCheck | undefined {
  const compares = r.in.length > 0 || r.notIn.length > 0 || ["lt", "lte", "gt", "gte", "const"].some((n) => has(r, n));
  if (!r.required && !compares) return undefined;
  const bound = (d: Duration | undefined): Bound<bigint> | undefined =>
    d === undefined ? undefined : { value: durationNanos(d), text: goDuration(durationNanos(d)) };
  const checks: ((nanos: bigint) => Reason)[] = [];
  const constant = bound(r.const);
  if (constant !== undefined) checks.push((d) => (d !== constant.value ? `value must equal ${constant.text}` : undefined));
  const range = rangeCheck({ lt: bound(r.lt), lte: bound(r.lte), gt: bound(r.gt), gte: bound(r.gte) });
  if (range !== undefined) checks.push(range);
  const inList = membership(
    r.in.map(durationNanos),
    r.notIn.map(durationNanos),
    () => "",
    goList(r.in.map(protoTextDuration)),
    goList(r.notIn.map(protoTextDuration)),
  );
  if (inList !== undefined) checks.push(inList);
  const run = firstOf(checks);
  return (value) => {
    if (value === undefined) return r.required ? REQUIRED : undefined;
    if (!compares || run === undefined) return undefined;
    const d = value as Duration;
    const invalid = durationError(d);
    if (invalid !== undefined) return { reason: "value is not a valid duration", cause: invalid };
    return run(durationNanos(d));
  };
}

function compileTimestamp(r: TimestampRules): ValueCheck | undefined {
  const compares = ["lt", "lte", "gt", "gte", "ltNow", "gtNow", "within", "const"].some((n) => has(r, n));
  if (!r.required && !compares) return undefined;
  const bound = (t: Timestamp | undefined): Bound<bigint> | undefined =>
    t === undefined ? undefined : { value: timestampNanos(t), text: goTime(t) };
  const checks: ((nanos: bigint) => Reason)[] = [];
  const constant = bound(r.const);
  if (constant !== undefined) checks.push((t) => (t !== constant.value ? `value must equal ${constant.text}` : undefined));
  const range = rangeCheck({ lt: bound(r.lt), lte: bound(r.lte), gt: bound(r.gt), gte: bound(r.gte) }) ?? nowCheck(r);
  if (range !== undefined) checks.push(range);
  const run = firstOf(checks);
  return (value) => {
    if (value === undefined) return r.required ? REQUIRED : undefined;
    if (!compares || run === undefined) return undefined;
    const t = value as Timestamp;
    const invalid = timestampError(t);
    if (invalid !== undefined) return { reason: "value is not a valid timestamp", cause: invalid };
    return run(timestampNanos(t));
  };
}

/** The lt_now/gt_now/within branches only run when no absolute bound is set. */
function nowCheck(r: TimestampRules): ((t: bigint) => Reason) | undefined {
  const within = r.within === undefined ? undefined : durationNanos(r.within);
  const withinText = r.within === undefined ? "" : goDuration(durationNanos(r.within));
  const now = () => BigInt(Date.now()) * 1_000_000n;
  if (has(r, "ltNow")) {
    if (within !== undefined) {
      return (t) => (t >= now() || t < now() - within ? `value must be less than now within ${withinText}` : undefined);
    }
    return (t) => (t >= now() ? "value must be less than now" : undefined);
  }
  if (has(r, "gtNow")) {
    if (within !== undefined) {
      return (t) => (t <= now() || t > now() + within ? `value must be greater than now within ${withinText}` : undefined);
    }
    return (t) => (t <= now() ? "value must be greater than now" : undefined);
  }
  if (within !== undefined) {
    return (t) => (t >= now() + within || t <= now() - within ? `value must be within ${withinText} of now` : undefined);
  }
  return undefined;
}

function compileAny(r: AnyRules): ValueCheck | undefined {
  const inList = membership(r.in, r.notIn, (v) => v);
  if (!r.required && inList === undefined) return undefined;
  return (value) => {
    if (value === undefined) return r.required ? REQUIRED : undefined;
    const reason = inList?.((value as { typeUrl: string }).typeUrl);
    return reason === undefined ? undefined : { reason: reason.replace(/^value/, "type URL") };
  };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MAX_DURATION_SECONDS = 315_576_000_000n;

/** durationpb.AsDuration saturates at the int64 nanosecond range. */
function durationNanos(d: Duration): bigint {
  const n = d.seconds * 1_000_000_000n + BigInt(d.nanos);
  return n < INT64_MIN ? INT64_MIN : n > INT64_MAX ? INT64_MAX : n;
}

function timestampNanos(t: Timestamp): bigint {
  return t.seconds * 1_000_000_000n + BigInt(t.nanos);
}

/** durationpb.CheckValid; Go randomises the "proto:" separator, a plain space is used here. */
function durationError(d: Duration): string | undefined {
  const text = protoTextDuration(d);
  if (d.seconds < -MAX_DURATION_SECONDS) return `proto: duration (${text}) exceeds -10000 years`;
  if (d.seconds > MAX_DURATION_SECONDS) return `proto: duration (${text}) exceeds +10000 years`;
  if (d.nanos <= -1e9 || d.nanos >= 1e9) return `proto: duration (${text}) has out-of-range nanos`;
  if ((d.seconds > 0n && d.nanos < 0) || (d.seconds < 0n && d.nanos > 0)) {
    return `proto: duration (${text}) has seconds and nanos with different signs`;
  }
  return undefined;
}

function timestampError(t: Timestamp): string | undefined {
  const text = protoTextSecondsNanos(t.seconds, t.nanos);
  if (t.seconds < -62_135_596_800n) return `proto: timestamp (${text}) before 0001-01-01`;
  if (t.seconds > 253_402_300_799n) return `proto: timestamp (${text}) after 9999-12-31`;
  if (t.nanos < 0 || t.nanos >= 1e9) return `proto: timestamp (${text}) has out-of-range nanos`;
  return undefined;
}

function protoTextDuration(d: Duration): string {
  return protoTextSecondsNanos(d.seconds, d.nanos);
}

function protoTextSecondsNanos(seconds: bigint, nanos: number): string {
  const parts = [seconds !== 0n ? `seconds:${seconds}` : "", nanos !== 0 ? `nanos:${nanos}` : ""];
  return parts.filter((p) => p !== "").join(" ");
}

// ---------------------------------------------------------------------------
// Go formatting (fmt.Sprint, strconv.Quote, time.Duration.String, time.Time.String)

function goList(items: readonly string[]): string {
  return `[${items.join(" ")}]`;
}

function goBytes(b: Uint8Array): string {
  return goList([...b].map(String));
}

function goBytesList(list: readonly Uint8Array[]): string {
  return goList(list.map(goBytes));
}

/** PGV's byteStr: `\x%X` per byte, so no zero padding. */
function byteStr(b: Uint8Array): string {
  return `"${[...b].map((x) => `\\x${x.toString(16).toUpperCase()}`).join("")}"`;
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const NAMED_ESCAPES: Readonly<Record<number, string>> = { 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r" };

function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) out += ch === '"' ? '\\"' : escapeRune(ch);
  return `${out}"`;
}

function goQuoteRune(ch: string): string {
  return `'${ch === "'" ? "\\'" : escapeRune(ch)}'`;
}

function escapeRune(ch: string): string {
  let cp = ch.codePointAt(0) ?? 0;
  if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
  if (ch === "\\") return "\\\\";
  if (PRINTABLE.test(String.fromCodePoint(cp))) return String.fromCodePoint(cp);
  const named = NAMED_ESCAPES[cp];
  if (named !== undefined) return named;
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, "0")}`;
  return cp < 0x10000 ? `\\u${cp.toString(16).padStart(4, "0")}` : `\\U${cp.toString(16).padStart(8, "0")}`;
}

function goFloat64(x: number): string {
  return goFloat(x, (v) => v.toExponential());
}

/** Shortest digits that round-trip through float32, as Go prints float32 values. */
function goFloat32(x: number): string {
  return goFloat(x, (v) => {
    for (let p = 0; p < 9; p++) {
      const e = v.toExponential(p);
      if (Math.fround(Number(e)) === v) return e;
    }
    return v.toExponential(8);
  });
}

/** fmt's %v for floats: strconv 'g' with shortest digits, exponent form when exp < -4 || exp >= 6. */
function goFloat(x: number, shortest: (v: number) => string): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "+Inf" : "-Inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const sign = x < 0 ? "-" : "";
  const [mantissa = "", expText = "0"] = shortest(Math.abs(x)).split("e");
  const digits = mantissa.replace(".", "");
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : "";
    const e = Math.abs(exp).toString().padStart(2, "0");
    return `${sign}${digits[0] ?? ""}${frac}e${exp < 0 ? "-" : "+"}${e}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  const fracPart = digits.slice(exp + 1);
  return `${sign}${intPart}${fracPart === "" ? "" : `.${fracPart}`}`;
}

/** time.Duration.String */
function goDuration(nanos: bigint): string {
  if (nanos === 0n) return "0s";
  const sign = nanos < 0n ? "-" : "";
  const u = nanos < 0n ? -nanos : nanos;
  if (u < 1_000_000_000n) {
    if (u < 1_000n) return `${sign}${u}ns`;
    if (u < 1_000_000n) return `${sign}${fraction(u, 3)}µs`;
    return `${sign}${fraction(u, 6)}ms`;
  }
  const seconds = fraction(u % 60_000_000_000n, 9);
  const minutes = u / 60_000_000_000n;
  if (minutes === 0n) return `${sign}${seconds}s`;
  const hours = minutes / 60n;
  return hours === 0n ? `${sign}${minutes}m${seconds}s` : `${sign}${hours}h${minutes % 60n}m${seconds}s`;
}

/** v / 10^prec with trailing zeros (and a bare point) dropped, like time's fmtFrac. */
function fraction(v: bigint, prec: number): string {
  const scale = 10n ** BigInt(prec);
  const frac = (v % scale).toString().padStart(prec, "0").replace(/0+$/, "");
  return `${v / scale}${frac === "" ? "" : `.${frac}`}`;
}

/** time.Time.String for a UTC instant: "2006-01-02 15:04:05.999999999 +0000 UTC". */
function goTime(t: Timestamp): string {
  const date = new Date(Number(t.seconds) * 1000);
  const pad = (n: number, w = 2) => n.toString().padStart(w, "0");
  const day = `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
  const clock = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  const nanos = t.nanos.toString().padStart(9, "0").replace(/0+$/, "");
  return `${day} ${clock}${nanos === "" ? "" : `.${nanos}`} +0000 UTC`;
}

// ---------------------------------------------------------------------------
// Go identifiers (protoc-gen-star pgsgo: Name, PGGUpperCamelCase, joinChild)

const PROTECTED_NAMES = new Set([
  "Reset",
  "String",
  "ProtoMessage",
  "Marshal",
  "Unmarshal",
  "ExtensionRangeArray",
  "ExtensionMap",
  "Descriptor",
]);

function goFieldName(protoName: string): string {
  const name = goCamelCase(protoName);
  return PROTECTED_NAMES.has(name) ? `${name}_` : name;
}

function goMessageName(desc: DescMessage): string {
  if (desc.parent === undefined) return goCamelCase(desc.name);
  const parent = goMessageName(desc.parent);
  return /^\p{Ll}/u.test(desc.name) ? `${parent}${goCamelCase(desc.name)}` : `${parent}_${goCamelCase(desc.name)}`;
}

const isLower = (c: string | undefined) => c !== undefined && c >= "a" && c <= "z";
const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";

/** golang/protobuf generator.CamelCase. */
function goCamelCase(s: string): string {
  let out = "";
  let i = 0;
  if (s.startsWith("_")) {
    out = "X";
    i = 1;
  }
  for (; i < s.length; i++) {
    const c = s[i] ?? "";
    if (c === "_" && isLower(s[i + 1])) continue;
    if (isDigit(c)) {
      out += c;
      continue;
    }
    out += isLower(c) ? c.toUpperCase() : c;
    while (isLower(s[i + 1])) out += s[++i] ?? "";
  }
  return out;
}

// ---------------------------------------------------------------------------
// IP addresses (net.ParseIP)

interface ParsedIP {
  /** ip.To4() != nil: an IPv4 address or an IPv4-mapped IPv6 address. */
  readonly v4: boolean;
}

function parseIP(s: string): ParsedIP | undefined {
  if (isIPv4(s)) return { v4: true };
  if (s.includes("%") || !isIPv6(s)) return undefined;
  try {
    const canonical = new URL(`http://[${s}]/`).hostname;
    return { v4: /^\[::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}\]$/.test(canonical) };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Email and hostname (known.go, on top of Go's net/mail.ParseAddress)

/** _validateHostname */
function hostnameError(host: string): string | undefined {
  const s = goToLower(host.endsWith(".") ? host.slice(0, -1) : host);
  if (utf8Length(host) > 253) return "hostname cannot exceed 253 characters";
  for (const part of s.split(".")) {
    const l = utf8Length(part);
    if (l === 0 || l > 63) return "hostname part must be non-empty and cannot exceed 63 characters";
    if (part.startsWith("-")) return "hostname parts cannot begin with hyphens";
    if (part.endsWith("-")) return "hostname parts cannot end with hyphens";
    for (const ch of part) {
      if (!/^[a-z0-9-]$/.test(ch)) return `hostname parts can only contain alphanumeric characters or hyphens, got ${goQuote(ch)}`;
    }
  }
  return undefined;
}

/** strings.ToLower maps rune by rune (simple case mapping, no final-sigma context). */
function goToLower(s: string): string {
  let out = "";
  for (const ch of s) out += [...ch.toLowerCase()][0] ?? ch;
  return out;
}

/** _validateEmail */
function emailError(addr: string): string | undefined {
  let address: string;
  try {
    address = new AddressParser(addr).parseSingleAddress();
  } catch (e) {
    if (e instanceof MailError) return e.message;
    throw e;
  }
  if (utf8Length(address) > 254) return "email addresses cannot exceed 254 characters";
  const at = address.indexOf("@");
  if (utf8Length(address.slice(0, at)) > 64) return "email address local phrase cannot exceed 64 characters";
  return hostnameError(address.slice(at + 1));
}

class MailError extends Error {}

const SPECIALS = new Set(["(", ")", "<", ">", "[", "]", ":", ";", "@", "\\", ",", '"']);

function isVchar(ch: string): boolean {
  return (ch >= "!" && ch <= "~") || (ch.codePointAt(0) ?? 0) >= 0x80;
}

function isAtext(ch: string, dot: boolean): boolean {
  if (ch === ".") return dot;
  return !SPECIALS.has(ch) && isVchar(ch);
}

const isWSP = (ch: string) => ch === " " || ch === "\t";
const isQtext = (ch: string) => ch !== "\\" && ch !== '"' && isVchar(ch);
const isDtext = (ch: string) => ch !== "[" && ch !== "]" && ch !== "\\" && isVchar(ch);

/** A port of the parts of Go's net/mail addrParser that ParseAddress reaches; errors keep Go's text. */
class AddressParser {
  constructor(private s: string) {}

  parseSingleAddress(): string {
    const addrs = this.parseAddress(true);
    if (!this.skipCFWS()) throw new MailError("mail: misformatted parenthetical comment");
    if (this.s !== "") throw new MailError(`mail: expected single address, got ${goQuote(this.s)}`);
    if (addrs.length === 0) throw new MailError("mail: empty group");
    if (addrs.length > 1) throw new MailError("mail: group with multiple addresses");
    return addrs[0] ?? "";
  }

  private parseAddress(handleGroup: boolean): string[] {
    this.skipSpace();
    if (this.s === "") throw new MailError("mail: no address");
    const spec = this.tryAddrSpec();
    if (spec !== undefined) {
      this.skipSpace();
      if (this.s.startsWith("(")) this.consumeDisplayNameComment();
      return [spec];
    }
    const displayName = this.s.startsWith("<") ? "" : this.consumePhrase();
    this.skipSpace();
    if (handleGroup && this.consume(":")) return this.consumeGroupList();
    if (!this.consume("<")) {
      const atext = [...displayName].every((ch) => isAtext(ch, true));
      throw new MailError(atext ? "mail: missing '@' or angle-addr" : "mail: no angle-addr");
    }
    const angled = this.consumeAddrSpec();
    if (!this.consume(">")) throw new MailError("mail: unclosed angle-addr");
    return [angled];
  }

  private consumeGroupList(): string[] {
    const group: string[] = [];
    this.skipSpace();
    if (this.consume(";")) {
      if (!this.skipCFWS()) throw new MailError("mail: misformatted parenthetical comment");
      return group;
    }
    for (;;) {
      this.skipSpace();
      group.push(...this.parseAddress(false));
      if (!this.skipCFWS()) throw new MailError("mail: misformatted parenthetical comment");
      if (this.consume(";")) {
        if (!this.skipCFWS()) throw new MailError("mail: misformatted parenthetical comment");
        return group;
      }
      if (!this.consume(",")) throw new MailError("mail: expected comma");
    }
  }

  /** Go restores the parser state when the addr-spec attempt fails. */
  private tryAddrSpec(): string | undefined {
    const saved = this.s;
    try {
      return this.consumeAddrSpec();
    } catch (e) {
      if (!(e instanceof MailError)) throw e;
      this.s = saved;
      return undefined;
    }
  }

  private consumeAddrSpec(): string {
    const saved = this.s;
    try {
      return this.addrSpec();
    } catch (e) {
      this.s = saved;
      throw e;
    }
  }

  private addrSpec(): string {
    this.skipSpace();
    if (this.s === "") throw new MailError("mail: no addr-spec");
    let localPart: string;
    if (this.s.startsWith('"')) {
      // Go overwrites any quoted-string error when the result is empty.
      localPart = this.tryQuotedString() ?? "";
      if (localPart === "") throw new MailError("mail: empty quoted string in addr-spec");
    } else {
      localPart = this.consumeAtom(true, false);
    }
    if (!this.consume("@")) throw new MailError("mail: missing @ in addr-spec");
    this.skipSpace();
    if (this.s === "") throw new MailError("mail: no domain in addr-spec");
    const domain = this.s.startsWith("[") ? this.consumeDomainLiteral() : this.consumeAtom(true, false);
    return `${localPart}@${domain}`;
  }

  private tryQuotedString(): string | undefined {
    try {
      return this.consumeQuotedString();
    } catch (e) {
      if (e instanceof MailError) return undefined;
      throw e;
    }
  }

  private consumePhrase(): string {
    const words: string[] = [];
    let isPrevEncoded = false;
    let error: string | undefined;
    for (;;) {
      if (words.length > 0 && !this.skipCFWS()) throw new MailError("mail: misformatted parenthetical comment");
      this.skipSpace();
      if (this.s === "") break;
      const next = this.nextWord();
      if (typeof next === "string") {
        error = next;
        break;
      }
      if (isPrevEncoded && next.encoded) words[words.length - 1] += next.word;
      else words.push(next.word);
      isPrevEncoded = next.encoded;
    }
    if (error !== undefined && words.length === 0) throw new MailError(`mail: missing word in phrase: ${error}`);
    return words.join(" ");
  }

  /** One phrase word, or the error text that ends the phrase. */
  private nextWord(): { word: string; encoded: boolean } | string {
    try {
      if (this.s.startsWith('"')) return { word: this.consumeQuotedString(), encoded: false };
      const atom = this.consumeAtom(true, true);
      const decoded = decodeRfc2047Word(atom);
      return decoded.error ?? { word: decoded.word, encoded: decoded.encoded };
    } catch (e) {
      if (e instanceof MailError) return e.message;
      throw e;
    }
  }

  private consumeQuotedString(): string {
    const chars = [...this.s];
    let out = "";
    let escaped = false;
    let i = 1;
    for (; ; i++) {
      const ch = chars[i];
      if (ch === undefined) throw new MailError("mail: unclosed quoted-string");
      if (escaped) {
        if (!isVchar(ch) && !isWSP(ch)) throw new MailError(`mail: bad character in quoted-string: ${goQuoteRune(ch)}`);
        out += ch;
        escaped = false;
      } else if (isQtext(ch) || isWSP(ch)) {
        out += ch;
      } else if (ch === '"') {
        break;
      } else if (ch === "\\") {
        escaped = true;
      } else {
        throw new MailError(`mail: bad character in quoted-string: ${goQuoteRune(ch)}`);
      }
    }
    this.s = chars.slice(i + 1).join("");
    return out;
  }

  private consumeAtom(dot: boolean, permissive: boolean): string {
    let atom = "";
    for (const ch of this.s) {
      if (!isAtext(ch, dot)) break;
      atom += ch;
    }
    if (atom === "") throw new MailError("mail: invalid string");
    this.s = this.s.slice(atom.length);
    if (!permissive) {
      if (atom.startsWith(".")) throw new MailError("mail: leading dot in atom");
      if (atom.includes("..")) throw new MailError("mail: double dot in atom");
      if (atom.endsWith(".")) throw new MailError("mail: trailing dot in atom");
    }
    return atom;
  }

  private consumeDomainLiteral(): string {
    if (!this.consume("[")) throw new MailError('mail: missing "[" in domain-literal');
    let dtext = "";
    for (const ch of this.s) {
      if (ch === "]") break;
      if (!isDtext(ch)) throw new MailError(`mail: bad character in domain-literal: ${goQuoteRune(ch)}`);
      dtext += ch;
    }
    this.s = this.s.slice(dtext.length);
    if (!this.consume("]")) throw new MailError("mail: unclosed domain-literal");
    if (dtext.startsWith("IPv6:")) {
      // net.ParseIP yields 16 bytes for any valid address, IPv4 included.
      if (parseIP(dtext.slice(5)) === undefined) throw new MailError(`mail: invalid IPv6 address in domain-literal: ${goQuote(dtext)}`);
    } else if (parseIP(dtext)?.v4 !== true) {
      throw new MailError(`mail: invalid IP address in domain-literal: ${goQuote(dtext)}`);
    }
    return `[${dtext}]`;
  }

  private consumeDisplayNameComment(): void {
    this.consume("(");
    const comment = this.consumeComment();
    if (comment === undefined) throw new MailError("mail: misformatted parenthetical comment");
    for (const word of comment.split(/[ \t]+/).filter((w) => w !== "")) {
      // Unlike in a phrase, a charset error in a comment is returned unprefixed.
      const decoded = decodeRfc2047Word(word);
      if (decoded.error !== undefined) throw new MailError(decoded.error);
    }
  }

  private consume(ch: string): boolean {
    if (!this.s.startsWith(ch)) return false;
    this.s = this.s.slice(1);
    return true;
  }

  private skipSpace(): void {
    this.s = this.s.replace(/^[ \t]+/, "");
  }

  private skipCFWS(): boolean {
    this.skipSpace();
    while (this.consume("(")) {
      if (this.consumeComment() === undefined) return false;
      this.skipSpace();
    }
    return true;
  }

  /** After '('; undefined when the parentheses never balance. */
  private consumeComment(): string | undefined {
    let depth = 1;
    let comment = "";
    while (this.s !== "" && depth > 0) {
      if (this.s.startsWith("\\") && this.s.length > 1) this.s = this.s.slice(1);
      else if (this.s.startsWith("(")) depth++;
      else if (this.s.startsWith(")")) depth--;
      if (depth > 0) comment += this.s.slice(0, 1);
      this.s = this.s.slice(1);
    }
    return depth === 0 ? comment : undefined;
  }
}

interface DecodedWord {
  readonly word: string;
  readonly encoded: boolean;
  readonly error?: string;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const NATIVE_CHARSETS = new Set(["utf-8", "iso-8859-1", "us-ascii"]);

/**
 * mime.WordDecoder as net/mail uses it: only an unsupported charset is an
 * error, malformed words are kept verbatim. The decoded text itself is never
 * needed because display names are discarded.
 */
function decodeRfc2047Word(s: string): DecodedWord {
  const plain = { word: s, encoded: false };
  if (s.length < 8 || !s.startsWith("=?") || !s.endsWith("?=") || s.split("?").length !== 5) return plain;
  const [charset = "", encoding = "", text = ""] = s.slice(2, -2).split("?");
  if (charset === "" || encoding.length !== 1) return plain;
  if (!decodesAs(encoding, text)) return plain;
  const lower = charset.toLowerCase();
  if (NATIVE_CHARSETS.has(lower)) return { word: s, encoded: true };
  return { word: s, encoded: true, error: `charset not supported: ${goQuote(lower)}` };
}

function decodesAs(encoding: string, text: string): boolean {
  if (encoding === "B" || encoding === "b") return BASE64.test(text);
  if (encoding === "Q" || encoding === "q") return /^(?:[ -<>-~\t\r\n]|=[0-9A-Fa-f]{2})*$/.test(text);
  return false;
}
