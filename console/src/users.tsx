// Machine users: the list (search, state filter, paging, create) and a machine's page with tabs
// (credentials in credentials.tsx; authorizations, memberships and token preview loaded lazily).
import { useState } from "preact/hooks";
import { AccessTokenType, Type, UserState, type User } from "@zitadel/proto/zitadel/user_pb.js";
import { TextQueryMethod } from "@zitadel/proto/zitadel/object_pb.js";
import { fmtDate, type Api } from "./api.js";
import { Keys, Pats, Secrets } from "./credentials.js";
import { Badge, ConfirmButton, ErrorBox, lazy, Pager, pageQuery, useAction, useLoad, Tabs } from "./ui.js";

// Authorizations, memberships and the token preview: their own chunk, loaded when a tab opens.
const Authorizations = lazy(() => import("./machine-access.js").then((m) => m.Authorizations));
const Memberships = lazy(() => import("./machine-access.js").then((m) => m.Memberships));
const TokenPreview = lazy(() => import("./token-preview.js").then((m) => m.TokenPreview));
const MachineFederation = lazy(() => import("./federation-machine.js").then((m) => m.MachineFederation));

export const stateName = (s: UserState) => (UserState[s] ?? "UNSPECIFIED").replace(/^USER_STATE_/, "").toLowerCase().replace(/^./, (c) => c.toUpperCase());

export function UserList({ api, orgId }: { api: Api; orgId: string }) {
  const [search, setSearch] = useState("");
  const [applied, setApplied] = useState("");
  const [state, setState] = useState<string>("");
  const [offset, setOffset] = useState(0);
  const [creating, setCreating] = useState(false);
  const list = useLoad(async () => {
    const queries = [{ query: { case: "typeQuery" as const, value: { type: Type.MACHINE } } }] as Parameters<Api["mgmt"]["listUsers"]>[0]["queries"] & object[];
    if (applied) queries.push({ query: { case: "userNameQuery", value: { userName: applied, method: TextQueryMethod.CONTAINS_IGNORE_CASE } } });
    if (state) queries.push({ query: { case: "stateQuery", value: { state: Number(state) } } });
    return api.mgmt.listUsers({ query: pageQuery(offset), queries });
  }, [orgId, applied, state, offset]);
  const total = Number(list.data?.details?.totalResult ?? 0n);
  return (
    <section aria-labelledby="users-title">
      <div class="title-row">
        <h1 id="users-title">Machine users</h1>
        <button type="button" class="primary" onClick={() => setCreating(true)}>
          New machine user
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
          Search username
          <input type="search" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          State
          <select
            value={state}
            onChange={(e) => {
              setOffset(0);
              setState((e.target as HTMLSelectElement).value);
            }}
          >
            <option value="">Any</option>
            <option value={String(UserState.ACTIVE)}>Active</option>
            <option value={String(UserState.INACTIVE)}>Inactive</option>
            <option value={String(UserState.LOCKED)}>Locked</option>
          </select>
        </label>
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={list.error} />
      {creating && (
        <CreateMachine
          api={api}
          onClose={(id) => {
            setCreating(false);
            if (id) location.hash = `#/users/${id}/general`;
          }}
        />
      )}
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Machine users of this organization</caption>
          <thead>
            <tr>
              <th scope="col">Username</th>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Created</th>
              <th scope="col">Changed</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.result.map((u) => (
              <tr key={u.id}>
                <td>
                  <a href={`#/users/${u.id}/general`}>{u.userName}</a>
                </td>
                <td>{u.type.case === "machine" ? u.type.value.name : ""}</td>
                <td>
                  <Badge text={stateName(u.state)} />
                </td>
                <td>{fmtDate(u.details?.creationDate)}</td>
                <td>{fmtDate(u.details?.changeDate)}</td>
              </tr>
            ))}
            {list.data && list.data.result.length === 0 && (
              <tr>
                <td colSpan={5}>No machine users match.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Pager offset={offset} total={total} onOffset={setOffset} />
    </section>
  );
}

function CreateMachine({ api, onClose }: { api: Api; onClose: (id?: string) => void }) {
  const [userName, setUserName] = useState("");
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [jwt, setJwt] = useState(false);
  const action = useAction();
  return (
    <form
      class="card"
      aria-labelledby="create-title"
      onSubmit={async (e) => {
        e.preventDefault();
        let id = "";
        const ok = await action.run(async () => {
          const r = await api.mgmt.addMachineUser({
            userName,
            name: name || userName,
            description,
            accessTokenType: jwt ? AccessTokenType.JWT : AccessTokenType.BEARER,
          });
          id = r.userId;
        });
        if (ok) onClose(id);
      }}
    >
      <h2 id="create-title">New machine user</h2>
      <label>
        Username
        <input required value={userName} onInput={(e) => setUserName((e.target as HTMLInputElement).value)} autoFocus />
      </label>
      <label>
        Name
        <input value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} placeholder="defaults to the username" />
      </label>
      <label>
        Description
        <input value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
      </label>
      <label class="inline">
        <input type="checkbox" checked={jwt} onChange={(e) => setJwt((e.target as HTMLInputElement).checked)} /> JWT access tokens (default: opaque bearer)
      </label>
      <ErrorBox error={action.error} />
      <div class="actions">
        <button type="button" onClick={() => onClose()}>
          Cancel
        </button>
        <button type="submit" class="primary" disabled={action.busy}>
          Create
        </button>
      </div>
    </form>
  );
}

