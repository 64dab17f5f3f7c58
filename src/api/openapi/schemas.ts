import { getOption, hasOption, ScalarType, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { openapiv2_field, openapiv2_schema } from "@zitadel/proto/protoc-gen-openapiv2/options/annotations_pb.js";
import type { JSONSchema } from "@zitadel/proto/protoc-gen-openapiv2/options/openapiv2_pb.js";

/** A JSON Schema (2020-12, OpenAPI 3.1's dialect) as a plain object. */
export type Schema = { [key: string]: unknown };

/**
 * JSON Schemas for protobuf messages in the JSON mapping the REST transcoder speaks (protojson as
 * grpc-gateway configures it, see rest/transcode.ts): JSON (lowerCamel) field names, 64-bit integers as
 * strings, enums by name, bytes as base64, the well-known types in their JSON forms (Timestamp an RFC 3339
 * string, Duration "1.5s", wrappers their bare value, Struct any object). Named messages and enums become
 * components (`#/components/schemas/<full name>`), referenced by `$ref`, so recursive types stay finite.
 * Descriptions, examples and length limits come from the protos' protoc-gen-openapiv2 annotations, the
 * same text ZITADEL's own OpenAPI documents carry.
 */
export class SchemaRegistry {
  readonly components: Record<string, Schema> = {};
  private readonly pending: (DescMessage | DescEnum)[] = [];

  /** The schema of a whole message: a `$ref` to its component, or the inline form of a well-known type. */
  message(desc: DescMessage): Schema {
    return wellKnown(desc) ?? this.ref(desc);
  }

  /** One field's schema (list and map included), with its annotations. */
  field(field: DescField): Schema {
    return { ...this.fieldType(field), ...fieldAnnotations(field) };
  }

  /** An object schema of `desc` without some of its top-level fields (a request body whose other fields are in the path). */
  messageWithout(desc: DescMessage, omit: ReadonlySet<DescField>): Schema {
    return this.objectSchema(desc, desc.fields.filter((f) => !omit.has(f)));
  }

  /** Builds the component of every message and enum referenced so far (and of those they reference). */
  complete(): Record<string, Schema> {
    for (let desc = this.pending.shift(); desc; desc = this.pending.shift()) {
      this.components[desc.typeName] = desc.kind === "enum" ? enumSchema(desc) : this.objectSchema(desc, desc.fields);
    }
    return this.components;
  }

  private ref(desc: DescMessage | DescEnum): Schema {
    if (!(desc.typeName in this.components) && !this.pending.includes(desc)) {
      this.components[desc.typeName] = {}; // reserved; filled in by complete()
      this.pending.push(desc);
    }
    return { $ref: `#/components/schemas/${desc.typeName}` };
  }

  private objectSchema(desc: DescMessage, fields: readonly DescField[]): Schema {
    const properties: Record<string, Schema> = {};
    for (const f of fields) properties[f.jsonName] = this.field(f);
    return { type: "object", ...messageAnnotations(desc), properties };
  }

  private fieldType(field: DescField): Schema {
    switch (field.fieldKind) {
      case "list":
        return { type: "array", items: this.value(field.listKind, field) };
      case "map":
        return { type: "object", additionalProperties: this.value(field.mapKind, field) };
      default:
        return this.value(field.fieldKind, field);
    }
  }

  private value(kind: "scalar" | "enum" | "message", field: DescField): Schema {
    switch (kind) {
      case "scalar":
        return scalarSchema(field.scalar!);
      case "enum":
        return field.enum!.typeName === "google.protobuf.NullValue" ? { type: "null" } : this.ref(field.enum!);
      case "message":
        return this.message(field.message!);
    }
  }
}

export function scalarSchema(scalar: ScalarType): Schema {
  switch (scalar) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.BYTES:
      return { type: "string", format: "byte", contentEncoding: "base64" };
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "uint32", minimum: 0, maximum: 4294967295 };
    // protojson writes 64-bit integers as strings (JavaScript numbers cannot hold them); it reads both.
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: "string", format: "int64", pattern: "^-?[0-9]+$" };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64", pattern: "^[0-9]+$" };
  }
}

