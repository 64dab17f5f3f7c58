/** IP addresses (Go's net.ParseIP) and hostnames (PGV known.go), for the string well-known rules. */
import { isIPv4, isIPv6 } from "node:net";
import { goQuote, utf8Length } from "./go-format.js";

// IP addresses (net.ParseIP)

export interface ParsedIP {
  /** ip.To4() != nil: an IPv4 address or an IPv4-mapped IPv6 address. */
  readonly v4: boolean;
}

export function parseIP(s: string): ParsedIP | undefined {
  if (isIPv4(s)) return { v4: true };
  if (s.includes("%") || !isIPv6(s)) return undefined;
  try {
    const canonical = new URL(`http://[${s}]/`).hostname;
    return { v4: /^\[::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}\]$/.test(canonical) };
  } catch {
    return undefined;
  }
}

// Hostnames (known.go)

/** _validateHostname */
export function hostnameError(host: string): string | undefined {
  const s = goToLower(host.endsWith(".") ? host.slice(0, -1) : host);
  if (utf8Length(host) > 253) return "hostname cannot exceed 253 characters";
  for (const part of s.split(".")) {
    const l = utf8Length(part);
    if (l === 0 || l > 63) return "hostname part must be non-empty and cannot exceed 63 characters";
    if (part.startsWith("-")) return "hostname parts cannot begin with hyphens";
    if (part.endsWith("-")) return "hostname parts cannot end with hyphens";
    for (const ch of part) {
      if (!/^[a-z0-9-]$/.test(ch)) return `hostname parts can only contain alphanumeric characters or hyphens, got ${goQuote(ch)}`;
    }
  }
  return undefined;
}

/** strings.ToLower maps rune by rune (simple case mapping, no final-sigma context). */
function goToLower(s: string): string {
  let out = "";
  for (const ch of s) out += [...ch.toLowerCase()][0] ?? ch;
  return out;
}
