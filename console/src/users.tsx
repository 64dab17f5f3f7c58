// Machine users: the list (search, state filter, paging, create) and a machine's page with tabs.
import { useState } from "preact/hooks";
import { AccessTokenType, Type, UserState, type User } from "@zitadel/proto/zitadel/user_pb.js";
import { TextQueryMethod } from "@zitadel/proto/zitadel/object_pb.js";
import { KeyType } from "@zitadel/proto/zitadel/auth_n_key_pb.js";
import { describeError, fmtDate, toTimestamp, type Api } from "./api.js";
import { Badge, ConfirmButton, ErrorBox, SecretOnce, useAction, useLoad } from "./ui.js";

const PAGE = 20;

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
    return api.mgmt.listUsers({ query: { offset: BigInt(offset), limit: PAGE, asc: true }, queries });
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
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          Previous
        </button>
        <span aria-live="polite">
          {total === 0 ? "0" : `${offset + 1}–${Math.min(offset + PAGE, total)}`} of {total}
        </span>
        <button type="button" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
          Next
        </button>
      </nav>
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

const TABS = ["general", "secrets", "keys", "pats", "metadata", "memberships", "activity"] as const;
type Tab = (typeof TABS)[number];
const TAB_LABEL: Record<Tab, string> = {
  general: "General",
  secrets: "Secrets",
  keys: "Keys",
  pats: "Personal access tokens",
  metadata: "Metadata",
  memberships: "Memberships",
  activity: "Activity",
};

export function MachinePage({ api, userId, tab, orgId }: { api: Api; userId: string; tab: string; orgId: string }) {
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
      <nav class="tabs" aria-label="Machine user sections">
        {TABS.map((t) => (
          <a key={t} href={`#/users/${userId}/${t}`} aria-current={t === current ? "page" : undefined}>
            {TAB_LABEL[t]}
          </a>
        ))}
      </nav>
      {u && (
        <div class="tab-body">
          {current === "general" && <General api={api} user={u} reload={user.reload} />}
          {current === "secrets" && <Secrets api={api} user={u} reload={user.reload} />}
          {current === "keys" && <Keys api={api} user={u} />}
          {current === "pats" && <Pats api={api} user={u} />}
          {current === "metadata" && <Metadata api={api} user={u} />}
          {current === "memberships" && <Memberships api={api} user={u} />}
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

function Secrets({ api, user, reload }: { api: Api; user: User; reload: () => void }) {
  const secrets = useLoad(() => api.creds.listSecrets({ userId: user.id }), [user.id]);
  const [shown, setShown] = useState<{ clientId: string; clientSecret: string; note?: string }>();
  const [description, setDescription] = useState("");
  const [days, setDays] = useState("90");
  const [grace, setGrace] = useState("24");
  const action = useAction();
  const origin = location.origin;
  const refresh = () => {
    secrets.reload();
    reload();
  };
  const rows = secrets.data?.result ?? [];
  return (
    <div class="card">
      <h2>Client secrets</h2>
      <p>Secrets authenticate the client_credentials grant (client id: the username). Several may be valid at once, so a secret can be replaced without downtime.</p>
      <ErrorBox error={secrets.error ?? action.error} />
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => {
            const r = await api.creds.addSecret({ userId: user.id, description, expirationDate: inDays(days) });
            setDescription("");
            setShown({ clientId: r.clientId, clientSecret: r.clientSecret });
          });
        }}
      >
        <label>
          Description
          <input value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} placeholder="e.g. prod deployment" />
        </label>
        <ExpirySelect id="secret-expiry" value={days} onChange={setDays} />
        <button type="submit" class="primary" disabled={action.busy}>
          Generate secret
        </button>
      </form>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Secret</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((x) => (
              <tr key={x.id}>
                <td>
                  {x.description || <em>no description</em>} <code>{x.id}</code>
                </td>
                <td>{fmtDate(x.creationDate)}</td>
                <td>{x.expirationDate ? fmtDate(x.expirationDate) : "never"}</td>
                <td>{x.lastUsed ? fmtDate(x.lastUsed) : "never"}</td>
                <td class="row-actions">
                  <ConfirmButton
                    label="Rotate"
                    danger={false}
                    title={`Rotate secret ${x.description || x.id}?`}
                    body={
                      <>
                        <p>A new secret is made; this one keeps working for the grace period, then expires.</p>
                        <label>
                          Grace period (hours)
                          <input type="number" min="0" value={grace} onInput={(e) => setGrace((e.target as HTMLInputElement).value)} />
                        </label>
                      </>
                    }
                    onConfirm={async () => {
                      const r = await api.creds.rotateSecret({ userId: user.id, secretId: x.id, gracePeriod: { seconds: BigInt(Math.round(Number(grace || "0") * 3600)), nanos: 0 } });
                      setShown({ clientId: r.clientId, clientSecret: r.clientSecret, note: `The old secret stays valid for ${grace} hours.` });
                    }}
                  />{" "}
                  <ConfirmButton
                    label="Delete"
                    title={`Delete secret ${x.description || x.id}?`}
                    confirmLabel="Delete secret"
                    body={<p>Tokens can no longer be requested with it, and the tokens it obtained stop working.</p>}
                    onConfirm={() => api.creds.removeSecret({ userId: user.id, secretId: x.id }).then(refresh)}
                  />
                </td>
              </tr>
            ))}
            {secrets.data && rows.length === 0 && (
              <tr>
                <td colSpan={5}>No client secret.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {shown && (
        <SecretOnce
          title="Client secret"
          fields={[
            { label: "Client id", value: shown.clientId },
            { label: "Client secret", value: shown.clientSecret },
          ]}
          onClose={() => {
            setShown(undefined);
            refresh();
          }}
        >
          {shown.note && <p>{shown.note}</p>}
          <p>Try it:</p>
          <pre class="snippet">{`curl -u '${shown.clientId}:<secret>' -d grant_type=client_credentials -d scope=openid ${origin}/oauth/v2/token`}</pre>
        </SecretOnce>
      )}
    </div>
  );
}

