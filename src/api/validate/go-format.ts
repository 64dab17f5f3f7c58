/**
 * Go-compatible text for violation messages: fmt.Sprint of lists and floats, strconv.Quote,
 * time.Duration.String, time.Time.String, and the Go names of messages and fields.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";

export function goList(items: readonly string[]): string {
  return `[${items.join(" ")}]`;
}

export function goBytes(b: Uint8Array): string {
  return goList([...b].map(String));
}

export function goBytesList(list: readonly Uint8Array[]): string {
  return goList(list.map(goBytes));
}

/** PGV's byteStr: `\x%X` per byte, so no zero padding. */
export function byteStr(b: Uint8Array): string {
  return `"${[...b].map((x) => `\\x${x.toString(16).toUpperCase()}`).join("")}"`;
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const NAMED_ESCAPES: Readonly<Record<number, string>> = { 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r" };

export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) out += ch === '"' ? '\\"' : escapeRune(ch);
  return `${out}"`;
}

export function goQuoteRune(ch: string): string {
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

export function goFloat64(x: number): string {
  return goFloat(x, (v) => v.toExponential());
}

/** Shortest digits that round-trip through float32, as Go prints float32 values. */
export function goFloat32(x: number): string {
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
export function goDuration(nanos: bigint): string {
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
export function goTime(t: Timestamp): string {
  const date = new Date(Number(t.seconds) * 1000);
  const pad = (n: number, w = 2) => n.toString().padStart(w, "0");
  const day = `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
  const clock = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  const nanos = t.nanos.toString().padStart(9, "0").replace(/0+$/, "");
  return `${day} ${clock}${nanos === "" ? "" : `.${nanos}`} +0000 UTC`;
}

// Go identifiers (protoc-gen-star pgsgo: Name, PGGUpperCamelCase, joinChild): how violations name messages and fields

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

export function goFieldName(protoName: string): string {
  const name = goCamelCase(protoName);
  return PROTECTED_NAMES.has(name) ? `${name}_` : name;
}

export function goMessageName(desc: DescMessage): string {
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

/** len(s) in Go: UTF-8 bytes. */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}
