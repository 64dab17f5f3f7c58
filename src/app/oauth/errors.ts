import { DomainError, type ErrorKind } from "../../domain/errors.js";

/** RFC 6749 §5.2 error codes (and RFC 6750 §3.1's invalid_token, RFC 7009's unsupported_token_type, RFC 6585's too many requests). */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unsupported_grant_type"
  | "invalid_scope"
  | "invalid_token"
  | "unsupported_token_type"
  | "too_many_requests";

/**
 * The kind each code has unless said otherwise: what went wrong in the terms of the rest of the
 * core (DomainError). The edge (api/oauth/errors.ts) answers with the status the kind calls for.
 */
const KIND: Record<OAuthErrorCode, ErrorKind> = {
  invalid_request: "InvalidArgument",
  invalid_client: "Unauthenticated",
  invalid_grant: "InvalidArgument",
  unsupported_grant_type: "InvalidArgument",
  invalid_scope: "InvalidArgument",
  invalid_token: "Unauthenticated",
  unsupported_token_type: "InvalidArgument",
  too_many_requests: "ResourceExhausted",
};

/**
 * A DomainError with the OAuth error code it is answered with. `description` is the
 * error_description sent to the client (RFC 6749 §5.2: human-readable, for the developer).
 */
export class OAuthError extends DomainError {
  constructor(
    /** The RFC 6749 §5.2 `error` value. */
    readonly error: OAuthErrorCode,
    readonly description: string,
    kind: ErrorKind = KIND[error],
    retryAfterSeconds?: number,
  ) {
    super(kind, "", description, retryAfterSeconds);
  }
}

/** Every failed client authentication (secret or key) is this one error, whatever failed (RFC 6749 §5.2). */
export const clientAuthFailed = () => new OAuthError("invalid_client", "client authentication failed");

/** ZITADEL checks the machine after its credential (command/oidc_session.go) and answers NotActive. */
export const notActive = () => new OAuthError("invalid_request", "Errors.User.NotActive", "FailedPrecondition");

/** With ResourceExhausted: the edge sends Retry-After. */
export const tooManyRequests = (wait: number) => new OAuthError("too_many_requests", `too many requests; retry after ${wait} s`, "ResourceExhausted", wait);