function download(name: string, bytes: Uint8Array) {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const inDays = (days: string) => (days ? toTimestamp(new Date(Date.now() + Number(days) * 86_400_000)) : undefined);

function ExpirySelect({ value, onChange, id }: { value: string; onChange: (v: string) => void; id: string }) {
  return (
    <label for={id}>
      Expires
      <select id={id} value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        <option value="30">in 30 days</option>
        <option value="90">in 90 days</option>
        <option value="365">in 1 year</option>
        <option value="">never</option>
      </select>
    </label>
  );
}

function Keys({ api, user }: { api: Api; user: User }) {
  const keys = useLoad(() => api.mgmt.listMachineKeys({ userId: user.id }), [user.id]);
  const [days, setDays] = useState("90");
  const [added, setAdded] = useState<{ keyId: string; file: string }>();
  const [publicKey, setPublicKey] = useState("");
  const [addedPublic, setAddedPublic] = useState<string>();
  const action = useAction();
  return (
    <div class="card">
      <h2>Keys</h2>
      <p>A key file lets the machine user get tokens with the JWT bearer grant (RFC 7523). Only the public key is kept: download the file now.</p>
      <ErrorBox error={keys.error ?? action.error} />
      <div class="actions">
        <ExpirySelect id="key-expiry" value={days} onChange={setDays} />
        <button
          type="button"
          class="primary"
          disabled={action.busy}
          onClick={() =>
            action.run(async () => {
              const r = await api.mgmt.addMachineKey({ userId: user.id, type: KeyType.JSON, expirationDate: inDays(days) });
              const file = `${user.userName}-${r.keyId}.json`;
              download(file, r.keyDetails);
              setAdded({ keyId: r.keyId, file });
              keys.reload();
            })
          }
        >
          New key (download JSON)
        </button>
      </div>
      {added && (
        <p role="status" class="warning">
          Key {added.keyId} downloaded as {added.file}. It cannot be downloaded again.
        </p>
      )}
      <details>
        <summary>Add a public key instead (the private key never leaves your machine)</summary>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void action.run(async () => {
              const r = await api.mgmt.addMachineKey({ userId: user.id, type: KeyType.JSON, expirationDate: inDays(days), publicKey: new TextEncoder().encode(publicKey.trim() + "\n") });
              setAdded(undefined);
              setPublicKey("");
              setAddedPublic(r.keyId);
              keys.reload();
            });
          }}
        >
          <label>
            Public key (PEM)
            <textarea rows={5} required value={publicKey} onInput={(e) => setPublicKey((e.target as HTMLTextAreaElement).value)} placeholder="-----BEGIN PUBLIC KEY-----" />
          </label>
          <button type="submit" disabled={action.busy}>
            Add public key
          </button>
          {addedPublic && <p role="status">Key {addedPublic} added: sign assertions with its private key and this key id.</p>}
        </form>
      </details>
      <CredentialTable
        rows={keys.data?.result.map((k) => ({ id: k.id, created: fmtDate(k.details?.creationDate), expires: fmtDate(k.expirationDate) })) ?? []}
        what="key"
        onRemove={(id) => api.mgmt.removeMachineKey({ userId: user.id, keyId: id }).then(keys.reload)}
      />
    </div>
  );
}

