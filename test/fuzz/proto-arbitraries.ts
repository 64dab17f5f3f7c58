/**
 * fast-check arbitraries built from protobuf descriptors: JSON that is shaped like a message (so the
 * fuzzer gets past "unknown field, ignored" and into the value parsers, validation and handlers),
 * with a share of wrong-typed values mixed in, and binary encodings of such messages.
 */
import { fromJson, ScalarType, toBinary, type DescField, type DescMessage, type JsonObject, type JsonValue, type Message } from "@bufbuild/protobuf";
import fc from "fast-check";
import { nastyString } from "./support.js";

/** fast-check's JSON values are protobuf-es JSON values; only the declared types differ. */
const anyJson = (maxDepth: number) => fc.jsonValue({ maxDepth }) as fc.Arbitrary<JsonValue>;

const int32Edge = fc.constantFrom(0, -1, 1, 2147483647, -2147483648, 2147483648, 4294967295, 4294967296, 1.5, -0);
const int64Edge = fc.constantFrom("0", "-1", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "18446744073709551615", "18446744073709551616", "1e3", " 1", "0x10", "");

/** Values a server would accept: short names, and for `*id` fields the ids of things that exist. */
const plausibleText = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.@-]{0,15}$/);

function scalarValue(scalar: ScalarType, ids?: readonly string[], name = ""): fc.Arbitrary<JsonValue> {
  switch (scalar) {
    case ScalarType.STRING:
      if (!ids) return nastyString(40);
      return fc.oneof(
        { weight: 2, arbitrary: nastyString(40) },
        { weight: 3, arbitrary: /id$/i.test(name) && ids.length ? fc.constantFrom(...ids) : plausibleText },
      );
    case ScalarType.BOOL:
      return fc.oneof(fc.boolean(), fc.constantFrom<JsonValue>("true", 1, 0, null));
    case ScalarType.BYTES:
      return fc.oneof(fc.base64String({ maxLength: 40 }), fc.constantFrom<JsonValue>("====", "a", "-_-_", "YQ", "%%"));
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom<JsonValue>("NaN", "Infinity", "-Infinity", "1e400", 3.5e38, "x"));
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return fc.oneof(fc.bigInt({ min: -(1n << 64n), max: 1n << 64n }).map(String), int64Edge, fc.integer());
    default:
      return fc.oneof(fc.integer(), int32Edge, int32Edge.map(String));
  }
}

