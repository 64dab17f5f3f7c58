/**
 * Go's text parsers as grpc-gateway calls them for path and query values (strconv.ParseBool,
 * ParseInt/ParseUint, ParseFloat, time.ParseDuration, runtime.Bytes), with their error texts, and
 * the InvalidArgument helpers the transcoder raises them with.
 */
import { ScalarType } from "@bufbuild/protobuf";
import { DomainError } from "../../domain/errors.js";

export type ScalarValue = string | number | bigint | boolean | Uint8Array;

const invalid = (message: string) => new DomainError("InvalidArgument", "", message);
export function fail(message: string): never {
  throw invalid(message);
}

/** Runs `fn`, prefixing the message of any InvalidArgument it raises (grpc-gateway wraps errors the same way). */
export function withContext<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DomainError) throw invalid(context + e.message);
    throw e;
  }
}

/** Go's %q for the ASCII inputs these messages are about. */
export const quote = (s: string) => JSON.stringify(s);

/** `base0`: path parameters (runtime.Int64 & co. call strconv with base 0); query values use base 10. */
export function parseScalar(scalar: ScalarType, raw: string, base0: boolean): ScalarValue {
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
export function parseGoInteger(raw: string, signed: boolean, bits: 32 | 64, base0: boolean): bigint {
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
export function parseGoDuration(raw: string): { seconds: bigint; nanos: number } {
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
