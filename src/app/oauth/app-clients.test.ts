import { describe, expect, it } from "vitest";
import { newClientSecret } from "../../crypto/credential-formats.js";
import { deriveKeys } from "../../crypto/keys.js";
import { noMetrics } from "../../telemetry/instruments.js";
import type { Deps } from "../core/context.js";
import { authenticateIntrospector } from "./app-clients.js";
import { authenticateClient } from "./clients.js";
import { OAuthError } from "./errors.js";
import { createReplayCache } from "./jwt-assertion.js";

/**
 * A secret in one of Portcullis's formats (machine `pcs_`, app `pca_`) whose checksum is wrong is
 * refused before anything is looked up: the cache, the read models and the store are never asked.
 */
describe("a broken checksum is refused before any lookup", () => {
  const asked: string[] = [];
  const nothing = new Proxy(
    {},
    {
      get: (_t, name) => () => {
        asked.push(String(name));
        throw new Error(`looked up: ${String(name)}`);
      },
    },
  );
  const deps = {
    cache: nothing,
    reads: nothing,
    store: nothing,
    instanceId: "i",
    keys: deriveKeys("app-clients-test-master-key"),
    clock: () => new Date(),
    log: { debug() {} },
    metrics: noMetrics,
    lastUsed: { touch: () => asked.push("touch") },
  } as unknown as Deps;
  const broken = (v: string) => v.slice(0, -1) + (v.endsWith("A") ? "B" : "A");

  it.each(["machine", "app"] as const)("a %s secret, at introspection and at revocation", (of) => {
    const secret = broken(newClientSecret("portcullis", of));
    const creds = { clientId: "someone@project", secret };
    for (const run of [() => authenticateIntrospector(deps, createReplayCache(), { method: "secret", creds }), () => authenticateClient(deps, createReplayCache(), { method: "secret", creds })]) {
      let err: unknown;
      try {
        run();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OAuthError);
      expect((err as OAuthError).error).toBe("invalid_client");
    }
    expect(asked).toEqual([]);
  });

  it("a well-formed secret does get looked up (the test would see it)", () => {
    const creds = { clientId: "someone@project", secret: newClientSecret("portcullis", "app") };
    expect(() => authenticateIntrospector(deps, createReplayCache(), { method: "secret", creds })).toThrow(/looked up/);
    expect(asked.length).toBeGreaterThan(0);
  });
});
