/** Email addresses (PGV known.go `_validateEmail`, on top of a port of Go's net/mail.ParseAddress). */
import { hostnameError, parseIP } from "./address.js";
import { goQuote, goQuoteRune, utf8Length } from "./go-format.js";

/** _validateEmail */
export function emailError(addr: string): string | undefined {
  let address: string;
  try {
    address = new AddressParser(addr).parseSingleAddress();
  } catch (e) {
    if (e instanceof MailError) return e.message;
    throw e;
  }
  if (utf8Length(address) > 254) return "email addresses cannot exceed 254 characters";
  const at = address.indexOf("@");
  if (utf8Length(address.slice(0, at)) > 64) return "email address local phrase cannot exceed 64 characters";
  return hostnameError(address.slice(at + 1));
}

class MailError extends Error {}

const SPECIALS = new Set(["(", ")", "<", ">", "[", "]", ":", ";", "@", "\\", ",", '"']);

function isVchar(ch: string): boolean {
  return (ch >= "!" && ch <= "~") || (ch.codePointAt(0) ?? 0) >= 0x80;
}

function isAtext(ch: string, dot: boolean): boolean {
  if (ch === ".") return dot;
  return !SPECIALS.has(ch) && isVchar(ch);
}

const isWSP = (ch: string) => ch === " " || ch === "\t";
const isQtext = (ch: string) => ch !== "\\" && ch !== '"' && isVchar(ch);
const isDtext = (ch: string) => ch !== "[" && ch !== "]" && ch !== "\\" && isVchar(ch);

/** A port of the parts of Go's net/mail addrParser that ParseAddress reaches; errors keep Go's text. */
class AddressParser {
  constructor(private s: string) {}

  parseSingleAddress(): string {
    const addrs = this.parseAddress(true);
    if (!this.skipCFWS()) throw new MailError("mail: misformatted parenthetical comment");
    if (this.s !== "") throw new MailError(`mail: expected single address, got ${goQuote(this.s)}`);
    if (addrs.length === 0) throw new MailError("mail: empty group");
    if (addrs.length > 1) throw new MailError("mail: group with multiple addresses");
    return addrs[0] ?? "";
  }

  private parseAddress(handleGroup: boolean): string[] {
    this.skipSpace();
    if (this.s === "") throw new MailError("mail: no address");
    const spec = this.tryAddrSpec();
    if (spec !== undefined) {
      this.skipSpace();
      if (this.s.startsWith("(")) this.consumeDisplayNameComment();
      return [spec];
    }
    const displayName = this.s.startsWith("<") ? "" : this.consumePhrase();
    this.skipSpace();
    if (handleGroup && this.consume(":")) return this.consumeGroupList();
    if (!this.consume("<")) {
      const atext = [...displayName].every((ch) => isAtext(ch, true));
      throw new MailError(atext ? "mail: missing '@' or angle-addr" : "mail: no angle-addr");
    }
    const angled = this.consumeAddrSpec();
    if (!this.consume(">")) throw new MailError("mail: unclosed angle-addr");
    return [angled];
  }

  private consumeGroupList(): string[] {
    const group: string[] = [];
    this.skipSpace();
    if (this.consume(";")) {
      if (!this.skipCFWS()) throw new MailError("mail: misformatted parenthetical comment");
      return group;
    }
    for (;;) {
      this.skipSpace();
      group.push(...this.parseAddress(false));
      if (!this.skipCFWS()) throw new MailError("mail: misformatted parenthetical comment");
      if (this.consume(";")) {
        if (!this.skipCFWS()) throw new MailError("mail: misformatted parenthetical comment");
        return group;
      }
      if (!this.consume(",")) throw new MailError("mail: expected comma");
    }
  }

  /** Go restores the parser state when the addr-spec attempt fails. */
  private tryAddrSpec(): string | undefined {
    const saved = this.s;
    try {
      return this.consumeAddrSpec();
    } catch (e) {
      if (!(e instanceof MailError)) throw e;
      this.s = saved;
      return undefined;
    }
  }

