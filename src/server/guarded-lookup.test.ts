import type { LookupAddress } from "node:dns";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { refusedAddress } from "../app/webhooks/address.js";
import { guardedLookup, type Resolver } from "./guarded-lookup.js";

const fake =
  (...ips: string[]): Resolver =>
  (_h, _o, cb) =>
    cb(null, ips.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })));

const ask = (lookup: ReturnType<typeof guardedLookup>, all = false) =>
  new Promise<{ err: Error | null; address: string | LookupAddress[] }>((resolve) => lookup("host.test", { all }, (err, address) => resolve({ err, address })));

describe("guarded DNS lookup", () => {
  const refuse = (ip: string) => refusedAddress(ip, false, { publicOnly: true });

  it("webhook mode: the first allowed address; refused only when none is", async () => {
    const g = (r: Resolver) => guardedLookup({ refuse: (ip) => refusedAddress(ip, false), code: "EWEBHOOKADDR", what: "webhook", resolve: r });
    expect(await ask(g(fake("169.254.169.254", "10.0.0.5")))).toEqual({ err: null, address: "10.0.0.5" });
    expect(await ask(g(fake("169.254.169.254", "10.0.0.5")), true)).toEqual({ err: null, address: [{ address: "10.0.0.5", family: 4 }] });
    const none = await ask(g(fake("127.0.0.1", "::1")));
    expect(none.err).toMatchObject({ code: "EWEBHOOKADDR", message: expect.stringMatching(/^webhook host host.test resolves only to refused addresses \(127\.0\.0\.1: loopback/) });
  });

  it("every mode: one refused address refuses the host", async () => {
    const g = guardedLookup({ refuse, every: true, code: "EJWKSADDR", what: "JWKS", resolve: fake("203.0.113.1", "192.168.1.1") });
    const r = await ask(g);
    expect(r.err).toMatchObject({ code: "EJWKSADDR", message: "JWKS host host.test resolves to a refused address (192.168.1.1: private, shared, multicast or reserved address)" });
    expect(await ask(guardedLookup({ refuse, every: true, code: "E", what: "x", resolve: fake("203.0.113.1") }))).toEqual({ err: null, address: "203.0.113.1" });
  });

  it("the socket connects to the address checked, whatever the name", async () => {
    const server = http.createServer((_q, res) => res.end("ok"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const lookup = guardedLookup({ refuse: () => undefined, code: "E", what: "x", resolve: fake("127.0.0.1") });
    const body = await new Promise<string>((resolve, reject) =>
      http.get(`http://does-not-exist.invalid:${port}/`, { lookup: lookup as never, agent: false }, (res) => res.on("data", (d: Buffer) => resolve(d.toString()))).on("error", reject),
    );
    expect(body).toBe("ok");
    await new Promise((r) => server.close(r));
  });
});