const rfc3339 = fc.oneof(
  fc.date({ min: new Date("0001-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom("0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z", "2024-02-30T00:00:00Z", "2024-01-01T00:00:00+25:00", "2024-01-01", "now", "1970-01-01T00:00:00.1234567891Z"),
);

const duration = fc.oneof(
  fc.integer({ min: -1e6, max: 1e6 }).map((n) => `${n}s`),
  fc.constantFrom("315576000001s", "-315576000001s", "1.0000000001s", "s", "1", "1h", "0s", "-0.5s"),
);

/**
 * A JSON value for one message type; `depth` bounds how far nested messages are filled in. With `ids`,
 * half the strings are plausible (and `*id` fields name things that exist), to get past validation.
 */
export function messageJson(desc: DescMessage, depth = 3, ids?: readonly string[]): fc.Arbitrary<JsonObject> {
  const key = `${desc.typeName}/${depth}/${ids ? ids.join(",") : ""}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const fields = desc.fields;
  const arb =
    fields.length === 0
      ? fc.constant<JsonObject>({})
      : fc.subarray(fields, { maxLength: Math.min(fields.length, 6) }).chain((chosen) =>
          fc.tuple(...chosen.map((f) => fc.tuple(fc.boolean(), fieldValue(f, depth, ids)))).map((values) => {
            const obj: JsonObject = {};
            values.forEach(([protoName, v], i) => {
              const f = chosen[i]!;
              obj[protoName ? f.name : f.jsonName] = v;
            });
            return obj;
          }),
        );
  cache.set(key, arb);
  return arb;
}
const cache = new Map<string, fc.Arbitrary<JsonObject>>();

function fieldValue(field: DescField, depth: number, ids: readonly string[] | undefined): fc.Arbitrary<JsonValue> {
  const element = elementValue(field, depth, ids);
  const typed: fc.Arbitrary<JsonValue> =
    field.fieldKind === "list"
      ? fc.array(element, { maxLength: 3 })
      : field.fieldKind === "map"
        ? (fc.dictionary(fc.oneof(nastyString(8), fc.integer().map(String)), element, { maxKeys: 3 }) as fc.Arbitrary<JsonValue>)
        : element;
  // Now and then the wrong shape entirely.
  return fc.oneof({ weight: 9, arbitrary: typed }, { weight: 1, arbitrary: anyJson(2) });
}

function elementValue(field: DescField, depth: number, ids: readonly string[] | undefined): fc.Arbitrary<JsonValue> {
  if (field.enum) {
    const names = field.enum.values.map((v) => v.name);
    const numbers = field.enum.values.map((v) => v.number);
    return fc.oneof(fc.constantFrom(...names), fc.constantFrom(...numbers), fc.integer(), nastyString(12));
  }
  if (field.message) return wellKnownOrMessage(field.message, depth, ids);
  return scalarValue(field.scalar!, ids, field.name);
}

function wellKnownOrMessage(desc: DescMessage, depth: number, ids: readonly string[] | undefined): fc.Arbitrary<JsonValue> {
  switch (desc.typeName) {
    case "google.protobuf.Timestamp":
      return rfc3339;
    case "google.protobuf.Duration":
      return duration;
    case "google.protobuf.FieldMask":
      return fc.array(fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,8}$/), { maxLength: 3 }).map((p) => p.join(","));
    case "google.protobuf.Struct":
      return fc.dictionary(fc.string({ maxLength: 6 }), anyJson(3), { maxKeys: 3 }) as fc.Arbitrary<JsonValue>;
    case "google.protobuf.Value":
    case "google.protobuf.ListValue":
      return anyJson(3);
    case "google.protobuf.Any":
      return fc.oneof(fc.constant({}), fc.record({ "@type": nastyString(30) }));
    case "google.protobuf.Empty":
      return fc.constant({});
  }
  if (desc.typeName.startsWith("google.protobuf.") && desc.typeName.endsWith("Value") && desc.fields[0]?.scalar !== undefined) {
    return scalarValue(desc.fields[0].scalar);
  }
  return depth <= 0 ? fc.constant({}) : messageJson(desc, depth - 1, ids);
}

/** Messages of `desc` that protobuf-es accepts from the generated JSON (others fall back to the empty message). */
export function messageOf(desc: DescMessage, depth = 3, ids?: readonly string[]): fc.Arbitrary<Message> {
  return messageJson(desc, depth, ids).map((json) => {
    try {
      return fromJson(desc, json, { ignoreUnknownFields: true });
    } catch {
      return fromJson(desc, {});
    }
  });
}

/** Binary protobuf for `desc`: a well-formed encoding, a mutated one, or plain noise. */
export function binaryFor(desc: DescMessage, ids?: readonly string[]): fc.Arbitrary<Uint8Array> {
  const valid = messageOf(desc, 3, ids).map((m) => toBinary(desc, m));
  return fc.oneof(
    { weight: 4, arbitrary: valid },
    {
      weight: 3,
      arbitrary: fc.tuple(valid, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 12 }), fc.constantFrom("insert", "overwrite", "truncate")).map(([bytes, at, noise, how]) => {
        const i = bytes.length === 0 ? 0 : at % bytes.length;
        if (how === "truncate") return bytes.subarray(0, i);
        const out = Buffer.from(bytes);
        if (how === "overwrite") return Buffer.from(noise).copy(out, i), new Uint8Array(out);
        return new Uint8Array(Buffer.concat([out.subarray(0, i), noise, out.subarray(i)]));
      }),
    },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 256 }) },
    // A tag for every wire type with absurd lengths and varints.
    { weight: 1, arbitrary: fc.constantFrom(Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f), Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), Uint8Array.of(0x0b), Uint8Array.of(0x0c), Uint8Array.of(0x00), Uint8Array.of(0xfa, 0xff, 0xff, 0xff, 0x0f, 0x00)) },
  );
}

/**
 * Identifier-shaped strings for user ids, usernames and names (issue #19): mostly values a caller may
 * choose — any script, emoji and joiners, URL and form delimiters, quotes — plus each class the
 * server must refuse (control, C1, line separators, bidi overrides, isolates and marks, unpaired
 * surrogates) at the start, inside or at the end, dot segments, padding, and lengths around the
 * 200-byte / 200-character limits in 1- to 4-byte characters.
 */
export const identifierText = (maxChars = 40): fc.Arbitrary<string> => {
  const unit = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(..."abcxyzABCXYZ0189-_.@") },
    { weight: 2, arbitrary: fc.constantFrom("é", "ß", "İ", "ж", "€", "中", "한", "😀", "👩‍💻", "\u05d0", "\u0627", "\u0301", "\u200d", "\u00a0") },
    { weight: 2, arbitrary: fc.constantFrom(" ", "/", "%", "+", "?", "#", ":", '"', "\\", "'", "&", "=", ";", ",", "*", "~", "%2F", "%2e", "%00") },
  );
  const plain = fc.string({ unit, minLength: 1, maxLength: maxChars });
  const hostile = fc.constantFrom("\t", "\n", "\r", "\0", "\x1b", "\x7f", "\x85", "\x9f", "\u2028", "\u2029", "\u202a", "\u202e", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c", "\ud800", "\udfff", "\ufeff", "\u3000");
  return fc.oneof(
    { weight: 5, arbitrary: plain },
    { weight: 3, arbitrary: fc.tuple(plain, hostile, plain, fc.nat(2)).map(([a, h, b, at]) => (at === 0 ? h + a : at === 1 ? a + h + b : a + h)) },
    { weight: 1, arbitrary: fc.constantFrom(".", "..", "...", " x", "x ", "\u00a0x", "a/../b", "./a", "..%2F", "%2e%2e", "ID", "Id", "i") },
    // Around 200 bytes (and, for ASCII, 200 characters): c repeated 200 / bytes(c) times, ± 12.
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom("a", "é", "€", "😀"), fc.integer({ min: -12, max: 12 })).map(([c, d]) => c.repeat(Math.floor(200 / Buffer.byteLength(c)) + d)) },
  );
};
