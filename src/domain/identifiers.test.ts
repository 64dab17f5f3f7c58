import { describe, expect, it } from "vitest";
import { MAX_ID_BYTES, identifierProblem } from "./identifiers.js";

describe("identifierProblem", () => {
  it("measures ids in bytes of UTF-8, not in characters or UTF-16 units", () => {
    expect(identifierProblem("id", "a".repeat(MAX_ID_BYTES))).toBeUndefined();
    expect(identifierProblem("id", "a".repeat(MAX_ID_BYTES + 1))).toBe("too-long");
    expect(identifierProblem("id", "é".repeat(100))).toBeUndefined(); // 2 bytes each
    expect(identifierProblem("id", "é".repeat(101))).toBe("too-long");
    expect(identifierProblem("id", "€".repeat(66) + "ab")).toBeUndefined(); // 3 bytes each: 200
    expect(identifierProblem("id", "€".repeat(67))).toBe("too-long"); // 201
    expect(identifierProblem("id", "😀".repeat(50))).toBeUndefined(); // 4 bytes, 2 UTF-16 units each
    expect(identifierProblem("id", "😀".repeat(50) + "a")).toBe("too-long");
    for (const id of ["a".repeat(200), "é".repeat(100), "€".repeat(66) + "ab", "😀".repeat(50)]) expect(Buffer.byteLength(id)).toBe(200);
  });

  it("refuses empty, dot-segment and padded ids but keeps dots, slashes and inner spaces", () => {
    expect(identifierProblem("id", "")).toBe("empty");
    expect(identifierProblem("id", ".")).toBe("dot-segment");
    expect(identifierProblem("id", "..")).toBe("dot-segment");
    for (const id of [" a", "a ", "\u00a0a", "a\u3000", "\ufeffa"]) expect(identifierProblem("id", id), JSON.stringify(id)).toBe("padded");
    for (const id of ["...", "a/../b", "a b", ".a", "a.", "%2e%2e", "123456789012345678"]) expect(identifierProblem("id", id), id).toBeUndefined();
  });

  it("refuses C0, DEL, C1, line separators, bidi embeddings/overrides/isolates and unpaired surrogates everywhere", () => {
    const forbidden = ["\u0000", "\t", "\n", "\r", "\u001f", "\u007f", "\u0080", "\u0085", "\u009f", "\u2028", "\u2029", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\ud800", "\udfff", "\udc00\ud800"];
    for (const c of forbidden)
      for (const kind of ["id", "username", "name"] as const) expect(identifierProblem(kind, `a${c}b`), `${kind} ${JSON.stringify(c)}`).toBe("characters");
  });

  it("refuses the invisible directional marks in ids and usernames, not in display names", () => {
    for (const c of ["\u200e", "\u200f", "\u061c"]) {
      expect(identifierProblem("id", `a${c}`)).toBe("characters");
      expect(identifierProblem("username", `a${c}`)).toBe("characters");
      expect(identifierProblem("name", `\u05d0${c}1`)).toBeUndefined();
    }
  });

  it("accepts ordinary text in any script, emoji and joiners", () => {
    for (const v of ["svc-1", "Straße", "사용자", "مستخدم", "👩‍💻", "a\u200db", "NBSP\u00a0inside", "tab-free"]) {
      for (const kind of ["id", "username", "name"] as const) expect(identifierProblem(kind, v), `${kind} ${v}`).toBeUndefined();
    }
  });
});
