// The operator CLI (`portcullis login|machine|secret|key|pat|token|member|console|completion`) as a
// separate process against a running server: output, --output json, exit codes, files it writes.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { operator } from "./helpers/operator-cli.js";
import { CLI } from "./helpers/process.js";
import { buildProgram } from "../src/cli/ops.js";
import type { Command } from "commander";

describe("operator CLI", () => {
  let s: TestServer;
  let home: string;
  let work: string;
  let env: Record<string, string>;
  const cli = (args: string[], stdin?: string) => operator(args, { ...env }, stdin);
  const json = async (args: string[], stdin?: string) => {
    const r = await cli([...args, "--output", "json"], stdin);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const userinfo = (token: string) => fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    s = await startTestServer();
    home = mkdtempSync(path.join(os.tmpdir(), "portcullis-cli-home-"));
    work = mkdtempSync(path.join(os.tmpdir(), "portcullis-cli-work-"));
    env = { XDG_CONFIG_HOME: path.join(home, "config"), HOME: home };
  });
  afterAll(async () => {
    await s?.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it("refuses to work before login (exit 3), and refuses a bad PAT at login", async () => {
    const r = await cli(["machine", "ls"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/not logged in/);
    const bad = await cli(["login", s.url], "nope");
    expect(bad.code).toBe(3);
    expect(existsSync(path.join(env.XDG_CONFIG_HOME!, "portcullis", "credentials.json"))).toBe(false);
  });

  it("login stores the PAT from stdin with mode 0600; --token-file works too", async () => {
    const me = await json(["login", s.url], s.pat + "\n");
    expect(me.userName).toBe("admin");
    const file = path.join(env.XDG_CONFIG_HOME!, "portcullis", "credentials.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ url: s.url, token: s.pat });
    const tf = path.join(work, "pat.txt");
    writeFileSync(tf, s.pat);
    expect((await cli(["login", s.url, "--token-file", tf])).code).toBe(0);
    rmSync(tf);
  });

  it("machine create / ls / rm, with usage errors (2), duplicates (6) and unknown names (5)", async () => {
    const created = await json(["machine", "create", "billing-svc", "--description", "Billing"]);
    expect(created.userId).toMatch(/^\d+$/);
    expect((await cli(["machine", "create", "billing-svc"])).code).toBe(6);
    expect((await cli(["machine", "create"])).code).toBe(2);
    expect((await cli(["machine", "frobnicate"])).code).toBe(2);
    const ls = await json(["machine", "ls", "--search", "billing"]);
    expect(ls.users.map((u: { userName: string }) => u.userName)).toEqual(["billing-svc"]);
    const table = await cli(["machine", "ls"]);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+USERNAME\s+NAME\s+STATE/);
    await json(["machine", "create", "temp-svc"]);
    expect((await json(["machine", "rm", "temp-svc"])).removed).toMatch(/^\d+$/);
    expect((await cli(["machine", "rm", "temp-svc"])).code).toBe(5);
    // A command without its subcommand shows the help and is a usage error, not a success.
    for (const group of ["machine", "secret", "console"]) expect((await cli([group])).code, group).toBe(2);
    // A username that is another user's id is ambiguous: refused, never resolved to whichever comes first.
    const decoy = await json(["machine", "create", created.userId as string]);
    for (const args of [["secret", "ls", created.userId], ["member", "add", created.userId, "--role", "ORG_OWNER"]]) {
      const r = await cli(args);
      expect([args.join(" "), r.code]).toEqual([args.join(" "), 2]);
      expect(r.stderr).toMatch(/is the username of machine \d+ and the id of another user \(billing-svc\)/);
    }
    expect((await json(["machine", "rm", decoy.userId])).removed).toBe(decoy.userId);
  });

  it("secret add prints the secret once to stdout only; ls, rotate with a grace period, token --secret-stdin until rm", async () => {
    const before = new Set(readdirSync(work));
    const sec = await json(["secret", "add", "billing-svc", "--description", "ci", "--expires", "30d"]);
    expect(sec.clientId).toBe("billing-svc");
    expect(sec.clientSecret).toMatch(/^\S{20,}$/);
    // Nothing written anywhere: not the work dir, not the config dir (only credentials.json there).
    expect(new Set(readdirSync(work))).toEqual(before);
    expect(readdirSync(path.join(env.XDG_CONFIG_HOME!, "portcullis"))).toEqual(["credentials.json"]);
    expect(readFileSync(path.join(env.XDG_CONFIG_HOME!, "portcullis", "credentials.json"), "utf8")).not.toContain(sec.clientSecret);

    const tok = await json(["token", "billing-svc", "--secret-stdin"], sec.clientSecret);
    expect((await userinfo(tok.access_token)).status).toBe(200);
    const ls = await json(["secret", "ls", "billing-svc"]);
    expect(ls.secrets).toEqual([expect.objectContaining({ id: sec.secretId, description: "ci" })]);

    // Rotation without a grace period: the old secret is refused at once, the new one works.
    // A number without a unit is no duration (it would have meant "until the year 2036"), nor a date.
    for (const bad of [["secret", "rotate", "billing-svc", "--grace", "36"], ["secret", "rotate", "billing-svc", "--grace", "2030-01-01"], ["secret", "add", "billing-svc", "--expires", "45"]]) {
      const r = await cli(bad);
      expect([bad.join(" "), r.code]).toEqual([bad.join(" "), 2]);
    }
    const rotated = await json(["secret", "rotate", "billing-svc", "--grace", "0h"]);
    expect(rotated.clientSecret).not.toBe(sec.clientSecret);
    expect(rotated.retiredSecretIds).toEqual([sec.secretId]);
    expect((await cli(["token", "billing-svc", "--secret-stdin"], sec.clientSecret)).code).toBe(3);
    expect((await cli(["token", "billing-svc", "--secret-stdin"], rotated.clientSecret)).code).toBe(0);
    expect((await cli(["secret", "rm", "billing-svc", rotated.secretId])).code).toBe(0);
    const refused = await cli(["token", "billing-svc", "--secret-stdin"], rotated.clientSecret);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/invalid_client/);
    await json(["secret", "add", "billing-svc"]);
    expect((await json(["secret", "rm", "billing-svc"])).removed).toBe("all");
    expect((await json(["secret", "ls", "billing-svc"])).secrets).toEqual([]);
  });

  it("key add --out writes a 0600 key file that gets tokens; without --out the key goes to stdout; token without credentials", async () => {
    const out = path.join(work, "key.json");
    const added = await json(["key", "add", "billing-svc", "--out", out, "--expires", "30d"]);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const kf = JSON.parse(readFileSync(out, "utf8")) as { keyId: string; type: string };
    expect(kf).toMatchObject({ keyId: added.keyId, type: "serviceaccount" });
    // An existing file is never overwritten, and no key is made whose file could not be written.
    const exists = await cli(["key", "add", "billing-svc", "--out", out]);
    expect(exists.code).toBe(1);
    expect(exists.stderr).toMatch(/cannot create .*EEXIST.*no key was created/);
    const tok = await json(["token", "billing-svc", "--key-file", out]);
    expect((await userinfo(tok.access_token)).status).toBe(200);
    const printed = await cli(["key", "add", "billing-svc"]);
    expect(JSON.parse(printed.stdout).keyId).toMatch(/^\d+$/);
    await s.rt.deps.lastUsed.flush();
    const keys = await json(["key", "ls", "billing-svc"]);
    expect(keys.keys.length).toBe(2);
    // The key that made a token shows its last use; the others were never used.
    expect(keys.keys.filter((k: { lastUsed: string }) => k.lastUsed !== "never").map((k: { id: string }) => k.id)).toEqual([added.keyId]);
    expect((await json(["key", "rm", "billing-svc", added.keyId])).removed).toBe(added.keyId);
    expect((await cli(["token", "billing-svc", "--key-file", out])).code).toBe(3);

    const quick = await cli(["token", "billing-svc"]);
    expect(quick.code).toBe(0);
    expect(quick.stderr).toMatch(/made key \d+ for this token/);
    expect((await userinfo(quick.stdout.trim())).status).toBe(200);
    expect((await cli(["key", "add", "billing-svc", "--expires", "soon"])).code).toBe(2);
    expect((await cli(["key", "add", "billing-svc", "--expires", "2030-01-01"])).code).toBe(0);
    // A key file is used only for the machine it belongs to.
    await json(["machine", "create", "other-svc"]);
    const otherOut = path.join(work, "other-key.json");
    await json(["key", "add", "other-svc", "--out", otherOut]);
    const wrong = await cli(["token", "billing-svc", "--key-file", otherOut]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/is a key of user \d+, not of billing-svc/);
    expect((await cli(["token", "other-svc", "--key-file", otherOut])).code).toBe(0);
  });

  it("pat add --expires, ls, rm", async () => {
    const p = await json(["pat", "add", "billing-svc", "--expires", "90d"]);
    expect((await userinfo(p.token)).status).toBe(200);
    await s.rt.deps.lastUsed.flush();
    const ls = await json(["pat", "ls", "billing-svc"]);
    const row = ls.pats.find((x: { id: string }) => x.id === p.tokenId);
    // Its last use (ZITADEL's PAT list has none; the CLI reads ListUserCredentials).
    expect(Date.now() - Date.parse(row.lastUsed)).toBeLessThan(120_000);
    const days = (Date.parse(row.expires) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89);
    expect(days).toBeLessThan(91);
    await json(["pat", "rm", "billing-svc", p.tokenId]);
    expect((await userinfo(p.token)).status).toBe(401);
  });

  it("member add / ls / rm, and --org for another organization", async () => {
    await json(["member", "add", "billing-svc", "--role", "ORG_USER_MANAGER"]);
    const ls = await json(["member", "ls"]);
    expect(ls.members.find((m: { loginName: string }) => m.loginName === "billing-svc")?.roles).toEqual(["ORG_USER_MANAGER"]);
    expect((await json(["member", "roles"])).roles).toContain("ORG_OWNER");
    await json(["member", "rm", "billing-svc"]);
    expect((await json(["member", "ls"])).members.some((m: { loginName: string }) => m.loginName === "billing-svc")).toBe(false);
    expect((await cli(["machine", "ls", "--org", "123"])).code).not.toBe(0);
  });

  it("console login prints a single-use link", async () => {
    const r = await json(["console", "login"]);
    expect(r.link).toMatch(new RegExp(`^${s.url}/ui/console/#signin=\\d+\\.[A-Za-z0-9_-]+$`));
    expect(r.expiresInMinutes).toBe(10);
  });

  it("--help on every command, and a bash completion that completes", async () => {
    // Every command explains itself (checked on the command tree), and --help answers 0 in a real process.
    const all = (c: Command): Command[] => c.commands.flatMap((x) => [x, ...all(x)]);
    for (const c of all(buildProgram())) {
      expect(c.description(), c.name()).not.toBe("");
      expect(c.helpInformation()).toMatch(/Usage: portcullis/);
    }
    for (const c of [[], ["key", "add"]]) {
      const r = await cli([...c, "--help"]);
      expect(r.code, c.join(" ")).toBe(0);
      expect(r.stdout, c.join(" ")).toMatch(/Usage: portcullis/);
    }
    const script = (await cli(["completion", "bash"])).stdout;
    const complete = (line: string) => {
      const words = line.split(" ");
      const r = spawnSync("bash", ["-c", `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _portcullis; echo "\${COMPREPLY[*]}"`], { encoding: "utf8" });
      return r.stdout.trim().split(" ");
    };
    expect(complete("portcullis mach")).toEqual(["machine"]);
    expect(complete("portcullis machine ")).toEqual(expect.arrayContaining(["create", "ls", "rm"]));
    expect(complete("portcullis key add --o")).toEqual(expect.arrayContaining(["--out", "--org", "--output"]));
    expect(complete("portcullis st")).toEqual(["start"]);
    // The server commands still answer as before.
    expect(spawnSync(process.execPath, [CLI, "config", "print", "--help"], { encoding: "utf8" }).status).toBe(0);
  });
});
