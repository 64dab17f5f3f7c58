/**
 * The compiler: a message descriptor's `validate.rules` become one checker per field, run in the
 * order Go PGV's msg.go template renders them (plain fields, oneofs, proto3 `optional` fields).
 * Which rule family renders a value follows PGV's resolveRules.
 */
import {
  getOption,
  hasOption,
  ScalarType,
  type DescEnum,
  type DescField,
  type DescMessage,
  type DescOneof,
} from "@bufbuild/protobuf";
import {
  disabled as disabledOption,
  ignored as ignoredOption,
  required as oneofRequiredOption,
  rules as fieldRulesOption,
  type FieldRules,
  type MessageRules,
} from "@zitadel/proto/validate/validate_pb.js";
import { compileBool, compileEnum } from "./enums.js";
import { goFieldName, goMessageName } from "./go-format.js";
import { Fatal, REQUIRED, TOO_DEEP, type Fields, type Outcome, type ValueCheck } from "./model.js";
import { compileNumeric, type NumericRules } from "./numbers.js";
import { compileMapRules, compileRepeated, listLoop, mapLoop } from "./repeated.js";
import { compileBytes, compileString } from "./strings.js";
import { compileAny, compileDuration, compileTimestamp } from "./well-known.js";

/** Message levels below the request; ZITADEL's own user query limit (20) stays well inside. */
const MAX_DEPTH = 64;

type Step = (msg: Fields, depth: number) => string | Fatal | undefined;

export interface CompiledMessage {
  readonly steps: readonly Step[];
}

export function runMessage(compiled: CompiledMessage, msg: Fields, depth: number): string | Fatal | undefined {
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

// Message compilation

const compiledMessages = new WeakMap<DescMessage, CompiledMessage>();

export function compiledFor(desc: DescMessage): CompiledMessage {
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

function compileListCheck(fr: FieldRules | undefined, element: Target): ValueCheck | undefined {
  if (fr?.type.case === "repeated") {
    const r = fr.type.value;
    return compileRepeated(r, compileValueCheck(r.items, element));
  }
  if (fr !== undefined && fr.type.case !== undefined) return undefined;
  const items = compileValueCheck(undefined, element);
  return items === undefined ? undefined : listLoop(undefined, items);
}

function compileMapCheck(fr: FieldRules | undefined, field: DescField & { fieldKind: "map" }): ValueCheck | undefined {
  const keyType: Target = { kind: "scalar", scalar: field.mapKey };
  if (fr?.type.case === "map") {
    const r = fr.type.value;
    return compileMapRules(r, field.mapKey, compileValueCheck(r.keys, keyType), compileValueCheck(r.values, mapValue(field)));
  }
  if (fr?.type.case !== undefined || field.mapKind !== "message") return undefined;
  const values = compileValueCheck(undefined, mapValue(field));
  return values === undefined ? undefined : mapLoop(field.mapKey, undefined, values);
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
