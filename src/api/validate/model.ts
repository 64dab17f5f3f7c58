/** What the compiled checks return, and the rule helpers every family shares. */
import { isFieldSet, type DescMessage, type Message } from "@bufbuild/protobuf";
import { FieldRulesSchema } from "@zitadel/proto/validate/validate_pb.js";
import { goList } from "./go-format.js";

// Runtime model

export type Fields = Record<string, unknown>;

export interface Failure {
  readonly reason: string;
  readonly cause?: string;
  readonly index?: string;
  /** Reported as-is by every enclosing message instead of being wrapped. */
  readonly fatal?: boolean;
}

/** A formatted violation that must reach the caller unwrapped (nesting guard). */
export class Fatal {
  constructor(readonly text: string) {}
}

export type Outcome = Failure | Fatal | undefined;
export type ValueCheck = (value: unknown, depth: number) => Outcome;
export type Reason = string | undefined;

export const REQUIRED: Failure = { reason: "value is required" };
export const TOO_DEEP: Failure = { reason: "value nesting too deep", fatal: true };

export function firstOf<T>(checks: readonly ((value: T) => Reason)[]): ((value: T) => Failure | undefined) | undefined {
  if (checks.length === 0) return undefined;
  return (value) => {
    for (const check of checks) {
      const reason = check(value);
      if (reason !== undefined) return { reason };
    }
    return undefined;
  };
}

// Presence of proto2 rule fields (Go templates test the pointer, not the value)

const ruleDescs = new Map<string, DescMessage>(
  FieldRulesSchema.fields.flatMap((f) => (f.message === undefined ? [] : [[f.message.typeName, f.message] as const])),
);

export function has(rule: Message, localName: string): boolean {
  const field = ruleDescs.get(rule.$typeName)?.fields.find((f) => f.localName === localName);
  return field !== undefined && isFieldSet(rule, field);
}

/** in.go: `not_in` is only consulted when `in` is empty. */
export function membership<T>(
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
