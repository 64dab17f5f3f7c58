// Members (administrative roles): of the organization (#/members) and of a project (its Members
// tab) — one paged table with remove, and an add form with the roles the API offers.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import type { Member } from "@zitadel/proto/zitadel/member_pb.js";
import type { ListDetails } from "@zitadel/proto/zitadel/object_pb.js";
import type { Api } from "./api.js";
import { ConfirmButton, ErrorBox, Pager, pageQuery, useAction, useLoad } from "./ui.js";

interface MembersProps {
  /** "the organization", "the project": how the confirmation names it. */
  where: string;
  /** Reloads when any of these change. */
  deps: unknown[];
  list: (query: ReturnType<typeof pageQuery>) => Promise<{ details?: ListDetails; result: Member[] }>;
  roles: () => Promise<{ result: string[] }>;
  add: (userId: string, roles: string[]) => Promise<unknown>;
  remove: (userId: string) => Promise<unknown>;
  children?: ComponentChildren;
}

export function MembersTable(props: MembersProps) {
  const [offset, setOffset] = useState(0);
  const members = useLoad(() => props.list(pageQuery(offset)), [...props.deps, offset]);
  const roles = useLoad(props.roles, props.deps);
  const [userId, setUserId] = useState("");
  const [role, setRole] = useState("");
  const action = useAction();
  const offered = roles.data?.result ?? [];
  return (
    <>
      {props.children}
      <ErrorBox error={members.error ?? action.error} />
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Members of {props.where}</caption>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Roles</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {members.data?.result.map((m) => (
              <tr key={m.userId}>
                <td>
                  {m.preferredLoginName || m.displayName} <code>{m.userId}</code>
                </td>
                <td>{m.roles.join(", ")}</td>
                <td>
                  <ConfirmButton
                    label="Remove"
                    title={`Remove ${m.preferredLoginName || m.userId} from ${props.where}?`}
                    body={<p>Its roles in {props.where} are removed.</p>}
                    onConfirm={() => props.remove(m.userId).then(members.reload)}
                  />
                </td>
              </tr>
            ))}
            {members.data?.result.length === 0 && (
              <tr>
                <td colSpan={3}>No members.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Pager offset={offset} total={Number(members.data?.details?.totalResult ?? 0n)} onOffset={setOffset} label="Member pages" />
      <form
        class="inline-form"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await action.run(() => props.add(userId.trim(), [role || offered[0] || ""]))) {
            setUserId("");
            members.reload();
          }
        }}
      >
        <label>
          User id
          <input required value={userId} onInput={(e) => setUserId((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Role
          <select value={role || offered[0]} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
            {offered.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={action.busy}>
          Add member
        </button>
      </form>
    </>
  );
}

export function OrgMembers({ api, orgId }: { api: Api; orgId: string }) {
  return (
    <section aria-labelledby="members-title">
      <MembersTable
        where="the organization"
        deps={[orgId]}
        list={(query) => api.mgmt.listOrgMembers({ query })}
        roles={() => api.mgmt.listOrgMemberRoles({})}
        add={(userId, roles) => api.mgmt.addOrgMember({ userId, roles })}
        remove={(userId) => api.mgmt.removeOrgMember({ userId })}
      >
        <h1 id="members-title">Organization members</h1>
      </MembersTable>
    </section>
  );
}

export function ProjectMembers({ api, projectId }: { api: Api; projectId: string }) {
  return (
    <div class="card">
      <MembersTable
        where="the project"
        deps={[projectId]}
        list={(query) => api.mgmt.listProjectMembers({ projectId, query })}
        roles={() => api.mgmt.listProjectMemberRoles({})}
        add={(userId, roles) => api.mgmt.addProjectMember({ projectId, userId, roles })}
        remove={(userId) => api.mgmt.removeProjectMember({ projectId, userId })}
      >
        <h2>Project members</h2>
        <p>Who may manage this project (administrative roles, not the project's own roles).</p>
      </MembersTable>
    </div>
  );
}
