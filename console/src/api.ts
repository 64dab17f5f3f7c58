// The console's only way to the server: the public Connect API (the same protos, the same
// permissions as any other client) and the OIDC userinfo endpoint, on the console's own origin.
import { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { ManagementService } from "@zitadel/proto/zitadel/management_pb.js";
import { OrganizationService } from "@zitadel/proto/zitadel/org/v2/org_service_pb.js";
// Portcullis's own service (several named secrets with expiry and last use), generated from proto/ into src/.
import { CredentialService } from "../../src/api/proto/portcullis/v1/credentials_pb.js";

export interface Session {
  token: string;
  /** The signed-in user (userinfo `sub`) and its name. */
  userId: string;
  userName: string;
  /** Set when the console minted this PAT itself (sign-in link): signing out removes it. */
  sessionPatId?: string;
  /** The organization the console acts in (x-zitadel-orgid). */
  orgId: string;
}

export interface Api {
  mgmt: Client<typeof ManagementService>;
  orgs: Client<typeof OrganizationService>;
  creds: Client<typeof CredentialService>;
  /** For services whose generated code lives in a lazily loaded chunk (e.g. FederationService). */
  transport: Transport;
}

export function makeApi(token: string, orgId: () => string | undefined): Api {
  const auth: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    const org = orgId();
    if (org) req.header.set("x-zitadel-orgid", org);
    return next(req);
  };
  const transport = createConnectTransport({ baseUrl: location.origin, interceptors: [auth] });
  return {
    mgmt: createClient(ManagementService, transport),
    orgs: createClient(OrganizationService, transport),
    creds: createClient(CredentialService, transport),
    transport,
  };
}

/** Who a bearer token belongs to (OIDC userinfo accepts PATs). */
export async function whoAmI(token: string): Promise<{ sub: string; name: string }> {
  const r = await fetch("/oidc/v1/userinfo", { headers: { authorization: `Bearer ${token}` } });
  if (!r.ok) throw new ConnectError("the token was not accepted (expired, removed or mistyped)", Code.Unauthenticated);
  const body = (await r.json()) as { sub: string; preferred_username?: string; name?: string };
  return { sub: body.sub, name: body.preferred_username ?? body.name ?? body.sub };
}

/** How an API error reads to people: the message and ZITADEL's error id, plus the status. */
export function describeError(e: unknown): string {
  if (e instanceof ConnectError) return `${e.rawMessage || "request failed"} [${Code[e.code] ?? e.code}]`;
  if (e instanceof Error) return e.message;
  return String(e);
}

export const isCode = (e: unknown, code: Code) => e instanceof ConnectError && e.code === code;

export const toDate = (t: Timestamp | undefined) => (t ? timestampDate(t) : undefined);
export const toTimestamp = (d: Date) => timestampFromDate(d);

export function fmtDate(t: Timestamp | undefined): string {
  const d = toDate(t);
  if (!d) return "–";
  if (d.getUTCFullYear() >= 9999) return "never";
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

const SESSION_KEY = "portcullis.console.session";

/** sessionStorage only (this tab, until it closes or signs out); never localStorage. */
export function loadSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY);
    return raw ? (JSON.parse(raw) as Session) : undefined;
  } catch {
    return undefined;
  }
}
export function saveSession(s: Session | undefined) {
  if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  else sessionStorage.clear();
}

/** How long a session PAT minted from a sign-in link lives. */
export const SESSION_HOURS = 8;

/**
 * A sign-in link carries `#signin=<tokenId>.<pat>`: a PAT of the signed-in user that expires within
 * minutes. Exchanging it: the link PAT mints a session PAT (expires in SESSION_HOURS), the session PAT
 * removes the link PAT. If that removal finds it gone, someone else used the link first: the session
 * PAT is removed again and sign-in fails, so a link signs in at most one console.
 */
export async function exchangeSignInLink(fragment: string): Promise<Session> {
  const m = /^signin=([^.]+)\.(.+)$/.exec(fragment);
  if (!m) throw new Error("this sign-in link is malformed; print a new one with `portcullis console login`");
  const [, linkPatId, linkToken] = m as unknown as [string, string, string];
  let me: { sub: string; name: string };
  try {
    me = await whoAmI(linkToken);
  } catch (e) {
    throw new Error("this sign-in link has expired or was already used; print a new one with `portcullis console login`", { cause: e });
  }
  const linkApi = makeApi(linkToken, () => undefined);
  const expirationDate = toTimestamp(new Date(Date.now() + SESSION_HOURS * 3600_000));
  const added = await linkApi.mgmt.addPersonalAccessToken({ userId: me.sub, expirationDate });
  const sessionApi = makeApi(added.token, () => undefined);
  try {
    await sessionApi.mgmt.removePersonalAccessToken({ userId: me.sub, tokenId: linkPatId });
  } catch (e) {
    await sessionApi.mgmt.removePersonalAccessToken({ userId: me.sub, tokenId: added.tokenId }).catch(() => undefined);
    if (isCode(e, Code.NotFound)) throw new Error("this sign-in link was already used; print a new one with `portcullis console login`", { cause: e });
    throw e;
  }
  const org = await sessionApi.mgmt.getMyOrg({});
  return { token: added.token, userId: me.sub, userName: me.name, sessionPatId: added.tokenId, orgId: org.org?.id ?? "" };
}

export async function signInWithPat(token: string): Promise<Session> {
  const me = await whoAmI(token);
  const org = await makeApi(token, () => undefined).mgmt.getMyOrg({});
  return { token, userId: me.sub, userName: me.name, orgId: org.org?.id ?? "" };
}

/** Signing out: a session PAT the console minted is removed; everything kept is forgotten. */
export async function signOut(s: Session) {
  if (s.sessionPatId) {
    await makeApi(s.token, () => undefined)
      .mgmt.removePersonalAccessToken({ userId: s.userId, tokenId: s.sessionPatId })
      .catch(() => undefined);
  }
  saveSession(undefined);
}
