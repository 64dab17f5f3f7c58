// A machine user's credentials: client secrets (several, with expiry and last use), keys (JSON key
// file download or a public key) and personal access tokens. Secrets are shown once.
import { useState } from "preact/hooks";
import type { User } from "@zitadel/proto/zitadel/user_pb.js";
import { KeyType } from "@zitadel/proto/zitadel/auth_n_key_pb.js";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { CredentialKind } from "../../src/api/proto/portcullis/v1/expiring_pb.js";
import { fmtDate, toTimestamp, type Api } from "./api.js";
import { ConfirmButton, ErrorBox, Pager, pageQuery, SecretOnce, useAction, useLoad } from "./ui.js";

export function Secrets({ api, user, reload }: { api: Api; user: User; reload: () => void }) {
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

export function download(name: string, bytes: Uint8Array) {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const inDays = (days: string) => (days ? toTimestamp(new Date(Date.now() + Number(days) * 86_400_000)) : undefined);

export function ExpirySelect({ value, onChange, id }: { value: string; onChange: (v: string) => void; id: string }) {
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

/** "New key": made with the chosen expiry, its JSON key file downloaded at once (never again). */
export function NewKeyFile({ id, create, onAdded }: { id: string; create: (expirationDate: Timestamp | undefined) => Promise<{ keyId: string; file: string; bytes: Uint8Array }>; onAdded: () => void }) {
  const [days, setDays] = useState("90");
  const [added, setAdded] = useState<{ keyId: string; file: string }>();
  const action = useAction();
  return (
    <>
      <ErrorBox error={action.error} />
      <div class="actions">
        <ExpirySelect id={id} value={days} onChange={setDays} />
        <button
          type="button"
          class="primary"
          disabled={action.busy}
          onClick={() =>
            action.run(async () => {
              const r = await create(inDays(days));
              download(r.file, r.bytes);
              setAdded({ keyId: r.keyId, file: r.file });
              onAdded();
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
    </>
  );
}

/**
 * The last use of each credential of one kind, by id: one ListUserCredentials call for the whole tab
 * (ZITADEL's key and PAT messages have no such field). Loads again whenever `n` changes.
 */
export function useUserLastUsed(api: Api, userId: string, kind: CredentialKind, n: unknown) {
  const r = useLoad(() => api.creds.listUserCredentials({ userId, kind }), [userId, kind, n]);
  return { error: r.error, of: lastUsedOf(r.data?.result) };
}

/** id → "last used" text ("never" when not used yet; "–" while unknown). */
export const lastUsedOf =
  (rows: { id: string; lastUsed?: Timestamp }[] | undefined) =>
  (id: string): string => {
    const c = rows?.find((x) => x.id === id);
    return !rows ? "–" : c?.lastUsed ? fmtDate(c.lastUsed) : "never";
  };

export function Keys({ api, user }: { api: Api; user: User }) {
  const [offset, setOffset] = useState(0);
  const keys = useLoad(() => api.mgmt.listMachineKeys({ userId: user.id, query: pageQuery(offset) }), [user.id, offset]);
  const used = useUserLastUsed(api, user.id, CredentialKind.MACHINE_KEY, keys.data);
  const [days, setDays] = useState("90");
  const [publicKey, setPublicKey] = useState("");
  const [addedPublic, setAddedPublic] = useState<string>();
  const action = useAction();
  return (
    <div class="card">
      <h2>Keys</h2>
      <p>A key file lets the machine user get tokens with the JWT bearer grant (RFC 7523). Only the public key is kept: download the file now.</p>
      <ErrorBox error={keys.error ?? action.error ?? used.error} />
      <NewKeyFile
        id="key-expiry"
        create={async (expirationDate) => {
          const r = await api.mgmt.addMachineKey({ userId: user.id, type: KeyType.JSON, expirationDate });
          return { keyId: r.keyId, file: `${user.userName}-${r.keyId}.json`, bytes: r.keyDetails };
        }}
        onAdded={keys.reload}
      />
      <details>
        <summary>Add a public key instead (the private key never leaves your machine)</summary>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void action.run(async () => {
              const r = await api.mgmt.addMachineKey({ userId: user.id, type: KeyType.JSON, expirationDate: inDays(days), publicKey: new TextEncoder().encode(publicKey.trim() + "\n") });
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
          <ExpirySelect id="public-key-expiry" value={days} onChange={setDays} />
          <button type="submit" disabled={action.busy}>
            Add public key
          </button>
          {addedPublic && <p role="status">Key {addedPublic} added: sign assertions with its private key and this key id.</p>}
        </form>
      </details>
      <CredentialTable
        rows={keys.data?.result.map((k) => ({ id: k.id, created: fmtDate(k.details?.creationDate), expires: fmtDate(k.expirationDate), lastUsed: used.of(k.id) })) ?? []}
        what="key"
        onRemove={(id) => api.mgmt.removeMachineKey({ userId: user.id, keyId: id }).then(keys.reload)}
      />
      <Pager offset={offset} total={Number(keys.data?.details?.totalResult ?? 0n)} onOffset={setOffset} label="Key pages" />
    </div>
  );
}

export function Pats({ api, user }: { api: Api; user: User }) {
  const [offset, setOffset] = useState(0);
  const pats = useLoad(() => api.mgmt.listPersonalAccessTokens({ userId: user.id, query: pageQuery(offset) }), [user.id, offset]);
  const used = useUserLastUsed(api, user.id, CredentialKind.PERSONAL_ACCESS_TOKEN, pats.data);
  const [days, setDays] = useState("90");
  const [shown, setShown] = useState<{ tokenId: string; token: string }>();
  const action = useAction();
  return (
    <div class="card">
      <h2>Personal access tokens</h2>
      <ErrorBox error={pats.error ?? action.error ?? used.error} />
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
        rows={pats.data?.result.map((t) => ({ id: t.id, created: fmtDate(t.details?.creationDate), expires: fmtDate(t.expirationDate), lastUsed: used.of(t.id) })) ?? []}
        what="token"
        onRemove={(id) => api.mgmt.removePersonalAccessToken({ userId: user.id, tokenId: id }).then(pats.reload)}
      />
      <Pager offset={offset} total={Number(pats.data?.details?.totalResult ?? 0n)} onOffset={setOffset} label="Token pages" />
    </div>
  );
}

export function CredentialTable({ rows, what, onRemove }: { rows: { id: string; created: string; expires: string; lastUsed: string }[]; what: string; onRemove: (id: string) => Promise<unknown> }) {
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
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
              <td>{r.lastUsed}</td>
              <td>
                <ConfirmButton label="Delete" title={`Delete ${what} ${r.id}?`} body={<p>Whatever uses this {what} stops working.</p>} onConfirm={() => onRemove(r.id)} />
              </td>
            </tr>
          ))}
          {rows.length === 0 && (
            <tr>
              <td colSpan={5}>None.</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
