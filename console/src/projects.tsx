// Projects (loaded lazily, its own chunk): the list (search, paging, create) and a project's page
// with tabs — general (settings, deactivate/reactivate, remove), roles, grants, applications, members.
import { useState } from "preact/hooks";
import { TextQueryMethod } from "@zitadel/proto/zitadel/object_pb.js";
import { ProjectState, type Project } from "@zitadel/proto/zitadel/project_pb.js";
import { fmtDate, type Api } from "./api.js";
import { Apps } from "./apps.js";
import { ProjectMembers } from "./members.js";
import { Grants, Roles } from "./project-tabs.js";
import { Badge, ConfirmButton, ErrorBox, Pager, pageQuery, useAction, useLoad, Tabs } from "./ui.js";

export const projectStateName = (s: ProjectState) => (s === ProjectState.ACTIVE ? "Active" : s === ProjectState.INACTIVE ? "Inactive" : "Unspecified");

const checked = (e: Event) => (e.target as HTMLInputElement).checked;
const text = (e: Event) => (e.target as HTMLInputElement).value;

interface Settings {
  name: string;
  projectRoleAssertion: boolean;
  projectRoleCheck: boolean;
  hasProjectCheck: boolean;
}

/** Name and the three token-related switches, shared by create and edit. */
function SettingsFields({ value, onChange }: { value: Settings; onChange: (v: Settings) => void }) {
  return (
    <>
      <label>
        Name
        <input required value={value.name} onInput={(e) => onChange({ ...value, name: text(e) })} />
      </label>
      <label class="inline">
        <input type="checkbox" checked={value.projectRoleAssertion} onChange={(e) => onChange({ ...value, projectRoleAssertion: checked(e) })} /> Assert roles in tokens (without asking for the roles
        scope)
      </label>
      <label class="inline">
        <input type="checkbox" checked={value.projectRoleCheck} onChange={(e) => onChange({ ...value, projectRoleCheck: checked(e) })} /> Only users with a role of this project get tokens for it
      </label>
      <label class="inline">
        <input type="checkbox" checked={value.hasProjectCheck} onChange={(e) => onChange({ ...value, hasProjectCheck: checked(e) })} /> Only users whose organization has this project (own or granted)
        get tokens for it
      </label>
    </>
  );
}

export function ProjectList({ api, orgId }: { api: Api; orgId: string }) {
  const [search, setSearch] = useState("");
  const [applied, setApplied] = useState("");
  const [offset, setOffset] = useState(0);
  const [creating, setCreating] = useState(false);
  const list = useLoad(
    () =>
      api.mgmt.listProjects({
        query: pageQuery(offset),
        queries: applied ? [{ query: { case: "nameQuery", value: { name: applied, method: TextQueryMethod.CONTAINS_IGNORE_CASE } } }] : [],
      }),
    [orgId, applied, offset],
  );
  const total = Number(list.data?.details?.totalResult ?? 0n);
  return (
    <section aria-labelledby="projects-title">
      <div class="title-row">
        <h1 id="projects-title">Projects</h1>
        <button type="button" class="primary" onClick={() => setCreating(true)}>
          New project
        </button>
      </div>
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setOffset(0);
          setApplied(search.trim());
        }}
      >
        <label>
          Search name
          <input type="search" value={search} onInput={(e) => setSearch(text(e))} />
        </label>
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={list.error} />
      {creating && <CreateProject api={api} onClose={(id) => (setCreating(false), id && (location.hash = `#/projects/${id}/roles`))} />}
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Projects of this organization</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Created</th>
              <th scope="col">Changed</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.result.map((p) => (
              <tr key={p.id}>
                <td>
                  <a href={`#/projects/${p.id}/general`}>{p.name}</a>
                </td>
                <td>
                  <Badge text={projectStateName(p.state)} />
                </td>
                <td>{fmtDate(p.details?.creationDate)}</td>
                <td>{fmtDate(p.details?.changeDate)}</td>
              </tr>
            ))}
            {list.data && list.data.result.length === 0 && (
              <tr>
                <td colSpan={4}>No projects match.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Pager offset={offset} total={total} onOffset={setOffset} />
    </section>
  );
}

function CreateProject({ api, onClose }: { api: Api; onClose: (id?: string) => void }) {
  const [v, setV] = useState<Settings>({ name: "", projectRoleAssertion: false, projectRoleCheck: false, hasProjectCheck: false });
  const action = useAction();
  return (
    <form
      class="card"
      aria-labelledby="create-project-title"
      onSubmit={async (e) => {
        e.preventDefault();
        let id = "";
        if (await action.run(async () => (id = (await api.mgmt.addProject({ ...v, privateLabelingSetting: 0 })).id))) onClose(id);
      }}
    >
      <h2 id="create-project-title">New project</h2>
      <SettingsFields value={v} onChange={setV} />
      <ErrorBox error={action.error} />
      <div class="actions">
        <button type="button" onClick={() => onClose()}>
          Cancel
        </button>
        <button type="submit" class="primary" disabled={action.busy}>
          Create project
        </button>
      </div>
    </form>
  );
}

