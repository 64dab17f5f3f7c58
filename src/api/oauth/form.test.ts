import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseForm } from "./form.js";

/**
 * What the WHATWG application/x-www-form-urlencoded parser makes of a body, with RFC 6749's "no
 * parameter twice" on top: Node's URLSearchParams for ASCII bodies; for bodies with other bytes the
 * specification's steps written out plainly, because Node's URLSearchParams departs from them there
 * (it turns "%C3%A9😀%" into "é=\0%" and "é%E2" into two replacement characters).
 */
function reference(body: Buffer): Map<string, string> | "duplicate" {
  const m = new Map<string, string>();
  const ascii = body.every((b) => b < 0x80);
  // The constructor drops one leading "?" from a string; a body keeps it.
  const pairs = ascii ? new URLSearchParams("?" + body.toString("latin1")) : specParse(body);
  for (const [k, v] of pairs) {
    if (m.has(k)) return "duplicate";
    m.set(k, v);
  }
  return m;
}

function specParse(body: Buffer): [string, string][] {
  const decode = (bytes: number[]) => {
    const out: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] === 0x2b ? 0x20 : bytes[i]!;
      const hex = String.fromCharCode(bytes[i + 1] ?? 0, bytes[i + 2] ?? 0);
      if (b === 0x25 && i + 2 < bytes.length && /^[0-9A-Fa-f]{2}$/.test(hex)) {
        out.push(parseInt(hex, 16));
        i += 2;
      } else out.push(b);
    }
    return Buffer.from(out).toString("utf8");
  };
  const bytes = [...Buffer.from(body.toString("utf8"), "utf8")];
  const pairs: [string, string][] = [];
  let seq: number[] = [];
  for (const b of [...bytes, 0x26]) {
    if (b !== 0x26) {
      seq.push(b);
      continue;
    }
    if (seq.length > 0) {
      const eq = seq.indexOf(0x3d);
      pairs.push(eq < 0 ? [decode(seq), ""] : [decode(seq.slice(0, eq)), decode(seq.slice(eq + 1))]);
    }
    seq = [];
  }
  return pairs;
}

function parsed(body: Buffer): Map<string, string> | "duplicate" {
  try {
    return parseForm(body);
  } catch (e) {
    expect((e as { error?: string }).error).toBe("invalid_request");
    return "duplicate";
  }
}

describe("parseForm", () => {
  it("reads what the WHATWG parser reads, for any mix of separators, escapes and UTF-8", () => {
    const piece = fc.constantFrom("a", "b", "=", "&", "+", "%", "2", "0", "4", "1", "e", "F", "%zz", "%2", "%C3%A9", "%E2", "%FF", "é", "😀", " ", "%26", "%3D", "%2B");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (parts, bytes) => {
        for (const body of [Buffer.from(parts.join("")), Buffer.from(bytes)]) {
          const want = reference(body);
          const got = parsed(body);
          expect(got === "duplicate" ? got : [...got]).toEqual(want === "duplicate" ? want : [...want]);
        }
      }),
      { numRuns: 3000, seed: 20261129 },
    );
  });

  it("decodes escapes as bytes of UTF-8 with replacement (WHATWG URL, application/x-www-form-urlencoded parsing)", () => {
    expect([...parseForm(Buffer.from("a=%C3%A9&b=%zz%2&c=é%E2&d=%FF"))]).toEqual([
      ["a", "é"],
      ["b", "%zz%2"],
      ["c", "é\ufffd"],
      ["d", "\ufffd"],
    ]);
  });

  it("reads a token request", () => {
    const form = parseForm(Buffer.from("grant_type=client_credentials&scope=openid+urn%3Azitadel%3Aiam%3Aorg%3Aproject%3Aid%3Azitadel%3Aaud"));
    expect(form.get("grant_type")).toBe("client_credentials");
    expect(form.get("scope")).toBe("openid urn:zitadel:iam:org:project:id:zitadel:aud");
  });

  it("a duplicated parameter is invalid_request naming it only when it is a plain name", () => {
    expect(() => parseForm(Buffer.from("scope=a&scope=b"))).toThrow("parameter scope must not be included more than once");
    for (const k of ["%E2%82%AC", "a%0D%0AX", 'a"b', "a%22b", "x".repeat(65)])
      expect(() => parseForm(Buffer.from(`${k}=1&${k}=2`))).toThrow(/^a parameter must not be included more than once$/);
  });
});
