import { OAuthError } from "../../app/oauth/errors.js";

/** The largest form body the OAuth endpoints read. */
export const FORM_LIMIT = 64 * 1024;

const FORM_TYPE = "application/x-www-form-urlencoded";

/**
 * Whether a Content-Type names a form body (RFC 6749 §3.2, §4.4.2): the media type compared without
 * case, parameters such as a charset allowed. A body of any other type is not read as a form (as
 * ZITADEL's Go server, which ignores it).
 */
export function isFormType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  if (contentType === FORM_TYPE) return true;
  const semi = contentType.indexOf(";");
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === FORM_TYPE;
}

/**
 * Parses an application/x-www-form-urlencoded body as URLSearchParams does (WHATWG URL §5.1: "+" is
 * a space, invalid percent escapes stay as they are, bytes are UTF-8 with replacement), without its
 * per-call cost. RFC 6749 §3.2: parameters must not be included more than once.
 */
export function parseForm(body: Buffer): Map<string, string> {
  const form = new Map<string, string>();
  const text = body.toString("utf8");
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("&", start);
    if (end < 0) end = text.length;
    if (end > start) {
      const eq = text.indexOf("=", start);
      const hasValue = eq >= 0 && eq < end;
      const k = decodeFormComponent(text.slice(start, hasValue ? eq : end));
      const v = hasValue ? decodeFormComponent(text.slice(eq + 1, end)) : "";
      if (form.has(k)) throw duplicate(k);
      form.set(k, v);
    }
    start = end + 1;
  }
  return form;
}

/** Names the parameter only when it is a plain name: the description may end up in a header (WWW-Authenticate). */
const duplicate = (k: string) =>
  new OAuthError("invalid_request", /^[A-Za-z0-9_.-]{1,64}$/.test(k) ? `parameter ${k} must not be included more than once` : "a parameter must not be included more than once");

function decodeFormComponent(s: string): string {
  const plus = s.indexOf("+") >= 0 ? s.replace(/\+/g, " ") : s;
  if (plus.indexOf("%") < 0) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    return percentDecodeLenient(plus);
  }
}

const hexValue = (c: number) => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1);

/** Percent-decodes the UTF-8 bytes of `s`, keeping invalid escapes as they are; then UTF-8 with replacement. */
function percentDecodeLenient(s: string): string {
  const src = Buffer.from(s, "utf8");
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    const hi = c === 37 && i + 2 < src.length ? hexValue(src[i + 1]!) : -1;
    const lo = hi >= 0 ? hexValue(src[i + 2]!) : -1;
    if (lo >= 0) {
      out[n++] = hi * 16 + lo;
      i += 2;
    } else out[n++] = c;
  }
  return out.toString("utf8", 0, n);
}