const TABS = ["general", "secrets", "keys", "pats", "metadata", "authorizations", "memberships", "federation", "token", "activity"] as const;
type Tab = (typeof TABS)[number];
const TAB_LABEL: Record<Tab, string> = {
  general: "General",
  secrets: "Secrets",
  keys: "Keys",
  pats: "Personal access tokens",
  metadata: "Metadata",
  authorizations: "Authorizations",
  memberships: "Memberships",
  federation: "Federation",
  token: "Token preview",
  activity: "Activity",
};

export function MachinePage({ api, token, userId, tab, orgId }: { api: Api; token: string; userId: string; tab: string; orgId: string }) {
  const user = useLoad(() => api.mgmt.getUserByID({ id: userId }), [userId, orgId]);
  const current: Tab = (TABS as readonly string[]).includes(tab) ? (tab as Tab) : "general";
  const u = user.data?.user;
  return (
    <section aria-labelledby="machine-title">
      <p>
        <a href="#/users">← Machine users</a>
      </p>
      <h1 id="machine-title">
        {u ? u.userName : "Machine user"} {u && <Badge text={stateName(u.state)} />}
      </h1>
      <ErrorBox error={user.error} />
      <Tabs label="Machine user sections" base={`#/users/${userId}`} tabs={TABS} labels={TAB_LABEL} current={current} />
      {u && (
        <div class="tab-body">
          {current === "general" && <General api={api} user={u} reload={user.reload} />}
          {current === "secrets" && <Secrets api={api} user={u} reload={user.reload} />}
          {current === "keys" && <Keys api={api} user={u} />}
          {current === "pats" && <Pats api={api} user={u} />}
          {current === "metadata" && <Metadata api={api} user={u} />}
          {current === "authorizations" && <Authorizations api={api} user={u} />}
          {current === "memberships" && <Memberships api={api} user={u} />}
          {current === "federation" && <MachineFederation api={api} user={u} />}
          {current === "token" && <TokenPreview api={api} token={token} user={u} />}
          {current === "activity" && <Activity api={api} user={u} />}
        </div>
      )}
    </section>
  );
}

