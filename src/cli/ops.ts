// The operator CLI: `portcullis login|machine|secret|key|pat|token|member|console|completion`. A
// client of a running server's public API (Connect, with a PAT), like any script: nothing here
// opens the database. Arguments are parsed by commander.
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { UserState } from "@zitadel/proto/zitadel/user_pb.js";
import { Command, CommanderError, Option } from "commander";
import { CredentialKind } from "../api/proto/portcullis/v1/expiring_pb.js";
import { closeSync, openSync, readFileSync, rmSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";
import {
  AccessTokenType, CliError, EXIT, type KeyFile, KeyType, SIGNIN_LINK_MINUTES, TextQueryMethod, Type, USER_STATES, assertion, connect, credentialRows, credentialsFile, ctxOf, fmt, out, parseDuration, parseExpiry, readAllStdin, readHidden, resolveMachine, resolveUser, saveStored, signInLink, tokenRequest, whoAmI,
} from "./ops-client.js";

// ---- commands ----

const stateName = (s: UserState) => USER_STATES[s] ?? String(s);

export function buildProgram(): Command {
  const program = new Command("portcullis")
    .description("Manage machine users on a running Portcullis server over its public API.")
    .addOption(new Option("--org <id>", "act in this organization (x-zitadel-orgid; default: the PAT owner's organization)"))
    .addOption(new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table"))
    .showHelpAfterError()
    .addHelpText(
      "after",
      `\nExit codes: 0 ok, 1 failed, 2 usage error, 3 not logged in or credentials refused, 4 permission denied, 5 not found, 6 already exists.\nCredentials: ${credentialsFile()} (mode 0600), written by \`portcullis login\`.`,
    );

  program
    .command("login")
    .description("Check a PAT against a server and store both (the PAT from stdin or --token-file; never an argument)")
    .argument("<url>", "the server's base URL, e.g. https://auth.example.com")
    .option("--token-file <file>", "read the PAT from this file instead of stdin")
    .action(async (url: string, o: { tokenFile?: string }, cmd: Command) => {
      const base = url.replace(/\/$/, "");
      if (!/^https?:\/\//.test(base)) throw new CliError(`<url> must start with http:// or https:// (got "${url}")`, EXIT.usage);
      const raw = o.tokenFile ? readFileSync(o.tokenFile, "utf8") : process.stdin.isTTY ? await readHidden("Personal access token: ") : await readAllStdin();
      const token = raw.trim();
      if (!token) throw new CliError("no PAT given (pipe it on stdin or use --token-file)", EXIT.usage);
      const me = await whoAmI(base, token);
      const org = await (await connect(base, token, undefined)).getMyOrg({});
      saveStored({ url: base, token });
      out(cmd.optsWithGlobals(), { url: base, userId: me.sub, userName: me.name, orgId: org.org?.id, orgName: org.org?.name, credentials: credentialsFile() }, [
        [`logged in to ${base} as ${me.name} (${me.sub}), organization ${org.org?.name} (${org.org?.id})`],
      ]);
    });

  program
    .command("logout")
    .description("Forget the stored PAT")
    .action(() => {
      rmSync(credentialsFile(), { force: true });
    });

  const machine = program.command("machine").description("Machine users: create, ls, rm");
  machine
    .command("create")
    .description("Create a machine user")
    .argument("<username>")
    .option("--name <name>", "display name (default: the username)")
    .option("--description <text>", "description", "")
    .option("--jwt", "issue JWT access tokens instead of opaque ones")
    .action(async (userName: string, o: { name?: string; description: string; jwt?: boolean }, cmd: Command) => {
      const ctx = await ctxOf(cmd);
      const r = await ctx.mgmt.addMachineUser({ userName, name: o.name ?? userName, description: o.description, accessTokenType: o.jwt ? AccessTokenType.JWT : AccessTokenType.BEARER });
      out(ctx, { userId: r.userId, userName }, [[r.userId]]);
    });
  machine
    .command("ls")
    .description("List machine users")
    .option("--search <text>", "usernames containing this")
    .option("--limit <n>", "at most this many", "100")
    .option("--offset <n>", "skip this many", "0")
    .action(async (o: { search?: string; limit: string; offset: string }, cmd: Command) => {
      const ctx = await ctxOf(cmd);
      const queries: Parameters<typeof ctx.mgmt.listUsers>[0]["queries"] & object[] = [{ query: { case: "typeQuery", value: { type: Type.MACHINE } } }];
      if (o.search) queries.push({ query: { case: "userNameQuery", value: { userName: o.search, method: TextQueryMethod.CONTAINS_IGNORE_CASE } } });
      const r = await ctx.mgmt.listUsers({ query: { limit: Number(o.limit), offset: BigInt(o.offset), asc: true }, queries });
      const users = r.result.map((u) => ({
        id: u.id,
        userName: u.userName,
        name: u.type.case === "machine" ? u.type.value.name : "",
        state: stateName(u.state),
        hasSecret: u.type.case === "machine" ? u.type.value.hasSecret : false,
        created: fmt(u.details?.creationDate),
      }));
      out(ctx, { total: Number(r.details?.totalResult ?? 0n), users }, [
        ["ID", "USERNAME", "NAME", "STATE", "SECRET", "CREATED"],
        ...users.map((u) => [u.id, u.userName, u.name, u.state, u.hasSecret ? "yes" : "no", u.created]),
      ]);
    });
  machine
    .command("rm")
    .description("Remove a machine user (its secret, keys and PATs with it)")
    .argument("<machine>", "username or id")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const ctx = await ctxOf(cmd);
      const u = await resolveMachine(ctx, name);
      await ctx.mgmt.removeUser({ id: u.id });
      out(ctx, { removed: u.id }, [[`removed ${u.userName} (${u.id})`]]);
    });

  const secret = program.command("secret").description("A machine user's client secrets (several may be valid at once): add, ls, rotate, rm");
  secret
    .command("add")
    .description("Add a client secret (the others stay valid); printed once, to stdout")
    .argument("<machine>", "username or id")
    .option("--description <text>", "what it is for", "")
    .option("--expires <when>", "90d, 12h, 2w, 1y or a date (default: never, or the org's credential policy)")
    .action(async (name: string, o: { description: string; expires?: string }, cmd: Command) => {
      const ctx = await ctxOf(cmd);
      const u = await resolveMachine(ctx, name);
      const r = await ctx.creds.addSecret({ userId: u.id, description: o.description, expirationDate: o.expires ? timestampFromDate(parseExpiry(o.expires)) : undefined });
      // Printed once, to stdout only; never stored.
      out(ctx, { secretId: r.secretId, clientId: r.clientId, clientSecret: r.clientSecret, expires: r.expirationDate ? fmt(r.expirationDate) : "never" }, [
        ["client_id", r.clientId],
        ["client_secret", r.clientSecret],
        ["secret_id", r.secretId],
        ["expires", r.expirationDate ? fmt(r.expirationDate) : "never"],
      ]);
    });
  secret
    .command("ls")
    .description("List the client secrets (created, expires, last used)")
    .argument("<machine>", "username or id")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const ctx = await ctxOf(cmd);
      const u = await resolveMachine(ctx, name);
      const r = await ctx.creds.listSecrets({ userId: u.id });
      const secrets = r.result.map((x) => ({ id: x.id, description: x.description, created: fmt(x.creationDate), expires: x.expirationDate ? fmt(x.expirationDate) : "never", lastUsed: x.lastUsed ? fmt(x.lastUsed) : "never" }));
      out(ctx, { secrets }, [["ID", "DESCRIPTION", "CREATED", "EXPIRES", "LAST USED"], ...secrets.map((x) => [x.id, x.description || "-", x.created, x.expires, x.lastUsed])]);
    });
  secret
    .command("rotate")
    .description("Make a new secret; the old one(s) keep working for --grace, then expire; the new one is printed once, to stdout")
    .argument("<machine>", "username or id")
    .option("--secret <id>", "rotate only this secret (default: all)")
    .option("--grace <duration>", "how long the old secret(s) stay valid: 24h, 7d, 0h", "24h")
    .action(async (name: string, o: { secret?: string; grace: string }, cmd: Command) => {
      const seconds = BigInt(Math.round(parseDuration(o.grace, "--grace") / 1000));
      const ctx = await ctxOf(cmd);
      const u = await resolveMachine(ctx, name);
      const r = await ctx.creds.rotateSecret({ userId: u.id, secretId: o.secret ?? "", gracePeriod: { seconds, nanos: 0 } });
      out(ctx, { secretId: r.secretId, clientId: r.clientId, clientSecret: r.clientSecret, retiredSecretIds: r.retiredSecretIds }, [
        ["client_id", r.clientId],
        ["client_secret", r.clientSecret],
        ["secret_id", r.secretId],
        ["retiring", r.retiredSecretIds.join(",") || "-"],
      ]);
    });
  secret
    .command("rm")
    .description("Delete one client secret, or all of them (RemoveMachineSecret) without <secretId>")
    .argument("<machine>", "username or id")
    .argument("[secretId]", "the secret to delete (see `secret ls`)")
    .action(async (name: string, secretId: string | undefined, _o: unknown, cmd: Command) => {
      const ctx = await ctxOf(cmd);
      const u = await resolveMachine(ctx, name);
      if (secretId) await ctx.creds.removeSecret({ userId: u.id, secretId });
      else await ctx.mgmt.removeMachineSecret({ userId: u.id });
      out(ctx, { removed: secretId ?? "all", userId: u.id }, [[secretId ? `client secret ${secretId} of ${u.userName} removed` : `all client secrets of ${u.userName} removed`]]);
    });

  const key = program.command("key").description("A machine user's keys (JWT bearer grant): add, ls, rm");
  key
    .command("add")
    .description("Create a key; the JSON key file goes to --out (mode 0600) or, without it, to stdout")
    .argument("<machine>", "username or id")
    .option("--out <file>", "write the key file here")
    .option("--expires <when>", "90d, 12h, 2w, 1y or a date (default: never)")
    .action(async (name: string, o: { out?: string; expires?: string }, cmd: Command) => {
      const ctx = await ctxOf(cmd);
      const u = await resolveMachine(ctx, name);
      const expirationDate = o.expires ? timestampFromDate(parseExpiry(o.expires)) : undefined;
      // The file is made (never overwritten) before the key: a key whose private half could not be kept is not created.
      let fd: number | undefined;
      if (o.out) {
        try {
          fd = openSync(o.out, "wx", 0o600);
        } catch (e) {
          throw new CliError(`--out: cannot create ${o.out} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); no key was created`, EXIT.failed);
        }
      }
      try {
        const r = await ctx.mgmt.addMachineKey({ userId: u.id, type: KeyType.JSON, expirationDate });
        const json = Buffer.from(r.keyDetails).toString("utf8");
        if (fd !== undefined) {
          writeSync(fd, json.endsWith("\n") ? json : json + "\n");
          out(ctx, { keyId: r.keyId, file: path.resolve(o.out!) }, [[`key ${r.keyId} written to ${o.out}`]]);
        } else process.stdout.write(json.endsWith("\n") ? json : json + "\n");
      } catch (e) {
        if (fd !== undefined) {
          closeSync(fd);
          fd = undefined;
          unlinkSync(o.out!);
        }
        throw e;
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    });
  key
    .command("ls")
    .description("List keys (created, expires, last used)")
    .argument("<machine>", "username or id")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const ctx = await ctxOf(cmd);
      const u = await resolveMachine(ctx, name);
      const { rows: keys, table } = await credentialRows(ctx, u.id, CredentialKind.MACHINE_KEY);
      out(ctx, { keys }, table);
    });
  key
    .command("rm")
    .description("Remove a key")
    .argument("<machine>", "username or id")
    .argument("<keyId>")
    .action(async (name: string, keyId: string, _o: unknown, cmd: Command) => {
      const ctx = await ctxOf(cmd);
      const u = await resolveMachine(ctx, name);
      await ctx.mgmt.removeMachineKey({ userId: u.id, keyId });
      out(ctx, { removed: keyId }, [[`key ${keyId} removed`]]);
    });

  const pat = program.command("pat").description("A machine user's personal access tokens: add, ls, rm");
  pat
    .command("add")
    .description("Create a PAT; printed once, to stdout")
    .argument("<machine>", "username or id")
    .option("--expires <when>", "90d, 12h, 2w, 1y or a date (default: never)")
    .action(async (name: string, o: { expires?: string }, cmd: Command) => {
      const ctx = await ctxOf(cmd);
      const u = await resolveMachine(ctx, name);
      const r = await ctx.mgmt.addPersonalAccessToken({ userId: u.id, expirationDate: o.expires ? timestampFromDate(parseExpiry(o.expires)) : undefined });
      out(ctx, { tokenId: r.tokenId, token: r.token }, [[r.token]]);
    });
  pat
    .command("ls")
    .description("List PATs (created, expires, last used)")
    .argument("<machine>", "username or id")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const ctx = await ctxOf(cmd);
      const u = await resolveMachine(ctx, name);
      const { rows: pats, table } = await credentialRows(ctx, u.id, CredentialKind.PERSONAL_ACCESS_TOKEN);
      out(ctx, { pats }, table);
    });
  pat
    .command("rm")
    .description("Remove a PAT")
    .argument("<machine>", "username or id")
    .argument("<tokenId>")
    .action(async (name: string, tokenId: string, _o: unknown, cmd: Command) => {
      const ctx = await ctxOf(cmd);
      const u = await resolveMachine(ctx, name);
      await ctx.mgmt.removePersonalAccessToken({ userId: u.id, tokenId });
      out(ctx, { removed: tokenId }, [[`PAT ${tokenId} removed`]]);
    });

  program
    .command("token")
    .description(
      "Get an access token for a machine user to test with: with --key-file (JWT bearer grant), with --secret-stdin (client_credentials, the secret read from stdin), or with neither: a key made for this token that expires in 1 hour (the token stops working with it)",
    )
    .argument("<machine>", "username or id")
    .option("--key-file <file>", "a key file from `portcullis key add --out`")
    .option("--secret-stdin", "read the client secret from stdin")
    .option("--scope <scope>", "scopes to ask for", "openid profile")
    .action(async (name: string, o: { keyFile?: string; secretStdin?: boolean; scope: string }, cmd: Command) => {
      const ctx = await ctxOf(cmd);
      let answer: Record<string, unknown>;
      if (o.keyFile) {
        const kf = JSON.parse(readFileSync(o.keyFile, "utf8")) as KeyFile;
        const u = await resolveMachine(ctx, name);
        if (kf.userId !== u.id) throw new CliError(`${o.keyFile} is a key of user ${kf.userId}, not of ${u.userName} (${u.id})`, EXIT.usage);
        answer = await tokenRequest(ctx.url, new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: assertion(kf, ctx.url), scope: o.scope }));
      } else if (o.secretStdin) {
        const u = await resolveMachine(ctx, name);
        const secretValue = (await readAllStdin()).trim();
        const basic = Buffer.from(`${encodeURIComponent(u.userName)}:${encodeURIComponent(secretValue)}`).toString("base64");
        answer = await tokenRequest(ctx.url, new URLSearchParams({ grant_type: "client_credentials", scope: o.scope }), basic);
      } else {
        const u = await resolveMachine(ctx, name);
        // Tokens live only as long as the credential that obtained them: this key stays until it expires.
        const r = await ctx.mgmt.addMachineKey({ userId: u.id, type: KeyType.JSON, expirationDate: timestampFromDate(new Date(Date.now() + 3600_000)) });
        const kf = JSON.parse(Buffer.from(r.keyDetails).toString("utf8")) as KeyFile;
        answer = await tokenRequest(ctx.url, new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: assertion(kf, ctx.url), scope: o.scope }));
        process.stderr.write(`portcullis: made key ${r.keyId} for this token; it and the token stop working in 1 hour (or at \`portcullis key rm ${u.userName} ${r.keyId}\`)\n`);
      }
      out(ctx, answer, [[String(answer.access_token)]]);
    });

  const member = program.command("member").description("Organization members: add, ls, rm");
  member
    .command("add")
    .description("Give a user roles in the organization")
    .argument("<user>", "username or id of a machine user, or a user id")
    .option("--role <role...>", "roles (see `portcullis member roles`)", ["ORG_OWNER"])
    .action(async (name: string, o: { role: string[] }, cmd: Command) => {
      const ctx = await ctxOf(cmd);
      const u = await resolveUser(ctx, name);
      await ctx.mgmt.addOrgMember({ userId: u.id, roles: o.role });
      out(ctx, { userId: u.id, roles: o.role }, [[`${u.userName} is a member with ${o.role.join(", ")}`]]);
    });
  member
    .command("ls")
    .description("List the organization's members")
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = await ctxOf(cmd);
      const r = await ctx.mgmt.listOrgMembers({});
      const members = r.result.map((m) => ({ userId: m.userId, loginName: m.preferredLoginName, roles: m.roles }));
      out(ctx, { members }, [["USER ID", "LOGIN NAME", "ROLES"], ...members.map((m) => [m.userId, m.loginName, m.roles.join(",")])]);
    });
  member
    .command("rm")
    .description("Remove a member from the organization")
    .argument("<user>", "username or id")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const ctx = await ctxOf(cmd);
      const u = await resolveUser(ctx, name);
      await ctx.mgmt.removeOrgMember({ userId: u.id });
      out(ctx, { removed: u.id }, [[`${u.userName} is no longer a member`]]);
    });
  member
    .command("roles")
    .description("The roles an organization member can have")
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = await ctxOf(cmd);
      const r = await ctx.mgmt.listOrgMemberRoles({});
      out(ctx, { roles: r.result }, r.result.map((x) => [x]));
    });

  const consoleCmd = program.command("console").description("The web console");
  consoleCmd
    .command("login")
    .description(`Print a single-use sign-in link for the web console (works for ${SIGNIN_LINK_MINUTES} minutes; signs in as the stored PAT's user)`)
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = await ctxOf(cmd);
      const me = await whoAmI(ctx.url, ctx.token);
      const r = await (await connect(ctx.url, ctx.token, undefined)).addPersonalAccessToken({ userId: me.sub, expirationDate: timestampFromDate(new Date(Date.now() + SIGNIN_LINK_MINUTES * 60_000)) });
      const link = signInLink(ctx.url, r.tokenId, r.token);
      out(ctx, { link, expiresInMinutes: SIGNIN_LINK_MINUTES }, [[link]]);
    });

  program
    .command("completion")
    .description("Print a shell completion script (bash): eval \"$(portcullis completion bash)\"")
    .argument("[shell]", "bash", "bash")
    .action((shell: string) => {
      if (shell !== "bash") throw new CliError(`completion: only bash is supported (got "${shell}")`, EXIT.usage);
      process.stdout.write(bashCompletion(program));
    });

  return program;
}