  private consumeAddrSpec(): string {
    const saved = this.s;
    try {
      return this.addrSpec();
    } catch (e) {
      this.s = saved;
      throw e;
    }
  }

  private addrSpec(): string {
    this.skipSpace();
    if (this.s === "") throw new MailError("mail: no addr-spec");
    let localPart: string;
    if (this.s.startsWith('"')) {
      // Go overwrites any quoted-string error when the result is empty.
      localPart = this.tryQuotedString() ?? "";
      if (localPart === "") throw new MailError("mail: empty quoted string in addr-spec");
    } else {
      localPart = this.consumeAtom(true, false);
    }
    if (!this.consume("@")) throw new MailError("mail: missing @ in addr-spec");
    this.skipSpace();
    if (this.s === "") throw new MailError("mail: no domain in addr-spec");
    const domain = this.s.startsWith("[") ? this.consumeDomainLiteral() : this.consumeAtom(true, false);
    return `${localPart}@${domain}`;
  }

  private tryQuotedString(): string | undefined {
    try {
      return this.consumeQuotedString();
    } catch (e) {
      if (e instanceof MailError) return undefined;
      throw e;
    }
  }

  private consumePhrase(): string {
    const words: string[] = [];
    let isPrevEncoded = false;
    let error: string | undefined;
    for (;;) {
      if (words.length > 0 && !this.skipCFWS()) throw new MailError("mail: misformatted parenthetical comment");
      this.skipSpace();
      if (this.s === "") break;
      const next = this.nextWord();
      if (typeof next === "string") {
        error = next;
        break;
      }
      if (isPrevEncoded && next.encoded) words[words.length - 1] += next.word;
      else words.push(next.word);
      isPrevEncoded = next.encoded;
    }
    if (error !== undefined && words.length === 0) throw new MailError(`mail: missing word in phrase: ${error}`);
    return words.join(" ");
  }

  /** One phrase word, or the error text that ends the phrase. */
  private nextWord(): { word: string; encoded: boolean } | string {
    try {
      if (this.s.startsWith('"')) return { word: this.consumeQuotedString(), encoded: false };
      const atom = this.consumeAtom(true, true);
      const decoded = decodeRfc2047Word(atom);
      return decoded.error ?? { word: decoded.word, encoded: decoded.encoded };
    } catch (e) {
      if (e instanceof MailError) return e.message;
      throw e;
    }
  }

  private consumeQuotedString(): string {
    const chars = [...this.s];
    let out = "";
    let escaped = false;
    let i = 1;
    for (; ; i++) {
      const ch = chars[i];
      if (ch === undefined) throw new MailError("mail: unclosed quoted-string");
      if (escaped) {
        if (!isVchar(ch) && !isWSP(ch)) throw new MailError(`mail: bad character in quoted-string: ${goQuoteRune(ch)}`);
        out += ch;
        escaped = false;
      } else if (isQtext(ch) || isWSP(ch)) {
        out += ch;
      } else if (ch === '"') {
        break;
      } else if (ch === "\\") {
        escaped = true;
      } else {
        throw new MailError(`mail: bad character in quoted-string: ${goQuoteRune(ch)}`);
      }
    }
    this.s = chars.slice(i + 1).join("");
    return out;
  }

  private consumeAtom(dot: boolean, permissive: boolean): string {
    let atom = "";
    for (const ch of this.s) {
      if (!isAtext(ch, dot)) break;
      atom += ch;
    }
    if (atom === "") throw new MailError("mail: invalid string");
    this.s = this.s.slice(atom.length);
    if (!permissive) {
      if (atom.startsWith(".")) throw new MailError("mail: leading dot in atom");
      if (atom.includes("..")) throw new MailError("mail: double dot in atom");
      if (atom.endsWith(".")) throw new MailError("mail: trailing dot in atom");
    }
    return atom;
  }

