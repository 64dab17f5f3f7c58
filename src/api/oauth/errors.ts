import type { Logger } from "pino";
import { OAuthError } from "../../app/oauth/errors.js";
import { DomainError, type ErrorKind } from "../../domain/errors.js";
import { BodyTooLarge, header, sendJson, type Req, type Res } from "../http-util.js";

/**
 * Errors → the OAuth wire, once for every OAuth route: `{ error, error_description }` (RFC 6749
 * §5.2) with the status the error's kind calls for, a WWW-Authenticate challenge where the route's
 * style asks for one, and Retry-After when the error says when to come back.
 */

/** How a route answers, besides the common body. */
export interface ErrorStyle {
  /** The WWW-Authenticate challenge for an OAuth error answered with `status`, if any. */
  challenge(req: Req, e: OAuthError, status: number): string | undefined;
  /**
   * Whether 503 and 500 carry an error_description, and a value the store refused (InvalidArgument)
   * is the caller's invalid_request. userinfo answers both with the bare error code, as it always has.
   */
  described: boolean;
}

/** Token, introspection and revocation (RFC 6749 §5.2): a failed Basic authentication is challenged for Basic. */
export const CLIENT_ERRORS: ErrorStyle = {
  challenge: (req, _e, status) => (status === 401 && /^basic /i.test(header(req, "authorization") ?? "") ? 'Basic realm="portcullis"' : undefined),
  described: true,
};

/**
 * RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E (printable ASCII without `"` and
 * `\`). A description outside that grammar (one that could carry what a caller sent: CR/LF, quotes,
 * non-ASCII) is left out of the header; the body still has it, JSON-escaped.
 */
const CHALLENGE_SAFE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** userinfo, a protected resource (RFC 6750 §3): every OAuth error is a Bearer challenge too. */
export const BEARER_ERRORS: ErrorStyle = {
  challenge: (_req, e) =>
    CHALLENGE_SAFE.test(e.description) ? `Bearer error="${e.error}", error_description="${e.description}"` : `Bearer error="${e.error}"`,
  described: false,
};

/**
 * 401 for a failed or missing authentication (RFC 6749 §5.2 invalid_client, RFC 6750 §3.1), 429 past
 * a rate limit, 405 for a method the route does not serve; every other OAuth error is 400.
 */
const STATUS: Partial<Record<ErrorKind, number>> = { Unauthenticated: 401, ResourceExhausted: 429, Unimplemented: 405 };

export const statusOf = (e: OAuthError): number => STATUS[e.kind] ?? 400;

const body = (error: string, description?: string) => JSON.stringify(description === undefined ? { error } : { error, error_description: description });

/** Answers `e` in the route's style; anything that is not an OAuth error is logged and becomes a 500. */
export function answerError(req: Req, res: Res, e: unknown, style: ErrorStyle, log: Logger): void {
  try {
    sendError(req, res, e, style, log);
  } catch (e2) {
    log.error({ err: e2, reqId: header(req, "x-request-id") }, "oauth endpoint failed to answer");
    res.destroy();
  }
}

function sendError(req: Req, res: Res, e: unknown, style: ErrorStyle, log: Logger): void {
  if (e instanceof OAuthError) {
    const status = statusOf(e);
    const headers: Record<string, string> = {};
    const challenge = style.challenge(req, e, status);
    if (challenge) headers["www-authenticate"] = challenge;
    if (e.retryAfterSeconds) headers["retry-after"] = String(e.retryAfterSeconds);
    return sendJson(res, status, body(e.error, e.description), headers);
  }
  if (e instanceof BodyTooLarge) return sendJson(res, 413, body("invalid_request", "request body too large"));
  if (e instanceof DomainError && e.kind === "Unavailable")
    return sendJson(res, 503, body("temporarily_unavailable", style.described ? "the server cannot serve this request now" : undefined), { "retry-after": "1" });
  if (style.described && e instanceof DomainError && e.kind === "InvalidArgument") return sendJson(res, 400, body("invalid_request", e.message));
  // The client went away before its body arrived: nobody to answer.
  if (e instanceof Error && e.message === "request aborted") return;
  log.error({ err: e, reqId: header(req, "x-request-id") }, "oauth endpoint failed");
  sendJson(res, 500, body("server_error", style.described ? "Errors.Internal" : undefined));
}
