// A machine's authorizations (user grants: project + roles, what tokens carry) and memberships
// (administrative roles in the instance, organizations and projects). Loaded lazily.
import { useState } from "preact/hooks";
import { UserGrantState, type User } from "@zitadel/proto/zitadel/user_pb.js";
import { fmtDate, type Api } from "./api.js";
import { allRoles, EditRolesDialog } from "./project-tabs.js";
import { Badge, ConfirmButton, ErrorBox, Pager, pageQuery, RoleChecks, useAction, useLoad } from "./ui.js";

/** A project a grant can be made on: one of the org's own, or one granted to it (with the grant's roles). */
export interface GrantableProject {
  value: string;
  projectId: string;
  projectGrantId: string;
  name: string;
  /** Granted projects: the role keys the grant holds (own projects: undefined, read the project's roles). */
  grantedRoleKeys?: string[];
}

/** The org's own projects and the projects granted to it (up to 1000 each), for pickers. */
export async function grantableProjects(api: Api): Promise<GrantableProject[]> {
  const [own, granted] = await Promise.all([
    api.mgmt.listProjects({ query: { limit: 1000, asc: true } }),
    api.mgmt.listGrantedProjects({ query: { limit: 1000, asc: true } }).catch(() => undefined),
  ]);
  return [
    ...own.result.map((p) => ({ value: p.id, projectId: p.id, projectGrantId: "", name: p.name })),
    ...(granted?.result ?? []).map((g) => ({
      value: `${g.projectId}/${g.grantId}`,
      projectId: g.projectId,
      projectGrantId: g.grantId,
      name: `${g.projectName} (granted by ${g.projectOwnerName || g.projectOwnerId})`,
      grantedRoleKeys: g.grantedRoleKeys,
    })),
  ];
}

async function rolesOf(api: Api, p: { projectId: string; projectGrantId: string; grantedRoleKeys?: string[] }) {
  if (p.grantedRoleKeys) return p.grantedRoleKeys.map((key) => ({ key }));
  if (p.projectGrantId) return (await api.mgmt.getGrantedProjectByID({ projectId: p.projectId, grantId: p.projectGrantId })).grantedProject?.grantedRoleKeys.map((key) => ({ key })) ?? [];
  return allRoles(api, p.projectId);
}

