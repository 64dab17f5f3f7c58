import { GRANTS } from "../../app/oauth/grants.js";

/** OpenID Connect Discovery 1.0 §3 for `issuer` (PORTCULLIS_EXTERNAL_URL exactly as configured). */
export function discoveryDocument(issuer: string): string {
  return JSON.stringify({
    issuer,
    authorization_endpoint: `${issuer}/oauth/v2/authorize`,
    token_endpoint: `${issuer}/oauth/v2/token`,
    introspection_endpoint: `${issuer}/oauth/v2/introspect`,
    userinfo_endpoint: `${issuer}/oidc/v1/userinfo`,
    revocation_endpoint: `${issuer}/oauth/v2/revoke`,
    jwks_uri: `${issuer}/oauth/v2/keys`,
    scopes_supported: ["openid", "profile", "email", "phone", "address", "offline_access"],
    response_types_supported: ["code", "id_token", "id_token token"],
    grant_types_supported: GRANTS.map((g) => g.grantType),
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt"],
    token_endpoint_auth_signing_alg_values_supported: ["RS256"],
    introspection_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt"],
    introspection_endpoint_auth_signing_alg_values_supported: ["RS256"],
    revocation_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt"],
    revocation_endpoint_auth_signing_alg_values_supported: ["RS256"],
    claims_supported: ["sub", "aud", "exp", "iat", "iss", "auth_time", "amr", "at_hash", "client_id", "azp", "name", "preferred_username", "updated_at"],
    code_challenge_methods_supported: ["S256"],
  });
}