const TABS = ["general", "roles", "grants", "apps", "members"] as const;
type Tab = (typeof TABS)[number];
const TAB_LABEL: Record<Tab, string> = { general: "General", roles: "Roles", grants: "Grants", apps: "Applications", members: "Members" };

export function ProjectPage({ api, projectId, tab, orgId }: { api: Api; projectId: string; tab: string; orgId: string }) {
  const project = useLoad(() => api.mgmt.getProjectByID({ id: projectId }), [projectId, orgId]);
  const current: Tab = (TABS as readonly string[]).includes(tab) ? (tab as Tab) : "general";
  const p = project.data?.project;
  return (
    <section aria-labelledby="project-title">
      <p>
        <a href="#/projects">← Projects</a>
      </p>
      <h1 id="project-title">
        {p ? p.name : "Project"} {p && <Badge text={projectStateName(p.state)} />}
      </h1>
      <ErrorBox error={project.error} />
      <Tabs label="Project sections" base={`#/projects/${projectId}`} tabs={TABS} labels={TAB_LABEL} current={current} />
      {p && (
        <div class="tab-body">
          {current === "general" && <General api={api} project={p} reload={project.reload} />}
          {current === "roles" && <Roles api={api} projectId={p.id} />}
          {current === "grants" && <Grants api={api} projectId={p.id} orgId={orgId} />}
          {current === "apps" && <Apps api={api} projectId={p.id} />}
          {current === "members" && <ProjectMembers api={api} projectId={p.id} />}
        </div>
      )}
    </section>
  );
}

function General({ api, project, reload }: { api: Api; project: Project; reload: () => void }) {
  const [v, setV] = useState<Settings>({
    name: project.name,
    projectRoleAssertion: project.projectRoleAssertion,
    projectRoleCheck: project.projectRoleCheck,
    hasProjectCheck: project.hasProjectCheck,
  });
  const save = useAction();
  const stateAction = useAction();
  const [saved, setSaved] = useState(false);
  return (
    <>
      <dl class="facts">
        <dt>Project id</dt>
        <dd>
          <code>{project.id}</code>
        </dd>
        <dt>Audience scope</dt>
        <dd>
          <code>urn:zitadel:iam:org:project:id:{project.id}:aud</code>
        </dd>
        <dt>Created</dt>
        <dd>{fmtDate(project.details?.creationDate)}</dd>
        <dt>Changed</dt>
        <dd>{fmtDate(project.details?.changeDate)}</dd>
      </dl>
      <form
        class="card"
        onSubmit={async (e) => {
          e.preventDefault();
          setSaved(false);
          if (await save.run(() => api.mgmt.updateProject({ id: project.id, ...v, privateLabelingSetting: project.privateLabelingSetting }))) {
            setSaved(true);
            reload();
          }
        }}
      >
        <h2>Settings</h2>
        <SettingsFields value={v} onChange={setV} />
        <ErrorBox error={save.error} />
        {saved && <p role="status">Saved.</p>}
        <div class="actions">
          <button type="submit" class="primary" disabled={save.busy}>
            Save
          </button>
        </div>
      </form>
      <div class="card">
        <h2>State</h2>
        <ErrorBox error={stateAction.error} />
        <div class="actions">
          {project.state === ProjectState.INACTIVE ? (
            <button type="button" onClick={() => stateAction.run(() => api.mgmt.reactivateProject({ id: project.id })).then((ok) => ok && reload())}>
              Reactivate
            </button>
          ) : (
            <ConfirmButton
              label="Deactivate"
              title={`Deactivate ${project.name}?`}
              body={<p>Tokens for this project carry no roles of it until it is reactivated.</p>}
              onConfirm={() => api.mgmt.deactivateProject({ id: project.id }).then(reload)}
            />
          )}
          <ConfirmButton
            label="Remove"
            title={`Remove ${project.name}?`}
            body={<p>The project, its roles, grants, applications and the authorizations on it are removed. This cannot be undone.</p>}
            confirmLabel="Remove for good"
            onConfirm={async () => {
              await api.mgmt.removeProject({ id: project.id });
              location.hash = "#/projects";
            }}
          />
        </div>
      </div>
    </>
  );
}
