// A project's applications (project page tab): API apps with basic auth (a client secret, shown
// once, regenerable) or private_key_jwt (keys downloaded as a JSON key file); remove.
import { useState } from "preact/hooks";
import { APIAuthMethodType, AppState, type App } from "@zitadel/proto/zitadel/app_pb.js";
import { KeyType } from "@zitadel/proto/zitadel/auth_n_key_pb.js";
import { fmtDate, type Api } from "./api.js";
import { CredentialKind } from "../../src/api/proto/portcullis/v1/expiring_pb.js";
import { CredentialTable, lastUsedOf, NewKeyFile } from "./credentials.js";
import { Badge, ConfirmButton, ErrorBox, Pager, pageQuery, SecretOnce, useAction, useLoad } from "./ui.js";

function appKind(a: App): { type: string; clientId: string; method: string; jwt: boolean } {
  switch (a.config.case) {
    case "apiConfig": {
      const jwt = a.config.value.authMethodType === APIAuthMethodType.API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT;
      return { type: "API", clientId: a.config.value.clientId, method: jwt ? "private_key_jwt" : "basic (client secret)", jwt };
    }
    case "oidcConfig":
      return { type: "OIDC", clientId: a.config.value.clientId, method: "", jwt: false };
    default:
      return { type: a.config.case === "samlConfig" ? "SAML" : "–", clientId: "", method: "", jwt: false };
  }
}

export function Apps({ api, projectId }: { api: Api; projectId: string }) {
  const [offset, setOffset] = useState(0);
  const apps = useLoad(() => api.mgmt.listApps({ projectId, query: pageQuery(offset) }), [projectId, offset]);
  const [name, setName] = useState("");
  const [jwt, setJwt] = useState(false);
  const [shown, setShown] = useState<{ title: string; clientId: string; clientSecret: string }>();
  const [keysOf, setKeysOf] = useState<App>();
  const action = useAction();
  return (
    <div class="card">
      <h2>Applications</h2>
      <p>An API application is a client of this project's API: it introspects tokens with its client id and a secret or a signed key.</p>
      <ErrorBox error={apps.error ?? action.error} />
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          await action.run(async () => {
            const r = await api.mgmt.addAPIApp({
              projectId,
              name: name.trim(),
              authMethodType: jwt ? APIAuthMethodType.API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT : APIAuthMethodType.API_AUTH_METHOD_TYPE_BASIC,
            });
            setName("");
            apps.reload();
            if (r.clientSecret) setShown({ title: "API application created", clientId: r.clientId, clientSecret: r.clientSecret });
          });
        }}
      >
        <div class="inline-form">
          <label>
            Application name
            <input required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </label>
        </div>
        <fieldset>
          <legend>Authentication</legend>
          <label class="inline">
            <input type="radio" name="auth-method" checked={!jwt} onChange={() => setJwt(false)} /> Basic: client id and client secret
          </label>
          <label class="inline">
            <input type="radio" name="auth-method" checked={jwt} onChange={() => setJwt(true)} /> private_key_jwt: a key file (add keys after creating)
          </label>
        </fieldset>
        <div class="actions">
          <button type="submit" class="primary" disabled={action.busy}>
            Create API application
          </button>
        </div>
      </form>
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Applications of this project</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Client id</th>
              <th scope="col">State</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {apps.data?.result.map((a) => {
              const k = appKind(a);
              return (
                <tr key={a.id}>
                  <td>
                    {a.name} <code>{a.id}</code>
                  </td>
                  <td>
                    {k.type}
                    {k.method && <span class="muted"> · {k.method}</span>}
                  </td>
                  <td>
                    <code>{k.clientId}</code>
                  </td>
                  <td>
                    <Badge text={a.state === AppState.INACTIVE ? "Inactive" : "Active"} />
                  </td>
                  <td class="row-actions">
                    {k.type === "API" && !k.jwt && (
                      <ConfirmButton
                        label="Regenerate secret"
                        danger={false}
                        title={`Regenerate the secret of ${a.name}?`}
                        body={<p>The current secret stops working at once.</p>}
                        onConfirm={async () => {
                          const r = await api.mgmt.regenerateAPIClientSecret({ projectId, appId: a.id });
                          setShown({ title: "New client secret", clientId: k.clientId, clientSecret: r.clientSecret });
                        }}
                      />
                    )}
                    {k.type === "API" && (
                      <button type="button" onClick={() => setKeysOf(a)} aria-expanded={keysOf?.id === a.id}>
                        {k.jwt ? "Keys" : "Secret use"}
                        <span class="sr-only"> of {a.name}</span>
                      </button>
                    )}{" "}
                    <ConfirmButton
                      label="Remove"
                      title={`Remove application ${a.name}?`}
                      body={<p>Its client id, secret and keys stop working. This cannot be undone.</p>}
                      onConfirm={() => api.mgmt.removeApp({ projectId, appId: a.id }).then(() => (keysOf?.id === a.id && setKeysOf(undefined), apps.reload()))}
                    />
                  </td>
                </tr>
              );
            })}
            {apps.data?.result.length === 0 && (
              <tr>
                <td colSpan={5}>No applications.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Pager offset={offset} total={Number(apps.data?.details?.totalResult ?? 0n)} onOffset={setOffset} label="Application pages" />
      {keysOf && <AppCredentials api={api} projectId={projectId} app={keysOf} />}
      {shown && (
        <SecretOnce
          title={shown.title}
          fields={[
            { label: "Client id", value: shown.clientId },
            { label: "Client secret", value: shown.clientSecret },
          ]}
          onClose={() => setShown(undefined)}
        />
      )}
    </div>
  );
}

