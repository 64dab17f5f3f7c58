/** Numbers (goshared/num.go, goshared/const.go, goshared/in.go) and the ltgt.go ranges durations and timestamps share. */
import type { Message } from "@bufbuild/protobuf";
import { goFloat32, goFloat64 } from "./go-format.js";
import { firstOf, has, membership, type Reason, type ValueCheck } from "./model.js";

export type NumericCase =
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
export type Num = number | bigint;

export interface NumericRules extends Message {
  const: Num;
  lt: Num;
  lte: Num;
  gt: Num;
  gte: Num;
  in: Num[];
  notIn: Num[];
  ignoreEmpty: boolean;
}

export interface Bound<T> {
  readonly value: T;
  readonly text: string;
}

interface Bounds<T> {
  readonly lt?: Bound<T>;
  readonly lte?: Bound<T>;
  readonly gt?: Bound<T>;
  readonly gte?: Bound<T>;
}

export function compileNumeric(kind: NumericCase, r: NumericRules): ValueCheck | undefined {
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
export function rangeCheck<T extends Num>({ lt, lte, gt, gte }: Bounds<T>): ((v: T) => Reason) | undefined {
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
