// A project's roles and its grants to other organizations (project page tabs).
import { useState } from "preact/hooks";
import { ProjectGrantState } from "@zitadel/proto/zitadel/project_pb.js";
import { type Api } from "./api.js";
import { Badge, ConfirmButton, ErrorBox, Modal, Pager, pageQuery, RoleChecks, useAction, useLoad } from "./ui.js";

const text = (e: Event) => (e.target as HTMLInputElement).value;

/** Every role of a project (for role pickers; limit 1000). */
export const allRoles = async (api: Api, projectId: string) => (await api.mgmt.listProjectRoles({ projectId, query: { limit: 1000, asc: true } })).result;

export function Roles({ api, projectId }: { api: Api; projectId: string }) {
  const [offset, setOffset] = useState(0);
  const roles = useLoad(() => api.mgmt.listProjectRoles({ projectId, query: pageQuery(offset) }), [projectId, offset]);
  const [key, setKey] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [group, setGroup] = useState("");
  const [editing, setEditing] = useState<{ key: string; displayName: string; group: string }>();
  const action = useAction();
  const edit = useAction();
  return (
    <div class="card">
      <h2>Roles</h2>
      <p>Role keys appear in tokens (scope urn:zitadel:iam:org:projects:roles) for users authorized with them.</p>
      <ErrorBox error={roles.error ?? action.error} />
      <form
        class="inline-form"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await action.run(() => api.mgmt.addProjectRole({ projectId, roleKey: key.trim(), displayName: displayName.trim() || key.trim(), group: group.trim() }))) {
            setKey("");
            setDisplayName("");
            setGroup("");
            roles.reload();
          }
        }}
      >
        <label>
          Role key
          <input required value={key} onInput={(e) => setKey(text(e))} />
        </label>
        <label>
          Display name
          <input value={displayName} onInput={(e) => setDisplayName(text(e))} placeholder="defaults to the key" />
        </label>
        <label>
          Group
          <input value={group} onInput={(e) => setGroup(text(e))} />
        </label>
        <button type="submit" disabled={action.busy}>
          Add role
        </button>
      </form>
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Roles of this project</caption>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Display name</th>
              <th scope="col">Group</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {roles.data?.result.map((r) => (
              <tr key={r.key}>
                <td>
                  <code>{r.key}</code>
                </td>
                <td>{r.displayName}</td>
                <td>{r.group}</td>
                <td class="row-actions">
                  <button type="button" onClick={() => (edit.clear(), setEditing({ key: r.key, displayName: r.displayName, group: r.group }))}>
                    Edit<span class="sr-only"> {r.key}</span>
                  </button>{" "}
                  <ConfirmButton
                    label="Remove"
                    title={`Remove role ${r.key}?`}
                    body={<p>Authorizations and grants lose this role; tokens stop carrying it.</p>}
                    onConfirm={() => api.mgmt.removeProjectRole({ projectId, roleKey: r.key }).then(roles.reload)}
                  />
                </td>
              </tr>
            ))}
            {roles.data?.result.length === 0 && (
              <tr>
                <td colSpan={4}>No roles yet.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Pager offset={offset} total={Number(roles.data?.details?.totalResult ?? 0n)} onOffset={setOffset} label="Role pages" />
      {editing && (
        <Modal title={`Edit role ${editing.key}`} onClose={() => setEditing(undefined)}>
          <form
            onSubmit={async (e) => {
              e.preventDefault();
              if (await edit.run(() => api.mgmt.updateProjectRole({ projectId, roleKey: editing.key, displayName: editing.displayName, group: editing.group }))) {
                setEditing(undefined);
                roles.reload();
              }
            }}
          >
            <label>
              Display name
              <input required value={editing.displayName} onInput={(e) => setEditing({ ...editing, displayName: text(e) })} />
            </label>
            <label>
              Group
              <input value={editing.group} onInput={(e) => setEditing({ ...editing, group: text(e) })} />
            </label>
            <ErrorBox error={edit.error} />
            <div class="actions">
              <button type="button" onClick={() => setEditing(undefined)}>
                Cancel
              </button>
              <button type="submit" class="primary" disabled={edit.busy}>
                Save role
              </button>
            </div>
          </form>
        </Modal>
      )}
    </div>
  );
}

