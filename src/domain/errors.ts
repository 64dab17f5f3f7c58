/**
 * The one error type the core raises. `kind` is a gRPC code name, `id` a ZITADEL-style error id
 * (e.g. `COMMAND-coi82n`), `message` ZITADEL's English text or, where ZITADEL has no translation,
 * its raw i18n key. Each edge maps it once (gRPC status + ErrorDetail, REST body, OAuth error).
 */
export type ErrorKind =
  | "Canceled"
  | "Unknown"
  | "InvalidArgument"
  | "DeadlineExceeded"
  | "NotFound"
  | "AlreadyExists"
  | "PermissionDenied"
  | "ResourceExhausted"
  | "FailedPrecondition"
  | "Aborted"
  | "OutOfRange"
  | "Unimplemented"
  | "Internal"
  | "Unavailable"
  | "DataLoss"
  | "Unauthenticated";

export class DomainError extends Error {
  override readonly name = "DomainError";
  constructor(
    readonly kind: ErrorKind,
    /** ZITADEL-style error id; empty for plain statuses that carry no ErrorDetail (validation, "auth header missing"). */
    readonly id: string,
    message: string,
    /** For ResourceExhausted: when to try again (the edges send Retry-After). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export const invalidArgument = (id: string, message: string) => new DomainError("InvalidArgument", id, message);
export const notFound = (id: string, message: string) => new DomainError("NotFound", id, message);
export const preconditionFailed = (id: string, message: string) => new DomainError("FailedPrecondition", id, message);
export const alreadyExists = (id: string, message: string) => new DomainError("AlreadyExists", id, message);
export const permissionDenied = (id: string, message: string) => new DomainError("PermissionDenied", id, message);
export const unauthenticated = (id: string, message: string) => new DomainError("Unauthenticated", id, message);
export const unavailable = (id: string, message: string) => new DomainError("Unavailable", id, message);
export const internal = (id: string, message: string) => new DomainError("Internal", id, message);

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;