function General({ api, user, reload }: { api: Api; user: User; reload: () => void }) {
  const m = user.type.case === "machine" ? user.type.value : undefined;
  const [name, setName] = useState(m?.name ?? "");
  const [description, setDescription] = useState(m?.description ?? "");
  const [jwt, setJwt] = useState(m?.accessTokenType === AccessTokenType.JWT);
  const save = useAction();
  const stateAction = useAction();
  const [saved, setSaved] = useState(false);
  const locked = user.state === UserState.LOCKED;
  const inactive = user.state === UserState.INACTIVE;
  return (
    <>
      <dl class="facts">
        <dt>User id</dt>
        <dd>
          <code>{user.id}</code>
        </dd>
        <dt>Login names</dt>
        <dd>{user.loginNames.join(", ")}</dd>
        <dt>Created</dt>
        <dd>{fmtDate(user.details?.creationDate)}</dd>
        <dt>Changed</dt>
        <dd>{fmtDate(user.details?.changeDate)}</dd>
      </dl>
      <form
        class="card"
        onSubmit={async (e) => {
          e.preventDefault();
          setSaved(false);
          if (await save.run(() => api.mgmt.updateMachine({ userId: user.id, name, description, accessTokenType: jwt ? AccessTokenType.JWT : AccessTokenType.BEARER }))) {
            setSaved(true);
            reload();
          }
        }}
      >
        <h2>Profile</h2>
        <label>
          Name
          <input required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Description
          <input value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
        </label>
        <label class="inline">
          <input type="checkbox" checked={jwt} onChange={(e) => setJwt((e.target as HTMLInputElement).checked)} /> JWT access tokens
        </label>
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
          {inactive ? (
            <button type="button" onClick={() => stateAction.run(() => api.mgmt.reactivateUser({ id: user.id })).then((ok) => ok && reload())}>
              Reactivate
            </button>
          ) : (
            <ConfirmButton
              label="Deactivate"
              title={`Deactivate ${user.userName}?`}
              body={<p>It can no longer get tokens until reactivated. Tokens it holds stop working.</p>}
              onConfirm={() => api.mgmt.deactivateUser({ id: user.id }).then(reload)}
            />
          )}
          {locked ? (
            <button type="button" onClick={() => stateAction.run(() => api.mgmt.unlockUser({ id: user.id })).then((ok) => ok && reload())}>
              Unlock
            </button>
          ) : (
            <ConfirmButton
              label="Lock"
              title={`Lock ${user.userName}?`}
              body={<p>It can no longer get tokens until unlocked.</p>}
              onConfirm={() => api.mgmt.lockUser({ id: user.id }).then(reload)}
            />
          )}
          <ConfirmButton
            label="Remove"
            title={`Remove ${user.userName}?`}
            body={<p>The user, its secrets, keys and tokens are removed. This cannot be undone.</p>}
            confirmLabel="Remove for good"
            onConfirm={async () => {
              await api.mgmt.removeUser({ id: user.id });
              location.hash = "#/users";
            }}
          />
        </div>
      </div>
    </>
  );
}

function Metadata({ api, user }: { api: Api; user: User }) {
  const md = useLoad(() => api.mgmt.listUserMetadata({ id: user.id }), [user.id]);
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const action = useAction();
  const dec = new TextDecoder();
  return (
    <div class="card">
      <h2>Metadata</h2>
      <ErrorBox error={md.error ?? action.error} />
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Value</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {md.data?.result.map((m) => (
              <tr key={m.key}>
                <td>
                  <code>{m.key}</code>
                </td>
                <td>{dec.decode(m.value)}</td>
                <td>
                  <ConfirmButton label="Delete" title={`Delete metadata ${m.key}?`} body={<p>The key and its value are removed.</p>} onConfirm={() => api.mgmt.removeUserMetadata({ id: user.id, key: m.key }).then(md.reload)} />
                </td>
              </tr>
            ))}
            {md.data?.result.length === 0 && (
              <tr>
                <td colSpan={3}>None.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <form
        class="inline-form"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await action.run(() => api.mgmt.setUserMetadata({ id: user.id, key, value: new TextEncoder().encode(value) }))) {
            setKey("");
            setValue("");
            md.reload();
          }
        }}
      >
        <label>
          Key
          <input required value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Value
          <input required value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" disabled={action.busy}>
          Set
        </button>
      </form>
    </div>
  );
}

function Activity({ api, user }: { api: Api; user: User }) {
  const changes = useLoad(() => api.mgmt.listUserChanges({ userId: user.id, query: { limit: 100, asc: false } }), [user.id]);
  return (
    <div class="card">
      <h2>Activity</h2>
      <ErrorBox error={changes.error} />
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Who</th>
            </tr>
          </thead>
          <tbody>
            {changes.data?.result.map((c) => (
              <tr key={String(c.sequence)}>
                <td>{fmtDate(c.changeDate)}</td>
                <td>{c.eventType?.key ?? ""}</td>
                <td>{c.editorPreferredLoginName || c.editorDisplayName || c.editorId}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
