import { describe, expect, it } from "vitest";
import { refusedAddress, refusedUrl } from "./address.js";

describe("webhook addresses", () => {
  it("never link-local, metadata or unspecified; loopback only when allowed; private networks yes", () => {
    for (const ip of ["169.254.169.254", "169.254.170.2", "fe80::1", "fd00:ec2::254", "0.0.0.0", "::", "::ffff:169.254.169.254"]) {
      expect(refusedAddress(ip, true), ip).toBeDefined();
    }
    for (const ip of ["127.0.0.1", "::1", "::ffff:127.0.0.1"]) {
      expect(refusedAddress(ip, false), ip).toMatch(/loopback/);
      expect(refusedAddress(ip, true), ip).toBeUndefined();
    }
    for (const ip of ["10.0.0.5", "192.168.1.10", "203.0.113.7", "2001:db8::1"]) expect(refusedAddress(ip, false), ip).toBeUndefined();
  });

  it("only http(s) URLs with a host and without credentials", () => {
    expect(refusedUrl("https://hooks.example.com/x", false)).toBeUndefined();
    expect(refusedUrl("http://localhost:8080/", false)).toMatch(/loopback/);
    expect(refusedUrl("http://localhost:8080/", true)).toBeUndefined();
    expect(refusedUrl("http://[::1]:9/", false)).toMatch(/loopback/);
    expect(refusedUrl("file:///etc/passwd", true)).toMatch(/http/);
    expect(refusedUrl("https://a:b@example.com/", true)).toMatch(/credentials/);
    expect(refusedUrl("http://169.254.169.254/", true)).toMatch(/link-local/);
  });
});

describe("outbound addresses that must be public (publicOnly)", () => {
  it("refuses private, shared, multicast and reserved ranges, IPv4-mapped ones too, and names the loopback setting", () => {
    const rules = { publicOnly: true, loopbackSetting: "federation.allowHttpLoopback" };
    for (const ip of ["10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.10", "100.64.0.1", "198.18.0.1", "224.0.0.1", "240.0.0.1", "fd12::1", "fc00::1", "ff02::1", "::ffff:10.0.0.1", "::ffff:192.168.0.1"]) {
      expect(refusedAddress(ip, true, rules), ip).toMatch(/private/);
    }
    expect(refusedAddress("169.254.169.254", true, rules)).toMatch(/link-local/);
    expect(refusedAddress("127.0.0.1", false, rules)).toMatch(/federation\.allowHttpLoopback/);
    expect(refusedAddress("127.0.0.1", true, rules)).toBeUndefined();
    for (const ip of ["203.0.113.7", "8.8.8.8", "172.32.0.1", "2606:4700::1111"]) expect(refusedAddress(ip, false, rules), ip).toBeUndefined();
  });
});

describe("NAT64 addresses (64:ff9b::/96) are judged as the IPv4 address they carry", () => {
  it("refuses the metadata endpoint, loopback and private networks behind the prefix, and lets a public one through", () => {
    expect(refusedAddress("64:ff9b::a9fe:a9fe", true)).toMatch(/^NAT64 of a link-local/);
    expect(refusedAddress("64:ff9b::7f00:1", false)).toMatch(/^NAT64 of a loopback/);
    expect(refusedAddress("64:ff9b::10.0.0.1", true, { publicOnly: true })).toMatch(/^NAT64 of a private/);
    expect(refusedAddress("64:ff9b::c0a8:1", true, { publicOnly: true })).toMatch(/private/);
    expect(refusedAddress("64:ff9b::808:808", false, { publicOnly: true })).toBeUndefined();
    expect(refusedAddress("64:ff9b:0:0:0:0:cb00:7107", false, { publicOnly: true })).toBeUndefined();
  });
});