export function Authorizations({ api, user }: { api: Api; user: User }) {
  const [offset, setOffset] = useState(0);
  const grants = useLoad(() => api.mgmt.listUserGrants({ query: pageQuery(offset), queries: [{ query: { case: "userIdQuery", value: { userId: user.id } } }] }), [user.id, offset]);
  const projects = useLoad(() => grantableProjects(api), [user.id]);
  const [picked, setPicked] = useState("");
  const project = projects.data?.find((p) => p.value === picked);
  const roles = useLoad(async () => (project ? rolesOf(api, project) : []), [picked, projects.data]);
  const [keys, setKeys] = useState<string[]>([]);
  const [editing, setEditing] = useState<{ grantId: string; keys: string[]; project: string; roles: { key: string; displayName?: string }[] }>();
  const action = useAction();
  return (
    <div class="card">
      <h2>Authorizations</h2>
      <p>The roles this machine user holds on projects; tokens carry them (scope urn:zitadel:iam:org:projects:roles with the project's audience).</p>
      <ErrorBox error={grants.error ?? projects.error ?? roles.error ?? action.error} />
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if (!project) return;
          if (await action.run(() => api.mgmt.addUserGrant({ userId: user.id, projectId: project.projectId, projectGrantId: project.projectGrantId, roleKeys: keys }))) {
            setKeys([]);
            setPicked("");
            grants.reload();
          }
        }}
      >
        <label>
          Project
          <select
            required
            value={picked}
            onChange={(e) => {
              setKeys([]);
              setPicked((e.target as HTMLSelectElement).value);
            }}
          >
            <option value="">Choose a project</option>
            {projects.data?.map((p) => (
              <option key={p.value} value={p.value}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        {project && <RoleChecks legend="Roles" roles={roles.data ?? []} value={keys} onChange={setKeys} />}
        <div class="actions">
          <button type="submit" disabled={action.busy || !project}>
            Add authorization
          </button>
        </div>
      </form>
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Authorizations of this machine user</caption>
          <thead>
            <tr>
              <th scope="col">Project</th>
              <th scope="col">Roles</th>
              <th scope="col">State</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {grants.data?.result.map((g) => (
              <tr key={g.id}>
                <td>
                  {g.projectName || g.projectId} <code>{g.projectId}</code>
                  {g.projectGrantId && <span class="muted"> · granted project</span>}
                </td>
                <td>{g.roleKeys.join(", ") || <em>none</em>}</td>
                <td>
                  <Badge text={g.state === UserGrantState.INACTIVE ? "Inactive" : "Active"} />
                </td>
                <td>{fmtDate(g.details?.creationDate)}</td>
                <td class="row-actions">
                  <button
                    type="button"
                    onClick={() =>
                      action.run(async () =>
                        setEditing({ grantId: g.id, keys: g.roleKeys, project: g.projectName || g.projectId, roles: await rolesOf(api, { projectId: g.projectId, projectGrantId: g.projectGrantId }) }),
                      )
                    }
                  >
                    Edit roles<span class="sr-only"> on {g.projectName || g.projectId}</span>
                  </button>{" "}
                  <ConfirmButton
                    label="Remove"
                    title={`Remove the authorization on ${g.projectName || g.projectId}?`}
                    body={<p>Tokens of this machine user stop carrying these roles.</p>}
                    onConfirm={() => api.mgmt.removeUserGrant({ userId: user.id, grantId: g.id }).then(grants.reload)}
                  />
                </td>
              </tr>
            ))}
            {grants.data?.result.length === 0 && (
              <tr>
                <td colSpan={5}>No authorizations.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Pager offset={offset} total={Number(grants.data?.details?.totalResult ?? 0n)} onOffset={setOffset} label="Authorization pages" />
      {editing && (
        <EditRolesDialog
          title={`Roles on ${editing.project}`}
          roles={editing.roles}
          initial={editing.keys}
          onSave={(roleKeys) => api.mgmt.updateUserGrant({ userId: user.id, grantId: editing.grantId, roleKeys }).then(grants.reload)}
          onClose={() => setEditing(undefined)}
        />
      )}
    </div>
  );
}

/** ListUserMemberships, one page: where (instance, organization, project) and with which roles. */
async function loadMemberships(api: Api, userId: string, offset: number) {
  const r = await api.mgmt.listUserMemberships({ userId, query: pageQuery(offset) });
  const rows = r.result.map((m) => {
    const t = m.type;
    const where = t.case === "iam" ? "Instance" : t.case === "orgId" ? "Organization" : t.case === "projectId" ? "Project" : "Project grant";
    return { where, name: m.displayName, roles: m.roles };
  });
  return { rows, total: Number(r.details?.totalResult ?? 0n) };
}

export function Memberships({ api, user }: { api: Api; user: User }) {
  const [offset, setOffset] = useState(0);
  const list = useLoad(() => loadMemberships(api, user.id, offset), [user.id, offset]);
  const rows = list.data?.rows ?? [];
  return (
    <div class="card">
      <h2>Memberships</h2>
      <p>Administrative roles of this machine user: where it is a member and with which roles (managed under Members and a project's Members tab).</p>
      <ErrorBox error={list.error} />
      {list.data && rows.length === 0 && <p>No memberships.</p>}
      {rows.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Memberships of this machine user</caption>
            <thead>
              <tr>
                <th scope="col">Where</th>
                <th scope="col">Which</th>
                <th scope="col">Roles</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((m, i) => (
                <tr key={i}>
                  <td>{m.where}</td>
                  <td>{m.name}</td>
                  <td>{m.roles.join(", ")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data && <Pager offset={offset} total={list.data.total} onOffset={setOffset} label="Membership pages" />}
    </div>
  );
}