  private consumeDomainLiteral(): string {
    if (!this.consume("[")) throw new MailError('mail: missing "[" in domain-literal');
    let dtext = "";
    for (const ch of this.s) {
      if (ch === "]") break;
      if (!isDtext(ch)) throw new MailError(`mail: bad character in domain-literal: ${goQuoteRune(ch)}`);
      dtext += ch;
    }
    this.s = this.s.slice(dtext.length);
    if (!this.consume("]")) throw new MailError("mail: unclosed domain-literal");
    if (dtext.startsWith("IPv6:")) {
      // net.ParseIP yields 16 bytes for any valid address, IPv4 included.
      if (parseIP(dtext.slice(5)) === undefined) throw new MailError(`mail: invalid IPv6 address in domain-literal: ${goQuote(dtext)}`);
    } else if (parseIP(dtext)?.v4 !== true) {
      throw new MailError(`mail: invalid IP address in domain-literal: ${goQuote(dtext)}`);
    }
    return `[${dtext}]`;
  }

  private consumeDisplayNameComment(): void {
    this.consume("(");
    const comment = this.consumeComment();
    if (comment === undefined) throw new MailError("mail: misformatted parenthetical comment");
    for (const word of comment.split(/[ \t]+/).filter((w) => w !== "")) {
      // Unlike in a phrase, a charset error in a comment is returned unprefixed.
      const decoded = decodeRfc2047Word(word);
      if (decoded.error !== undefined) throw new MailError(decoded.error);
    }
  }

  private consume(ch: string): boolean {
    if (!this.s.startsWith(ch)) return false;
    this.s = this.s.slice(1);
    return true;
  }

  private skipSpace(): void {
    this.s = this.s.replace(/^[ \t]+/, "");
  }

  private skipCFWS(): boolean {
    this.skipSpace();
    while (this.consume("(")) {
      if (this.consumeComment() === undefined) return false;
      this.skipSpace();
    }
    return true;
  }

  /** After '('; undefined when the parentheses never balance. */
  private consumeComment(): string | undefined {
    let depth = 1;
    let comment = "";
    while (this.s !== "" && depth > 0) {
      if (this.s.startsWith("\\") && this.s.length > 1) this.s = this.s.slice(1);
      else if (this.s.startsWith("(")) depth++;
      else if (this.s.startsWith(")")) depth--;
      if (depth > 0) comment += this.s.slice(0, 1);
      this.s = this.s.slice(1);
    }
    return depth === 0 ? comment : undefined;
  }
}

interface DecodedWord {
  readonly word: string;
  readonly encoded: boolean;
  readonly error?: string;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const NATIVE_CHARSETS = new Set(["utf-8", "iso-8859-1", "us-ascii"]);

/**
 * mime.WordDecoder as net/mail uses it: only an unsupported charset is an
 * error, malformed words are kept verbatim. The decoded text itself is never
 * needed because display names are discarded.
 */
function decodeRfc2047Word(s: string): DecodedWord {
  const plain = { word: s, encoded: false };
  if (s.length < 8 || !s.startsWith("=?") || !s.endsWith("?=") || s.split("?").length !== 5) return plain;
  const [charset = "", encoding = "", text = ""] = s.slice(2, -2).split("?");
  if (charset === "" || encoding.length !== 1) return plain;
  if (!decodesAs(encoding, text)) return plain;
  const lower = charset.toLowerCase();
  if (NATIVE_CHARSETS.has(lower)) return { word: s, encoded: true };
  return { word: s, encoded: true, error: `charset not supported: ${goQuote(lower)}` };
}

function decodesAs(encoding: string, text: string): boolean {
  if (encoding === "B" || encoding === "b") return BASE64.test(text);
  if (encoding === "Q" || encoding === "q") return /^(?:[ -<>-~\t\r\n]|=[0-9A-Fa-f]{2})*$/.test(text);
  return false;
}
