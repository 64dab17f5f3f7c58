import { describe, expect, it } from "vitest";
import { createClientAddress, normalizeAddress } from "./client-address.js";

const req = (remoteAddress: string, headers: Record<string, string> = {}) => ({ socket: { remoteAddress }, headers }) as never;

describe("client address", () => {
  it("normalizes addresses", () => {
    expect(normalizeAddress("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(normalizeAddress(' "[2001:DB8::1]:4711" ')).toBe("2001:db8::1");
    expect(normalizeAddress("192.0.2.1:80")).toBe("192.0.2.1");
    expect(normalizeAddress("unknown")).toBe("");
  });

  it("ignores the headers without trusted proxies, or from an untrusted peer", () => {
    expect(createClientAddress([])(req("10.0.0.5", { "x-forwarded-for": "203.0.113.1" }))).toBe("10.0.0.5");
    expect(createClientAddress(["10.0.0.0/8"])(req("192.0.2.9", { "x-forwarded-for": "203.0.113.1" }))).toBe("192.0.2.9");
  });

  it("takes the right-most untrusted address of the chain", () => {
    const addr = createClientAddress(["10.0.0.0/8", "fd00::/8", "127.0.0.1"]);
    expect(addr(req("::ffff:10.0.0.5", { "x-forwarded-for": "198.51.100.7, 203.0.113.1, 10.9.9.9" }))).toBe("203.0.113.1");
    expect(addr(req("127.0.0.1", { forwarded: 'for=198.51.100.7, for="[2001:db8::1]:4711";proto=https, for=fd00::2' }))).toBe("2001:db8::1");
    // Forwarded wins over X-Forwarded-For.
    expect(addr(req("10.0.0.5", { forwarded: "for=198.51.100.8", "x-forwarded-for": "203.0.113.1" }))).toBe("198.51.100.8");
    // All trusted: the left-most; a hop that is not an address: the last trusted proxy.
    expect(addr(req("10.0.0.5", { "x-forwarded-for": "10.1.1.1" }))).toBe("10.1.1.1");
    expect(addr(req("10.0.0.5", { forwarded: "for=unknown" }))).toBe("10.0.0.5");
    expect(addr(req("10.0.0.5"))).toBe("10.0.0.5");
  });
});
