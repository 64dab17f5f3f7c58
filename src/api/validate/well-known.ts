/** Well-known message types: durations, timestamps and Any (go/duration.go, go/timestamp.go, goshared/any.go). */
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import type { AnyRules, DurationRules, TimestampRules } from "@zitadel/proto/validate/validate_pb.js";
import { goDuration, goList, goTime } from "./go-format.js";
import { REQUIRED, firstOf, has, membership, type Reason, type ValueCheck } from "./model.js";
import { rangeCheck, type Bound } from "./numbers.js";

export function compileDuration(r: DurationRules): ValueCheck | undefined {
  const compares = r.in.length > 0 || r.notIn.length > 0 || ["lt", "lte", "gt", "gte", "const"].some((n) => has(r, n));
  if (!r.required && !compares) return undefined;
  const bound = (d: Duration | undefined): Bound<bigint> | undefined =>
    d === undefined ? undefined : { value: durationNanos(d), text: goDuration(durationNanos(d)) };
  const checks: ((nanos: bigint) => Reason)[] = [];
  const constant = bound(r.const);
  if (constant !== undefined) checks.push((d) => (d !== constant.value ? `value must equal ${constant.text}` : undefined));
  const range = rangeCheck({ lt: bound(r.lt), lte: bound(r.lte), gt: bound(r.gt), gte: bound(r.gte) });
  if (range !== undefined) checks.push(range);
  const inList = membership(
    r.in.map(durationNanos),
    r.notIn.map(durationNanos),
    () => "",
    goList(r.in.map(protoTextDuration)),
    goList(r.notIn.map(protoTextDuration)),
  );
  if (inList !== undefined) checks.push(inList);
  const run = firstOf(checks);
  return (value) => {
    if (value === undefined) return r.required ? REQUIRED : undefined;
    if (!compares || run === undefined) return undefined;
    const d = value as Duration;
    const invalid = durationError(d);
    if (invalid !== undefined) return { reason: "value is not a valid duration", cause: invalid };
    return run(durationNanos(d));
  };
}

export function compileTimestamp(r: TimestampRules): ValueCheck | undefined {
  const compares = ["lt", "lte", "gt", "gte", "ltNow", "gtNow", "within", "const"].some((n) => has(r, n));
  if (!r.required && !compares) return undefined;
  const bound = (t: Timestamp | undefined): Bound<bigint> | undefined =>
    t === undefined ? undefined : { value: timestampNanos(t), text: goTime(t) };
  const checks: ((nanos: bigint) => Reason)[] = [];
  const constant = bound(r.const);
  if (constant !== undefined) checks.push((t) => (t !== constant.value ? `value must equal ${constant.text}` : undefined));
  const range = rangeCheck({ lt: bound(r.lt), lte: bound(r.lte), gt: bound(r.gt), gte: bound(r.gte) }) ?? nowCheck(r);
  if (range !== undefined) checks.push(range);
  const run = firstOf(checks);
  return (value) => {
    if (value === undefined) return r.required ? REQUIRED : undefined;
    if (!compares || run === undefined) return undefined;
    const t = value as Timestamp;
    const invalid = timestampError(t);
    if (invalid !== undefined) return { reason: "value is not a valid timestamp", cause: invalid };
    return run(timestampNanos(t));
  };
}

/** The lt_now/gt_now/within branches only run when no absolute bound is set. */
function nowCheck(r: TimestampRules): ((t: bigint) => Reason) | undefined {
  const within = r.within === undefined ? undefined : durationNanos(r.within);
  const withinText = r.within === undefined ? "" : goDuration(durationNanos(r.within));
  const now = () => BigInt(Date.now()) * 1_000_000n;
  if (has(r, "ltNow")) {
    if (within !== undefined) {
      return (t) => (t >= now() || t < now() - within ? `value must be less than now within ${withinText}` : undefined);
    }
    return (t) => (t >= now() ? "value must be less than now" : undefined);
  }
  if (has(r, "gtNow")) {
    if (within !== undefined) {
      return (t) => (t <= now() || t > now() + within ? `value must be greater than now within ${withinText}` : undefined);
    }
    return (t) => (t <= now() ? "value must be greater than now" : undefined);
  }
  if (within !== undefined) {
    return (t) => (t >= now() + within || t <= now() - within ? `value must be within ${withinText} of now` : undefined);
  }
  return undefined;
}

export function compileAny(r: AnyRules): ValueCheck | undefined {
  const inList = membership(r.in, r.notIn, (v) => v);
  if (!r.required && inList === undefined) return undefined;
  return (value) => {
    if (value === undefined) return r.required ? REQUIRED : undefined;
    const reason = inList?.((value as { typeUrl: string }).typeUrl);
    return reason === undefined ? undefined : { reason: reason.replace(/^value/, "type URL") };
  };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MAX_DURATION_SECONDS = 315_576_000_000n;

/** durationpb.AsDuration saturates at the int64 nanosecond range. */
function durationNanos(d: Duration): bigint {
  const n = d.seconds * 1_000_000_000n + BigInt(d.nanos);
  return n < INT64_MIN ? INT64_MIN : n > INT64_MAX ? INT64_MAX : n;
}

function timestampNanos(t: Timestamp): bigint {
  return t.seconds * 1_000_000_000n + BigInt(t.nanos);
}

/** durationpb.CheckValid; Go randomises the "proto:" separator, a plain space is used here. */
function durationError(d: Duration): string | undefined {
  const text = protoTextDuration(d);
  if (d.seconds < -MAX_DURATION_SECONDS) return `proto: duration (${text}) exceeds -10000 years`;
  if (d.seconds > MAX_DURATION_SECONDS) return `proto: duration (${text}) exceeds +10000 years`;
  if (d.nanos <= -1e9 || d.nanos >= 1e9) return `proto: duration (${text}) has out-of-range nanos`;
  if ((d.seconds > 0n && d.nanos < 0) || (d.seconds < 0n && d.nanos > 0)) {
    return `proto: duration (${text}) has seconds and nanos with different signs`;
  }
  return undefined;
}

function timestampError(t: Timestamp): string | undefined {
  const text = protoTextSecondsNanos(t.seconds, t.nanos);
  if (t.seconds < -62_135_596_800n) return `proto: timestamp (${text}) before 0001-01-01`;
  if (t.seconds > 253_402_300_799n) return `proto: timestamp (${text}) after 9999-12-31`;
  if (t.nanos < 0 || t.nanos >= 1e9) return `proto: timestamp (${text}) has out-of-range nanos`;
  return undefined;
}

function protoTextDuration(d: Duration): string {
  return protoTextSecondsNanos(d.seconds, d.nanos);
}

function protoTextSecondsNanos(seconds: bigint, nanos: number): string {
  const parts = [seconds !== 0n ? `seconds:${seconds}` : "", nanos !== 0 ? `nanos:${nanos}` : ""];
  return parts.filter((p) => p !== "").join(" ");
}
