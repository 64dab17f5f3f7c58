import { BlockList, isIP } from "node:net";
import type { Req } from "./http-util.js";

/** The address of the client a request comes from, as every protocol's limits key it. */
export type ClientAddress = (req: Pick<Req, "headers" | "socket">) => string;

/** "::ffff:10.0.0.1" → "10.0.0.1"; "[::1]:8080" / "1.2.3.4:80" / quoted → the bare address; "" when not an IP address. */
export function normalizeAddress(raw: string): string {
  let a = raw.trim();
  if (a.startsWith('"') && a.endsWith('"') && a.length >= 2) a = a.slice(1, -1);
  if (a.startsWith("[")) a = a.slice(1, a.indexOf("]") < 0 ? undefined : a.indexOf("]"));
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(":"));
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a)) a = a.slice(7);
  return isIP(a) ? a.toLowerCase() : "";
}

/** The `for=` addresses of an RFC 7239 Forwarded header, left to right. */
function forwardedFor(v: string): string[] {
  return v.split(",").map((element) => {
    const pair = element.split(";").find((p) => p.trim().toLowerCase().startsWith("for="));
    return pair === undefined ? "" : pair.trim().slice(4);
  });
}

/**
 * One client-address function for every protocol (OAuth endpoints, REST, gRPC/Connect). The
 * socket's peer, unless it is one of `trustedProxies` (CIDRs or addresses): then the chain of
 * `Forwarded` (RFC 7239, preferred) or `X-Forwarded-For` is read from the right, skipping trusted
 * proxies, and the right-most untrusted address is the client. A hop that is not an IP address
 * (RFC 7239's "unknown" or an obfuscated name) ends the walk at the last trusted proxy.
 */
export function createClientAddress(trustedProxies: readonly string[]): ClientAddress {
  const socketAddress = (req: Pick<Req, "socket">) => {
    const raw = req.socket?.remoteAddress ?? "";
    return normalizeAddress(raw) || raw;
  };
  if (trustedProxies.length === 0) return socketAddress;
  const trusted = new BlockList();
  for (const cidr of trustedProxies) {
    const [net, bits] = cidr.split("/");
    const address = normalizeAddress(net ?? "");
    const type = isIP(address) === 6 ? "ipv6" : "ipv4";
    if (!address) throw new Error(`trustedProxies: ${cidr} is not an address or CIDR`);
    if (bits === undefined) trusted.addAddress(address, type);
    else trusted.addSubnet(address, Number(bits), type);
  }
  const isTrusted = (a: string) => trusted.check(a, isIP(a) === 6 ? "ipv6" : "ipv4");
  return (req) => {
    let client = socketAddress(req);
    if (!client || !isTrusted(client)) return client;
    const fwd = req.headers["forwarded"];
    const xff = req.headers["x-forwarded-for"];
    const join = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(",") : (v ?? ""));
    const chain = fwd !== undefined ? forwardedFor(join(fwd)) : join(xff).split(",");
    for (let i = chain.length - 1; i >= 0; i--) {
      const hop = normalizeAddress(chain[i]!);
      if (!hop) return client;
      client = hop;
      if (!isTrusted(hop)) return hop;
    }
    return client;
  };
}
