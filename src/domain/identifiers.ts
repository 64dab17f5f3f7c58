/**
 * What an identifier may contain: caller-chosen ids, usernames (the OAuth client_id) and display
 * names. Pure: the commands of every API version apply the same rules (users/rules.ts).
 *
 * Refused in all three:
 * - control characters: C0 (U+0000–U+001F, tab and line feed included), DEL (U+007F), C1
 *   (U+0080–U+009F), and the line and paragraph separators U+2028/U+2029 — they end or split a log
 *   line, a header, a CSV cell or a console row;
 * - the bidirectional embeddings and overrides U+202A–U+202E and the isolates U+2066–U+2069: they
 *   reorder how everything after them displays ("Trojan Source", CVE-2021-42574), so a name can
 *   show as another name;
 * - unpaired surrogates: not text; stored or sent as UTF-8 they become U+FFFD, and the value read
 *   back no longer matches the one given.
 * Refused in ids and usernames, allowed in display names: the invisible directional marks U+200E
 * (LRM), U+200F (RLM) and U+061C (ALM). A right-to-left display name may need one to render
 * correctly; in an identifier they only make two values that look the same differ.
 *
 * Ids further: 1 to MAX_ID_BYTES bytes of UTF-8 (the limit every credential format holds), not `.`
 * or `..` (a path segment that clients normalising URLs remove, even percent-encoded), and without
 * leading or trailing whitespace (invisible, and trimmed away by many clients).
 */

/** The longest user id, in bytes of UTF-8: every token format carries ids of this size (a PAT up to 255). */
export const MAX_ID_BYTES = 200;

export type IdentifierKind = "id" | "username" | "name";

export type IdentifierProblem = "empty" | "too-long" | "dot-segment" | "padded" | "characters";

/** The first rule `value` breaks as an identifier of this kind, or undefined when it is acceptable. */
export function identifierProblem(kind: IdentifierKind, value: string): IdentifierProblem | undefined {
  const scan = scanText(value, kind !== "name");
  if (scan.forbidden) return "characters";
  if (kind !== "id") return undefined;
  if (value === "") return "empty";
  if (scan.utf8Bytes > MAX_ID_BYTES) return "too-long";
  if (value === "." || value === "..") return "dot-segment";
  if (/^\s|\s$/u.test(value)) return "padded";
  return undefined;
}

/** One pass over the UTF-16 code units: forbidden characters (see the file comment) and the UTF-8 length. */
function scanText(s: string, refuseMarks: boolean): { forbidden: boolean; utf8Bytes: number } {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return { forbidden: true, utf8Bytes: bytes };
    if (c === 0x2028 || c === 0x2029 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) return { forbidden: true, utf8Bytes: bytes };
    if (refuseMarks && (c === 0x200e || c === 0x200f || c === 0x061c)) return { forbidden: true, utf8Bytes: bytes };
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return { forbidden: true, utf8Bytes: bytes };
      bytes += 4;
      i++;
      continue;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return { forbidden: true, utf8Bytes: bytes };
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
  }
  return { forbidden: false, utf8Bytes: bytes };
}
