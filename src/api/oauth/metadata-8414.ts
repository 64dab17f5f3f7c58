/**
 * RFC 8414 §2 authorization server metadata, in the RFC's order. Every value is taken from the
 * OpenID Connect discovery document, so the two never disagree; OIDC-only members (userinfo,
 * id_token algorithms, subject types, claims) stay in discovery.
 */
const RFC8414_MEMBERS = [
  "issuer",
  "authorization_endpoint",
  "token_endpoint",
  "jwks_uri",
  "registration_endpoint",
  "scopes_supported",
  "response_types_supported",
  "response_modes_supported",
  "grant_types_supported",
  "token_endpoint_auth_methods_supported",
  "token_endpoint_auth_signing_alg_values_supported",
  "service_documentation",
  "ui_locales_supported",
  "op_policy_uri",
  "op_tos_uri",
  "revocation_endpoint",
  "revocation_endpoint_auth_methods_supported",
  "revocation_endpoint_auth_signing_alg_values_supported",
  "introspection_endpoint",
  "introspection_endpoint_auth_methods_supported",
  "introspection_endpoint_auth_signing_alg_values_supported",
  "code_challenge_methods_supported",
] as const;

/** The document served at `/.well-known/oauth-authorization-server`, from the discovery document (JSON text or object). */
export function authorizationServerMetadata(discovery: string | Readonly<Record<string, unknown>>): string {
  const source = typeof discovery === "string" ? (JSON.parse(discovery) as Record<string, unknown>) : discovery;
  const metadata: Record<string, unknown> = {};
  for (const member of RFC8414_MEMBERS) if (source[member] !== undefined) metadata[member] = source[member];
  return JSON.stringify(metadata);
}