const WRAPPERS: Readonly<Record<string, ScalarType>> = {
  "google.protobuf.DoubleValue": ScalarType.DOUBLE,
  "google.protobuf.FloatValue": ScalarType.FLOAT,
  "google.protobuf.Int64Value": ScalarType.INT64,
  "google.protobuf.UInt64Value": ScalarType.UINT64,
  "google.protobuf.Int32Value": ScalarType.INT32,
  "google.protobuf.UInt32Value": ScalarType.UINT32,
  "google.protobuf.BoolValue": ScalarType.BOOL,
  "google.protobuf.StringValue": ScalarType.STRING,
  "google.protobuf.BytesValue": ScalarType.BYTES,
};

/** protojson's special JSON forms (the proto3 JSON mapping's table of well-known types). */
export function wellKnown(desc: DescMessage): Schema | undefined {
  const wrapped = WRAPPERS[desc.typeName];
  if (wrapped !== undefined) return scalarSchema(wrapped);
  switch (desc.typeName) {
    case "google.protobuf.Timestamp":
      return { type: "string", format: "date-time" };
    case "google.protobuf.Duration":
      return { type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$", examples: ["3600s", "1.5s"] };
    case "google.protobuf.FieldMask":
      return { type: "string", description: "Comma-separated lowerCamel field paths." };
    case "google.protobuf.Struct":
      return { type: "object" };
    case "google.protobuf.Value":
      return {};
    case "google.protobuf.ListValue":
      return { type: "array" };
    case "google.protobuf.Empty":
      return { type: "object" };
    case "google.protobuf.Any":
      return { $ref: "#/components/schemas/google.protobuf.Any" };
    default:
      return undefined;
  }
}

/** Any is an object naming its type in `@type`, with the packed message's fields beside it. */
export const ANY_SCHEMA: Schema = {
  type: "object",
  properties: { "@type": { type: "string", description: "type.googleapis.com/<full message name>" } },
  required: ["@type"],
  additionalProperties: true,
};

function enumSchema(desc: DescEnum): Schema {
  return { type: "string", enum: desc.values.map((v) => v.name) };
}

function messageAnnotations(desc: DescMessage): Schema {
  if (!hasOption(desc, openapiv2_schema)) return {};
  const json = getOption(desc, openapiv2_schema).jsonSchema;
  return json ? jsonSchemaAnnotations(json) : {};
}

/** Options are decoded on every getOption; a field's annotations are needed for its component and again for parameters. */
const fieldAnnotationCache = new WeakMap<DescField, Schema>();

function fieldAnnotations(field: DescField): Schema {
  let a = fieldAnnotationCache.get(field);
  if (!a) fieldAnnotationCache.set(field, (a = readFieldAnnotations(field)));
  return { ...a };
}

function readFieldAnnotations(field: DescField): Schema {
  const out: Schema = field.deprecated ? { deprecated: true } : {};
  if (!hasOption(field, openapiv2_field)) return out;
  const a = jsonSchemaAnnotations(getOption(field, openapiv2_field));
  // Length and pattern limits describe a string; on a list or message they would constrain the wrong thing.
  if (field.fieldKind !== "scalar" || field.scalar !== ScalarType.STRING) {
    delete a.maxLength;
    delete a.minLength;
    delete a.pattern;
  }
  return { ...out, ...a };
}

/**
 * The documentation subset of protoc-gen-openapiv2's JSONSchema option: title, description, example,
 * string limits, readOnly. `required` is left out on purpose: proto3 has no required fields, the same
 * component describes requests and responses, and protojson omits zero values from responses.
 */
function jsonSchemaAnnotations(s: JSONSchema): Schema {
  const out: Schema = {};
  if (s.title) out.title = s.title;
  if (s.description) out.description = s.description;
  if (s.example) out.examples = [parseExample(s.example)];
  if (s.readOnly) out.readOnly = true;
  if (s.maxLength > 0n) out.maxLength = Number(s.maxLength);
  if (s.minLength > 0n) out.minLength = Number(s.minLength);
  if (s.pattern) out.pattern = s.pattern;
  return out;
}

/** Examples are written as JSON text in the protos; a few are not valid JSON and are kept as text. */
function parseExample(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
