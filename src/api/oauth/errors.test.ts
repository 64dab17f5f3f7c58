import type { Logger } from "pino";
import { describe, expect, it } from "vitest";
import { OAuthError, clientAuthFailed, notActive, tooManyRequests } from "../../app/oauth/errors.js";
import { DomainError } from "../../domain/errors.js";
import { BodyTooLarge, type Req, type Res } from "../http-util.js";
import { BEARER_ERRORS, CLIENT_ERRORS, answerError, type ErrorStyle } from "./errors.js";

const silent = { error() {} } as unknown as Logger;

function answer(e: unknown, style: ErrorStyle, authorization?: string) {
  const out: { status?: number; headers?: Record<string, string>; body?: string } = {};
  const res = {
    headersSent: false,
    writeHead(status: number, headers: Record<string, string>) {
      out.status = status;
      out.headers = headers;
    },
    end(body: string) {
      out.body = body;
    },
  } as unknown as Res;
  answerError({ headers: authorization ? { authorization } : {} } as Req, res, e, style, silent);
  return { status: out.status, headers: out.headers, body: out.body === undefined ? undefined : JSON.parse(out.body) };
}

const JSON_HEADERS = { "content-type": "application/json", "cache-control": "no-store" };

describe("OAuth errors on the wire", () => {
  it("token, introspection and revocation: RFC 6749 §5.2, Basic challenge only for a failed Basic authentication", () => {
    expect(answer(clientAuthFailed(), CLIENT_ERRORS, "Basic eDp5")).toEqual({
      status: 401,
      headers: { ...JSON_HEADERS, "www-authenticate": 'Basic realm="portcullis"' },
      body: { error: "invalid_client", error_description: "client authentication failed" },
    });
    expect(answer(clientAuthFailed(), CLIENT_ERRORS).headers).toEqual(JSON_HEADERS);
    expect(answer(notActive(), CLIENT_ERRORS, "Basic eDp5")).toEqual({ status: 400, headers: JSON_HEADERS, body: { error: "invalid_request", error_description: "Errors.User.NotActive" } });
    expect(answer(new OAuthError("invalid_grant", "invalid assertion"), CLIENT_ERRORS).status).toBe(400);
    expect(answer(new OAuthError("unsupported_grant_type", "x is not supported"), CLIENT_ERRORS).status).toBe(400);
    expect(answer(tooManyRequests(7), CLIENT_ERRORS, "Basic eDp5")).toEqual({
      status: 429,
      headers: { ...JSON_HEADERS, "retry-after": "7" },
      body: { error: "too_many_requests", error_description: "too many requests; retry after 7 s" },
    });
  });

  it("userinfo: every OAuth error is a Bearer challenge (RFC 6750 §3)", () => {
    const missing = new OAuthError("invalid_request", "access token missing", "Unauthenticated");
    expect(answer(missing, BEARER_ERRORS)).toEqual({
      status: 401,
      headers: { ...JSON_HEADERS, "www-authenticate": 'Bearer error="invalid_request", error_description="access token missing"' },
      body: { error: "invalid_request", error_description: "access token missing" },
    });
    expect(answer(new OAuthError("invalid_token", "access token invalid"), BEARER_ERRORS).status).toBe(401);
    expect(answer(new OAuthError("invalid_request", "method not allowed", "Unimplemented"), BEARER_ERRORS).status).toBe(405);
    expect(answer(new OAuthError("invalid_request", "parameter a must not be included more than once"), BEARER_ERRORS).status).toBe(400);
  });

  it("userinfo: a description outside RFC 6750's grammar (quotes, CR/LF, non-ASCII) stays out of the challenge, not out of the body", () => {
    for (const d of ['x", realm="evil', "a\r\nX-Evil: 1", "\u20ac", "\u00e9", "back\\slash"]) {
      expect(answer(new OAuthError("invalid_request", d), BEARER_ERRORS)).toEqual({
        status: 400,
        headers: { ...JSON_HEADERS, "www-authenticate": 'Bearer error="invalid_request"' },
        body: { error: "invalid_request", error_description: d },
      });
    }
  });

  it("what is not an OAuth error: body too large, unavailable, refused values, anything else", () => {
    const tooLarge = { status: 413, headers: JSON_HEADERS, body: { error: "invalid_request", error_description: "request body too large" } };
    expect(answer(new BodyTooLarge(), CLIENT_ERRORS)).toEqual(tooLarge);
    expect(answer(new BodyTooLarge(), BEARER_ERRORS)).toEqual(tooLarge);
    const down = new DomainError("Unavailable", "STORE-down", "database unavailable");
    expect(answer(down, CLIENT_ERRORS)).toEqual({
      status: 503,
      headers: { ...JSON_HEADERS, "retry-after": "1" },
      body: { error: "temporarily_unavailable", error_description: "the server cannot serve this request now" },
    });
    expect(answer(down, BEARER_ERRORS)).toEqual({ status: 503, headers: { ...JSON_HEADERS, "retry-after": "1" }, body: { error: "temporarily_unavailable" } });
    const refused = new DomainError("InvalidArgument", "STORE-value", "a value in the request cannot be stored");
    expect(answer(refused, CLIENT_ERRORS)).toEqual({ status: 400, headers: JSON_HEADERS, body: { error: "invalid_request", error_description: "a value in the request cannot be stored" } });
    expect(answer(refused, BEARER_ERRORS)).toEqual({ status: 500, headers: JSON_HEADERS, body: { error: "server_error" } });
    expect(answer(new Error("boom"), CLIENT_ERRORS)).toEqual({ status: 500, headers: JSON_HEADERS, body: { error: "server_error", error_description: "Errors.Internal" } });
    expect(answer(new Error("request aborted"), CLIENT_ERRORS).status).toBeUndefined();
  });
});
