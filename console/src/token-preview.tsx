// Token preview (a machine's tab, loaded lazily): what a token for this machine would carry for the
// chosen scopes, and why, without minting one — POST /portcullis/v1/users/{id}/token_preview.
import { useState } from "preact/hooks";
import type { User } from "@zitadel/proto/zitadel/user_pb.js";
import type { Api } from "./api.js";
import { grantableProjects } from "./machine-access.js";
import { ErrorBox, useAction, useLoad } from "./ui.js";

/** The answer of the endpoint (src/app/oauth/token-preview.ts TokenPreview). */
interface Preview {
  userId: string;
  scopes: string[];
  refused?: { error: string; errorDescription: string };
  accessTokenType: "BEARER" | "JWT";
  aud: string[];
  claims: { claim: string; value: unknown; because: string[] }[];
  roles: { projectId: string; roleKey: string; orgId: string; orgDomain: string; userGrantId: string; projectGrantId: string }[];
}

/** The endpoint's REST error (google.rpc.Status: its message carries ZITADEL's error id). */
class PreviewError extends Error {}

async function preview(token: string, userId: string, scope: string): Promise<Preview> {
  const r = await fetch(`/portcullis/v1/users/${encodeURIComponent(userId)}/token_preview`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ scope }),
  });
  const body = (await r.json().catch(() => ({}))) as Preview & { message?: string };
  if (!r.ok) throw new PreviewError(`${body.message ?? "the preview failed"} [HTTP ${r.status}]`);
  return body;
}

const ROLES = "urn:zitadel:iam:org:projects:roles";
const OPTIONAL: { scope: string; label: string }[] = [
  { scope: ROLES, label: "Roles (urn:zitadel:iam:org:projects:roles)" },
  { scope: "profile", label: "Profile (name, username)" },
  { scope: "urn:zitadel:iam:user:resourceowner", label: "Organization (urn:zitadel:iam:user:resourceowner)" },
  { scope: "urn:zitadel:iam:user:metadata", label: "Metadata (urn:zitadel:iam:user:metadata)" },
];
const AUD = /^urn:zitadel:iam:org:project:id:([^:]+):aud$/;
const words = (s: string) => s.split(/\s+/).filter(Boolean);

export function TokenPreview({ api, token, user }: { api: Api; token: string; user: User }) {
  const projects = useLoad(() => grantableProjects(api), [user.id]);
  const [scope, setScope] = useState(`openid ${ROLES}`);
  const [result, setResult] = useState<Preview>();
  const action = useAction();
  const has = (s: string) => words(scope).includes(s);
  const toggle = (s: string, on: boolean) => setScope((on ? [...words(scope), s] : words(scope).filter((w) => w !== s)).join(" "));
  const audProject = words(scope).map((w) => AUD.exec(w)?.[1]).find(Boolean) ?? "";
  const setProject = (id: string) => setScope([...words(scope).filter((w) => !AUD.test(w)), ...(id ? [`urn:zitadel:iam:org:project:id:${id}:aud`] : [])].join(" "));
  return (
    <div class="card">
      <h2>Token preview</h2>
      <p>What a token for this machine user would carry for these scopes now, and why — no token is issued.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => setResult(await preview(token, user.id, scope)));
        }}
      >
        <label>
          Project (audience)
          <select value={audProject} onChange={(e) => setProject((e.target as HTMLSelectElement).value)}>
            <option value="">None</option>
            {[...new Map((projects.data ?? []).map((p) => [p.projectId, p])).values()].map((p) => (
              <option key={p.projectId} value={p.projectId}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <fieldset>
          <legend>Scopes to include</legend>
          {OPTIONAL.map((o) => (
            <label key={o.scope} class="inline">
              <input type="checkbox" checked={has(o.scope)} onChange={(e) => toggle(o.scope, (e.target as HTMLInputElement).checked)} /> {o.label}
            </label>
          ))}
        </fieldset>
        <label>
          Scope
          <input required value={scope} onInput={(e) => setScope((e.target as HTMLInputElement).value)} />
        </label>
        <div class="actions">
          <button type="submit" class="primary" disabled={action.busy}>
            Preview token
          </button>
        </div>
      </form>
      <ErrorBox error={action.error ?? projects.error} />
      {result && <PreviewResult p={result} />}
    </div>
  );
}

function PreviewResult({ p }: { p: Preview }) {
  return (
    <section aria-labelledby="preview-title" aria-live="polite">
      <h3 id="preview-title">Claims</h3>
      {p.refused && (
        <p class="warning" role="note">
          The token endpoint would refuse these scopes: {p.refused.error} — {p.refused.errorDescription}
        </p>
      )}
      <dl class="facts">
        <dt>Access token</dt>
        <dd>{p.accessTokenType === "JWT" ? "JWT" : "opaque bearer"}</dd>
        <dt>Scopes kept</dt>
        <dd>
          <code>{p.scopes.join(" ")}</code>
        </dd>
      </dl>
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Claims of the token</caption>
          <thead>
            <tr>
              <th scope="col">Claim</th>
              <th scope="col">Value</th>
              <th scope="col">Because</th>
            </tr>
          </thead>
          <tbody>
            {p.claims.map((c) => (
              <tr key={c.claim}>
                <td>
                  <code>{c.claim}</code>
                </td>
                <td>
                  <code class="claim-value">{typeof c.value === "string" ? c.value : JSON.stringify(c.value, null, 1)}</code>
                </td>
                <td>{c.because.join("; ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h3>Roles</h3>
      {p.roles.length === 0 ? (
        <p>No roles: ask for the roles scope with a project audience, and authorize the machine on that project.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Roles in the token</caption>
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col">Project</th>
                <th scope="col">Organization</th>
                <th scope="col">Authorization</th>
              </tr>
            </thead>
            <tbody>
              {p.roles.map((r) => (
                <tr key={`${r.userGrantId}/${r.roleKey}`}>
                  <td>
                    <code>{r.roleKey}</code>
                  </td>
                  <td>
                    <code>{r.projectId}</code>
                  </td>
                  <td>{r.orgDomain || r.orgId}</td>
                  <td>
                    <code>{r.userGrantId}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
