import { OAuthError } from "./errors.js";

export const API_AUDIENCE_SCOPE = "urn:zitadel:iam:org:project:id:zitadel:aud";
/** A project audience scope; "zitadel" names the instance's own project (the API). */
export const PROJECT_AUD = /^urn:zitadel:iam:org:project:id:([^:]+):aud$/;
const KEPT_SCOPES = new Set(["openid", "profile", "email", "phone", "address", "offline_access", "urn:zitadel:iam:user:metadata", "urn:zitadel:iam:user:resourceowner", "urn:zitadel:iam:org:projects:roles"]);
const KEPT_PREFIXES = [
  "urn:zitadel:iam:org:project:id:",
  "urn:zitadel:iam:org:id:",
  "urn:zitadel:iam:org:domain:primary:",
  "urn:zitadel:iam:org:roles:id:",
  "urn:zitadel:iam:org:idp:id:",
  "urn:zitadel:iam:org:project:role:",
];

/**
 * ZITADEL keeps known scopes and prefixes for machine users and drops the rest silently (client.go).
 * Clients send the same scope string request after request: the answer is kept (frozen, shared) for
 * up to 1,024 distinct strings.
 */
export function filterScopes(scope: string): readonly string[] {
  let kept = scopeCache.get(scope);
  if (!kept) {
    if (scopeCache.size >= 1024) scopeCache.clear();
    scopeCache.set(scope, (kept = Object.freeze(computeScopes(scope))));
  }
  return kept;
}
const scopeCache = new Map<string, readonly string[]>();

function computeScopes(scope: string): string[] {
  const out: string[] = [];
  for (const s of scope.split(" ")) {
    if (!s || out.includes(s)) continue;
    if (KEPT_SCOPES.has(s) || KEPT_PREFIXES.some((p) => s.startsWith(p))) out.push(s);
  }
  return out;
}

/** The project ids of a token's audience scopes, in order, once each ("zitadel" is the instance's own project). */
export function audienceOf(scopes: readonly string[], instanceProjectId: string): string[] {
  const aud: string[] = [];
  for (const s of scopes) {
    const m = PROJECT_AUD.exec(s);
    if (m) {
      const id = m[1] === "zitadel" ? instanceProjectId : m[1]!;
      if (!aud.includes(id)) aud.push(id);
    }
  }
  return aud;
}

/** ZITADEL requires a scope (oidc op.ValidateAuthReqScopes) and answers invalid_request without one. */
export function requireScope(scope: string | undefined): readonly string[] {
  if (!scope?.trim())
    throw new OAuthError(
      "invalid_request",
      "The scope of your request is missing. Please ensure some scopes are requested. If you have questions, please contact the administrator of the application.",
    );
  return filterScopes(scope);
}
