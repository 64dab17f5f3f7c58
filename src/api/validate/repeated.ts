/** Repeated fields and maps (goshared/repeated.go, goshared/map.go). */
import { ScalarType } from "@bufbuild/protobuf";
import type { MapRules, RepeatedRules } from "@zitadel/proto/validate/validate_pb.js";
import { Fatal, has, type Reason, type ValueCheck } from "./model.js";

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

/** `items`: the check compiled from `r.items` for the element type. */
export function compileRepeated(r: RepeatedRules, items: ValueCheck | undefined): ValueCheck | undefined {
  const count = countCheck(r.minItems, r.maxItems, has(r, "maxItems"), "item");
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

export function listLoop(unique: ((item: unknown) => unknown) | undefined, items: ValueCheck | undefined): ValueCheck {
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

/** `keys`, `values`: the checks compiled from `r.keys` and `r.values` for the key and value types. */
export function compileMapRules(r: MapRules, keyScalar: ScalarType, keys: ValueCheck | undefined, values: ValueCheck | undefined): ValueCheck | undefined {
  const count = countCheck(r.minPairs, r.maxPairs, has(r, "maxPairs"), "pair");
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
export function mapLoop(keyScalar: ScalarType, keys: ValueCheck | undefined, values: ValueCheck | undefined): ValueCheck {
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
