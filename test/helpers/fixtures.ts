import type { TestServer } from "./server.js";
import { rest } from "./clients.js";

export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
export const NO_EXPIRY = "9999-12-31T23:59:59Z";

/** The REST body of a ZITADEL error (google.rpc.Status with one zitadel.v1.ErrorDetail). */
export const zitadelError = (code: number, id: string, message: string) => ({
  code,
  message: `${message} (${id})`,
  details: [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id, message }],
});

export async function myOrgId(s: TestServer): Promise<string> {
  const me = await rest(s.url, "GET", "/management/v1/orgs/me", { token: s.pat });
  return me.json.org.id as string;
}

export async function addMachine(s: TestServer, userName: string, name = "Svc"): Promise<string> {
  const r = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName, name } });
  if (r.status !== 200) throw new Error(`AddMachineUser ${r.status}: ${r.text}`);
  return r.json.userId as string;
}

/** The bootstrap admin's user id (a machine with IAM_OWNER and ORG_OWNER). */
export async function adminUserId(s: TestServer): Promise<string> {
  const r = await rest(s.url, "POST", "/management/v1/users/_search", {
    token: s.pat,
    body: { queries: [{ userNameQuery: { userName: s.rt.boot.adminUserName, method: "TEXT_QUERY_METHOD_EQUALS" } }] },
  });
  return r.json.result[0].id as string;
}

/**
 * Users the management API cannot create (yet): a human in the caller's org and a machine in another
 * org. Appended as events, exactly as stored, so the commands see them like any other user.
 */
export async function seedHumanAndForeignMachine(s: TestServer, orgId: string): Promise<{ humanId: string; foreignOrgId: string; foreignUserId: string }> {
  const d = s.rt.deps;
  const humanId = d.newId();
  const foreignOrgId = d.newId();
  const foreignUserId = d.newId();
  await d.store.push({
    instanceId: d.instanceId,
    editor: "test",
    expected: new Map(),
    now: d.clock(),
    events: [
      { aggregateType: "user", aggregateId: humanId, resourceOwner: orgId, type: "user.human.added", payload: { userName: `human-${humanId}`, displayName: "Hu Man" } },
      { aggregateType: "org", aggregateId: foreignOrgId, resourceOwner: foreignOrgId, type: "org.added", payload: { name: `other-${foreignOrgId}` } },
      { aggregateType: "user", aggregateId: foreignUserId, resourceOwner: foreignOrgId, type: "user.machine.added", payload: { userName: `foreign-${foreignUserId}`, name: "Foreign" } },
    ],
  });
  return { humanId, foreignOrgId, foreignUserId };
}

/** POST a form to an OAuth endpoint; returns status, headers and the parsed JSON body. */
export async function oauthPost(baseUrl: string, path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(baseUrl + path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: JSON.parse(text) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}
