import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, redactedConfig } from "./load.js";

const K1 = "k".repeat(32);
const K2 = "p".repeat(32);
const K3 = "q".repeat(40);

describe("rotation settings", () => {
  it("defaults to a 30-day rotation published a day ahead, retired keys kept 1 h past the token lifetime", () => {
    const c = loadConfig({ env: {} });
    expect(c.signingKeys).toEqual({ rotationInterval: 2592000, publishAhead: 86400, retireMargin: 3600, reloadInterval: 60 });
    expect(c.masterkeyPrevious).toBeUndefined();
  });

  it("reads previous master keys comma-separated (or as a flag) and redacts them", () => {
    const c = loadConfig({ env: { PORTCULLIS_MASTERKEY: K1, PORTCULLIS_MASTERKEY_PREVIOUS: `${K2}, ${K3}` } });
    expect(c.masterkeyPrevious).toEqual([K2, K3]);
    expect(loadConfig({ env: { PORTCULLIS_MASTERKEY: K1 }, argv: ["--masterkey-previous", K2] }).masterkeyPrevious).toEqual([K2]);
    expect(JSON.stringify(redactedConfig(c))).not.toContain(K2);
  });

  it("refuses previous keys without a current one, short keys and a schedule that cannot hold its promises", () => {
    const bad = (env: Record<string, string>) => () => loadConfig({ env });
    expect(bad({ PORTCULLIS_MASTERKEY_PREVIOUS: K2 })).toThrow(new ConfigError("invalid PORTCULLIS_MASTERKEY_PREVIOUS: needs PORTCULLIS_MASTERKEY (the new key)"));
    expect(bad({ PORTCULLIS_MASTERKEY: K1, PORTCULLIS_MASTERKEY_PREVIOUS: `${K2},short` })).toThrow(/^invalid PORTCULLIS_MASTERKEY_PREVIOUS: every key must be at least 32 characters/);
    expect(bad({ PORTCULLIS_SIGNING_KEYS_PUBLISH_AHEAD: "60" })).toThrow(/^invalid PORTCULLIS_SIGNING_KEYS_PUBLISH_AHEAD: must be more than signingKeys.reloadInterval/);
    expect(bad({ PORTCULLIS_SIGNING_KEYS_ROTATION_INTERVAL: "86400" })).toThrow(/^invalid PORTCULLIS_SIGNING_KEYS_ROTATION_INTERVAL: /);
    expect(bad({ PORTCULLIS_SIGNING_KEYS_RETIRE_MARGIN: "30" })).toThrow(/^invalid PORTCULLIS_SIGNING_KEYS_RETIRE_MARGIN: /);
  });
});
