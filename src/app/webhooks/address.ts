import { BlockList, isIP } from "node:net";

/**
 * Where a webhook may be delivered. Link-local addresses (169.254.0.0/16 with the cloud metadata
 * endpoints 169.254.169.254 / 169.254.170.2, fe80::/10, AWS's fd00:ec2::254) and unspecified ones
 * never: a subscription must not turn the server into a reader of its own cloud credentials.
 * Loopback only when webhooks.allowLoopback (tests, development). Private networks are allowed:
 * receivers next to the server are the common case.
 */
const never = new BlockList();
never.addSubnet("169.254.0.0", 16, "ipv4");
never.addSubnet("0.0.0.0", 8, "ipv4");
never.addSubnet("fe80::", 10, "ipv6");
never.addAddress("fd00:ec2::254", "ipv6");
never.addAddress("::", "ipv6");
never.addSubnet("::ffff:169.254.0.0", 112, "ipv6");
const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");
loopback.addSubnet("::ffff:127.0.0.0", 104, "ipv6");

/** Private, shared, benchmarking, multicast and reserved ranges: refused where only public hosts may be reached. */
const privateNetworks = new BlockList();
for (const [net, bits] of [["10.0.0.0", 8], ["172.16.0.0", 12], ["192.168.0.0", 16], ["100.64.0.0", 10], ["198.18.0.0", 15], ["192.0.0.0", 24], ["224.0.0.0", 4], ["240.0.0.0", 4]] as const) {
  privateNetworks.addSubnet(net, bits, "ipv4"); // IPv4-mapped IPv6 addresses match these too
}
for (const [net, bits] of [["fc00::", 7], ["ff00::", 8], ["fec0::", 10], ["64:ff9b:1::", 48]] as const) privateNetworks.addSubnet(net, bits, "ipv6");

/** NAT64's well-known prefix (RFC 6052): the last 32 bits are an IPv4 address, judged as that address. */
const nat64 = new BlockList();
nat64.addSubnet("64:ff9b::", 96, "ipv6");

/** The IPv4 address in the last 32 bits of an IPv6 address (written with "::" and/or a dotted tail). */
function embeddedIPv4(ip: string): string {
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (dotted) return dotted[1]!;
  const [head, tail = ""] = ip.split("::");
  const groups = [...(head ? head.split(":") : []), ...Array<string>(8).fill("0")].slice(0, 8);
  const tailGroups = tail ? tail.split(":") : [];
  const all = ip.includes("::") ? [...groups.slice(0, 8 - tailGroups.length), ...tailGroups] : groups;
  const hi = parseInt(all[6] || "0", 16);
  const lo = parseInt(all[7] || "0", 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join(".");
}

export interface AddressRules {
  /** Refuse private networks too (default false: webhook receivers next to the server are the common case). */
  publicOnly?: boolean;
  /** The setting that allows loopback, named in the refusal (default webhooks.allowLoopback). */
  loopbackSetting?: string;
}

/** Why an address may not receive webhooks (or, with `rules`, be reached by another outbound request), or undefined when it may. */
export function refusedAddress(ip: string, allowLoopback: boolean, rules: AddressRules = {}): string | undefined {
  const family = isIP(ip);
  if (family === 0) return "not an IP address";
  const type = family === 4 ? "ipv4" : "ipv6";
  if (type === "ipv6" && nat64.check(ip, "ipv6")) {
    const why = refusedAddress(embeddedIPv4(ip), allowLoopback, rules);
    return why && `NAT64 of a ${why}`;
  }
  if (never.check(ip, type)) return "link-local, metadata or unspecified address";
  if (!allowLoopback && loopback.check(ip, type)) return `loopback address (set ${rules.loopbackSetting ?? "webhooks.allowLoopback"} for development)`;
  if (rules.publicOnly && privateNetworks.check(ip, type)) return "private, shared, multicast or reserved address";
  return undefined;
}

/** The URL's own rules: http or https, a host, no credentials in it; a literal IP is checked here too. */
export function refusedUrl(raw: string, allowLoopback: boolean): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return "not a URL";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return "only http and https URLs";
  if (!u.hostname) return "no host";
  if (u.username || u.password) return "credentials in the URL";
  const host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
  if (isIP(host)) return refusedAddress(host, allowLoopback);
  if (!allowLoopback && /^localhost\.?$/i.test(host)) return "loopback address (set webhooks.allowLoopback for development)";
  return undefined;
}
