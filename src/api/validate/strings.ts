/** Strings and bytes (goshared/string.go, goshared/bytes.go, goshared/known.go). */
import type { Message } from "@bufbuild/protobuf";
import type { BytesRules, StringRules } from "@zitadel/proto/validate/validate_pb.js";
import { hostnameError, parseIP } from "./address.js";
import { emailError } from "./email.js";
import { byteStr, goBytes, goBytesList, goQuote, utf8Length } from "./go-format.js";
import { firstOf, has, membership, type Reason, type ValueCheck } from "./model.js";

export function compileString(r: StringRules): ValueCheck | undefined {
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

/** Go RE2 syntax is close enough to JS `u` regexps for PGV patterns. */
function goRegExp(pattern: string): RegExp {
  return new RegExp(pattern, "u");
}

// Bytes (goshared/bytes.go)

export function compileBytes(r: BytesRules): ValueCheck | undefined {
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