/** An API app's credentials with their last use: its secret (basic auth) or its keys (private_key_jwt). */
function AppCredentials({ api, projectId, app }: { api: Api; projectId: string; app: App }) {
  const [offset, setOffset] = useState(0);
  const jwt = appKind(app).jwt;
  const keys = useLoad(() => (jwt ? api.mgmt.listAppKeys({ projectId, appId: app.id, query: pageQuery(offset) }) : Promise.resolve(undefined)), [app.id, offset]);
  // The last use of the app's secret and keys: one ListAppCredentials call.
  const creds = useLoad(() => api.creds.listAppCredentials({ projectId, appId: app.id }), [app.id, keys.data]);
  const used = lastUsedOf(creds.data?.result);
  const secret = creds.data?.result.find((c) => c.kind === CredentialKind.APP_SECRET);
  return (
    <section class="card" aria-labelledby="app-keys-title">
      <h3 id="app-keys-title">
        {jwt ? "Keys" : "Client secret"} of {app.name}
      </h3>
      <ErrorBox error={keys.error ?? creds.error} />
      {!jwt && <p>Client secret last used: {secret ? used(secret.id) : creds.data ? "never" : "–"}</p>}
      {jwt && (
        <>
          <p>The key file holds the private key: it is downloaded once and cannot be downloaded again.</p>
          <NewKeyFile
            id="app-key-expiry"
            create={async (expirationDate) => {
              const r = await api.mgmt.addAppKey({ projectId, appId: app.id, type: KeyType.JSON, expirationDate });
              return { keyId: r.id, file: `${app.name}-${r.id}.json`, bytes: r.keyDetails };
            }}
            onAdded={keys.reload}
          />
          <CredentialTable
            rows={keys.data?.result.map((k) => ({ id: k.id, created: fmtDate(k.details?.creationDate), expires: fmtDate(k.expirationDate), lastUsed: used(k.id) })) ?? []}
            what="key"
            onRemove={(id) => api.mgmt.removeAppKey({ projectId, appId: app.id, keyId: id }).then(keys.reload)}
          />
          <Pager offset={offset} total={Number(keys.data?.details?.totalResult ?? 0n)} onOffset={setOffset} label="Key pages" />
        </>
      )}
    </section>
  );
}
