import type { ClientAuthentication, ClientSecret } from "../../app/oauth/clients.js";
import { OAuthError, clientAuthFailed } from "../../app/oauth/errors.js";
import { header, type Req } from "../http-util.js";

/** Client authentication as a request carries it (RFC 6749 §2.3, RFC 7523 §2.2); app/oauth/clients.ts checks it. */

export const JWT_CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

const malformedBasic = () => new OAuthError("invalid_client", "malformed basic authorization");

/** Basic credentials are form-url-encoded; strict: a bad escape is a malformed header (throws). */
const formUnescape = (s: string) => (s.indexOf("%") < 0 && s.indexOf("+") < 0 ? s : decodeURIComponent(s.replace(/\+/g, " ")));

/** client_secret_basic wins over client_secret_post (as ZITADEL's library). Basic values are form-url-decoded (RFC 6749 §2.3.1). */
export function clientCredentials(req: Req, form: Map<string, string>): ClientSecret | undefined {
  const auth = header(req, "authorization");
  if (auth && /^basic /i.test(auth)) {
    const decoded = Buffer.from(auth.slice(6).trim(), "base64").toString("utf8");
    const i = decoded.indexOf(":");
    if (i < 0) throw malformedBasic();
    try {
      return { clientId: formUnescape(decoded.slice(0, i)), secret: formUnescape(decoded.slice(i + 1)) };
    } catch {
      throw malformedBasic();
    }
  }
  const clientId = form.get("client_id");
  const secret = form.get("client_secret");
  if (clientId !== undefined && secret !== undefined) return { clientId, secret };
  return undefined;
}

/**
 * The client authentication of an introspection or revocation request: client_secret_basic /
 * client_secret_post, or private_key_jwt with a machine key. RFC 6749 §2.3: one method per request.
 */
export function clientAuthentication(req: Req, form: Map<string, string>): ClientAuthentication {
  const assertionType = form.get("client_assertion_type");
  if (assertionType !== undefined || form.has("client_assertion")) {
    if (header(req, "authorization") || form.has("client_secret")) throw new OAuthError("invalid_request", "only one client authentication method may be used");
    const assertion = form.get("client_assertion");
    if (assertionType !== JWT_CLIENT_ASSERTION_TYPE || !assertion) throw clientAuthFailed();
    return { method: "private_key_jwt", assertion, clientId: form.get("client_id") };
  }
  const creds = clientCredentials(req, form);
  if (!creds) throw new OAuthError("invalid_client", "client must be authenticated");
  return { method: "secret", creds };
}

/** The client id a request names, for the rate limits; undefined when it names none (or garbles it). */
export function clientIdOf(req: Req, form: Map<string, string>): string | undefined {
  try {
    return clientCredentials(req, form)?.clientId ?? form.get("client_id");
  } catch {
    return undefined;
  }
}
