/** Enums and bools (goshared/enum.go, goshared/const.go, goshared/in.go). */
import type { DescEnum, Message } from "@bufbuild/protobuf";
import type { EnumRules } from "@zitadel/proto/validate/validate_pb.js";
import { firstOf, has, membership, type Reason, type ValueCheck } from "./model.js";

export function compileBool(r: { const: boolean } & Message): ValueCheck | undefined {
  if (!has(r, "const")) return undefined;
  return (value) => (value !== r.const ? { reason: `value must equal ${r.const}` } : undefined);
}

/** enum.go: const, in/not_in, then defined_only. */
export function compileEnum(r: EnumRules, desc: DescEnum): ValueCheck | undefined {
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
