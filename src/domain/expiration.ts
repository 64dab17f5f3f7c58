import { DomainError, invalidArgument } from "./errors.js";

/** ZITADEL's default expiry for machine keys and PATs (internal/domain/expiration.go). */
export const NO_EXPIRY = new Date("9999-12-31T23:59:59Z");

/** The largest instant a protobuf Timestamp may carry (0001-01-01 .. 9999-12-31T23:59:59.999999999Z). */
const MAX_TIMESTAMP = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** 0001-01-01T00:00:00Z, Go's zero time.Time (Date.UTC would read year 1 as 1901). */
const GO_ZERO_TIME = Date.parse("0001-01-01T00:00:00Z");

/** Whether a date is Go's zero time.Time, which a Go client sends for "none given". */
export const isGoZeroTime = (date: Date): boolean => date.getTime() === GO_ZERO_TIME;

/**
 * ZITADEL's ValidateExpirationDate: absent means "never" (year 9999), and so does Go's zero time
 * (0001-01-01T00:00:00Z, what a Go client sends for an unset time.Time: ZITADEL checks IsZero); a
 * date in the past is refused. A date beyond what a Timestamp can hold (only reachable over binary
 * gRPC) is refused as well, where ZITADEL would fail later at the database.
 */
export function expirationOrDefault(date: Date | undefined, now: Date): Date {
  if (!date || isGoZeroTime(date)) return NO_EXPIRY;
  if (Number.isNaN(date.getTime()) || date.getTime() > MAX_TIMESTAMP) throw new DomainError("InvalidArgument", "", "invalid expirationDate: out of range");
  if (date.getTime() < now.getTime()) throw invalidArgument("DOMAIN-dv3t5", "Errors.AuthNKey.ExpireBeforeNow");
  return date;
}