/** Commands of the server side (main.ts's table) that completion offers beside these. */
const SERVER_COMMANDS = ["start", "migrate", "projections", "config", "keys", "masterkey", "doctor"];

function bashCompletion(program: Command): string {
  const cases: string[] = [];
  const walk = (cmd: Command, prefix: string) => {
    const words = [...cmd.commands.map((c) => c.name()), ...cmd.options.map((o) => o.long!).filter(Boolean), ...program.options.map((o) => o.long!), "--help"];
    if (cmd === program) words.push(...SERVER_COMMANDS);
    cases.push(`    "${prefix}") words="${words.join(" ")}" ;;`);
    for (const c of cmd.commands) walk(c, prefix ? `${prefix} ${c.name()}` : c.name());
  };
  walk(program, "");
  return `# bash completion for portcullis: eval "$(portcullis completion bash)"
_portcullis() {
  local cur path="" i w words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    case "\${path:+$path }$w" in
${cases.map((c) => "      " + c.trim().split(")")[0] + ") path=\"${path:+$path }$w\" ;;").join("\n")}
    esac
  done
  case "$path" in
${cases.join("\n")}
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _portcullis portcullis
`;
}

/** Runs an operator command; resolves to the process exit code. */
export async function runOperator(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const c of allCommands(program)) c.exitOverride();
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; help shown because something was missing (a command without its
      // subcommand) is a usage error, as every other one.
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || (e.code === "commander.help" && e.exitCode === 0)) return EXIT.ok;
      return EXIT.usage;
    }
    if (e instanceof CliError) {
      process.stderr.write(`portcullis: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof ConnectError) {
      process.stderr.write(`portcullis: ${e.rawMessage || e.message} [${Code[e.code]}]\n`);
      switch (e.code) {
        case Code.Unauthenticated:
          return EXIT.unauthenticated;
        case Code.PermissionDenied:
          return EXIT.denied;
        case Code.NotFound:
          return EXIT.notFound;
        case Code.AlreadyExists:
          return EXIT.exists;
        default:
          return EXIT.failed;
      }
    }
    process.stderr.write(`portcullis: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT.failed;
  }
}

function allCommands(c: Command): Command[] {
  return c.commands.flatMap((x) => [x, ...allCommands(x)]);
}