/** Edit a set of role keys in a dialog (grants, authorizations). */
export function EditRolesDialog(props: { title: string; roles: { key: string; displayName?: string }[]; initial: string[]; onSave: (keys: string[]) => Promise<unknown>; onClose: () => void }) {
  const [keys, setKeys] = useState(props.initial);
  const action = useAction();
  return (
    <Modal title={props.title} onClose={props.onClose}>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if (await action.run(() => props.onSave(keys))) props.onClose();
        }}
      >
        <RoleChecks legend="Roles" roles={props.roles} value={keys} onChange={setKeys} />
        <ErrorBox error={action.error} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={action.busy}>
            Save roles
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function Grants({ api, projectId, orgId }: { api: Api; projectId: string; orgId: string }) {
  const [offset, setOffset] = useState(0);
  const grants = useLoad(() => api.mgmt.listProjectGrants({ projectId, query: pageQuery(offset) }), [projectId, offset]);
  const roles = useLoad(() => allRoles(api, projectId), [projectId]);
  // Other organizations the caller can see; an org id can be typed when the list is not visible.
  const orgs = useLoad(async () => (await api.orgs.listOrganizations({ query: { limit: 1000 } })).result.filter((o) => o.id !== orgId), [orgId]);
  const [grantedOrgId, setGrantedOrgId] = useState("");
  const [keys, setKeys] = useState<string[]>([]);
  const [editing, setEditing] = useState<{ grantId: string; keys: string[]; org: string }>();
  const action = useAction();
  const stateAction = useAction();
  return (
    <div class="card">
      <h2>Grants to other organizations</h2>
      <p>A grant lets another organization authorize its own users and machines for this project, with the roles granted here.</p>
      <ErrorBox error={grants.error ?? roles.error ?? action.error ?? stateAction.error} />
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if (await action.run(() => api.mgmt.addProjectGrant({ projectId, grantedOrgId: grantedOrgId.trim(), roleKeys: keys }))) {
            setGrantedOrgId("");
            setKeys([]);
            grants.reload();
          }
        }}
      >
        {orgs.error === undefined && (orgs.loading || (orgs.data?.length ?? 0) > 0) ? (
          <label>
            Organization
            <select required value={grantedOrgId} onChange={(e) => setGrantedOrgId((e.target as HTMLSelectElement).value)}>
              <option value="">Choose an organization</option>
              {orgs.data?.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name} ({o.id})
                </option>
              ))}
            </select>
          </label>
        ) : (
          <label>
            Organization id
            <input required value={grantedOrgId} onInput={(e) => setGrantedOrgId(text(e))} />
          </label>
        )}
        <RoleChecks legend="Roles to grant" roles={roles.data ?? []} value={keys} onChange={setKeys} />
        <button type="submit" disabled={action.busy}>
          Grant project
        </button>
      </form>
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Grants of this project</caption>
          <thead>
            <tr>
              <th scope="col">Organization</th>
              <th scope="col">Roles</th>
              <th scope="col">State</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {grants.data?.result.map((g) => {
              const org = g.grantedOrgName || g.grantedOrgId;
              const inactive = g.state === ProjectGrantState.INACTIVE;
              return (
                <tr key={g.grantId}>
                  <td>
                    {org} <code>{g.grantId}</code>
                  </td>
                  <td>{g.grantedRoleKeys.join(", ")}</td>
                  <td>
                    <Badge text={inactive ? "Inactive" : "Active"} />
                  </td>
                  <td class="row-actions">
                    <button type="button" onClick={() => setEditing({ grantId: g.grantId, keys: g.grantedRoleKeys, org })}>
                      Edit roles<span class="sr-only"> of the grant to {org}</span>
                    </button>{" "}
                    {inactive ? (
                      <button type="button" onClick={() => stateAction.run(() => api.mgmt.reactivateProjectGrant({ projectId, grantId: g.grantId })).then((ok) => ok && grants.reload())}>
                        Reactivate
                      </button>
                    ) : (
                      <ConfirmButton
                        label="Deactivate"
                        danger={false}
                        title={`Deactivate the grant to ${org}?`}
                        body={<p>Its authorizations stop counting until the grant is reactivated.</p>}
                        onConfirm={() => api.mgmt.deactivateProjectGrant({ projectId, grantId: g.grantId }).then(grants.reload)}
                      />
                    )}{" "}
                    <ConfirmButton
                      label="Remove"
                      title={`Remove the grant to ${org}?`}
                      body={<p>The organization loses the project and the authorizations it made on it.</p>}
                      onConfirm={() => api.mgmt.removeProjectGrant({ projectId, grantId: g.grantId }).then(grants.reload)}
                    />
                  </td>
                </tr>
              );
            })}
            {grants.data?.result.length === 0 && (
              <tr>
                <td colSpan={4}>Not granted to any organization.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Pager offset={offset} total={Number(grants.data?.details?.totalResult ?? 0n)} onOffset={setOffset} label="Grant pages" />
      {editing && (
        <EditRolesDialog
          title={`Roles granted to ${editing.org}`}
          roles={roles.data ?? []}
          initial={editing.keys}
          onSave={(roleKeys) => api.mgmt.updateProjectGrant({ projectId, grantId: editing.grantId, roleKeys }).then(grants.reload)}
          onClose={() => setEditing(undefined)}
        />
      )}
    </div>
  );
}