function Pats({ api, user }: { api: Api; user: User }) {
  const pats = useLoad(() => api.mgmt.listPersonalAccessTokens({ userId: user.id }), [user.id]);
  const [days, setDays] = useState("90");
  const [shown, setShown] = useState<{ tokenId: string; token: string }>();
  const action = useAction();
  return (
    <div class="card">
      <h2>Personal access tokens</h2>
      <ErrorBox error={pats.error ?? action.error} />
      <div class="actions">
        <ExpirySelect id="pat-expiry" value={days} onChange={setDays} />
        <button
          type="button"
          class="primary"
          disabled={action.busy}
          onClick={() => action.run(async () => setShown(await api.mgmt.addPersonalAccessToken({ userId: user.id, expirationDate: inDays(days) })))}
        >
          New token
        </button>
      </div>
      {shown && (
        <SecretOnce
          title="Personal access token"
          fields={[{ label: "Token", value: shown.token }]}
          onClose={() => {
            setShown(undefined);
            pats.reload();
          }}
        />
      )}
      <CredentialTable
        rows={pats.data?.result.map((t) => ({ id: t.id, created: fmtDate(t.details?.creationDate), expires: fmtDate(t.expirationDate) })) ?? []}
        what="token"
        onRemove={(id) => api.mgmt.removePersonalAccessToken({ userId: user.id, tokenId: id }).then(pats.reload)}
      />
    </div>
  );
}

function CredentialTable({ rows, what, onRemove }: { rows: { id: string; created: string; expires: string }[]; what: string; onRemove: (id: string) => Promise<unknown> }) {
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id}>
              <td>
                <code>{r.id}</code>
              </td>
              <td>{r.created}</td>
              <td>{r.expires}</td>
              <td>
                <ConfirmButton label="Delete" title={`Delete ${what} ${r.id}?`} body={<p>Whatever uses this {what} stops working.</p>} onConfirm={() => onRemove(r.id)} />
              </td>
            </tr>
          ))}
          {rows.length === 0 && (
            <tr>
              <td colSpan={4}>None.</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
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

function Memberships({ api, user }: { api: Api; user: User }) {
  const members = useLoad(() => api.mgmt.listOrgMembers({ queries: [{ query: { case: "userIdQuery", value: { userId: user.id } } }] }), [user.id]);
  // Instance roles: only an instance administrator may read them; anyone else sees why not.
  const iam = useLoad(async () => (await api.admin()).listIAMMembers({ queries: [{ query: { case: "userIdQuery", value: { userId: user.id } } }] }), [user.id]);
  const mine = members.data?.result.filter((m) => m.userId === user.id) ?? [];
  const instance = iam.data?.result.filter((m) => m.userId === user.id) ?? [];
  return (
    <div class="card">
      <h2>Memberships</h2>
      <p>Administrative roles of this machine user (organization roles are managed under Members).</p>
      <ErrorBox error={members.error} />
      <ul>
        {mine.map((m) => (
          <li key={"org" + m.userId}>This organization: {m.roles.join(", ")}</li>
        ))}
        {instance.map((m) => (
          <li key={"iam" + m.userId}>Instance: {m.roles.join(", ")}</li>
        ))}
        {members.data && mine.length === 0 && instance.length === 0 && <li>No memberships{iam.error ? " in this organization" : ""}.</li>}
      </ul>
      {iam.error !== undefined && <p class="muted">Instance roles: not visible to you ({describeError(iam.error)}).</p>}
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
